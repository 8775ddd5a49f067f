import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { after, test } from 'node:test';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto } from '../../harness/mosquitto.js';
import { retainedMessages, retainedText } from '../helpers/mqtt-peek.js';
import { waitFor, type RunningProcess } from '../helpers/processes.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { TopicMonitor } from '../helpers/stats-monitor.js';
import { spawnAgent, stopWithin } from '../helpers/stream-rig.js';

// What a hostile or careless writer of a camera's `set` topic can do to the agent. A retained request
// (`mosquitto_pub -r` by mistake, or on purpose) stays on the broker and reached every agent start and
// every reconnect: a retained {"fps":1,"width":16,"height":16,"quality":1} took over a freshly started camera.

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => { for (const c of cleanup.reverse()) await c().catch(() => undefined); });

const TAKEOVER = '{"fps":1,"width":16,"height":16,"quality":1}';

interface Info { fps: number; width: number; height: number; quality: number; streamId: number }

async function publisher(url: string, options: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, ...options });
  cleanup.push(() => client.endAsync(true));
  return client;
}

/** The agent's info of this run (its streamId), once it has published one. */
async function infoOf(monitor: TopicMonitor, topic: string, agent: RunningProcess): Promise<Info> {
  const streamId = parseInt((await agent.waitFor(/streamId=([0-9a-f]+)/))[1]!, 16);
  return waitFor(() => monitor.json<Info>(topic).filter((i) => i.streamId === streamId).at(-1), 10_000, `info from ${topic}`);
}

test('a retained set request is never applied: the agent starts with its own settings, answers nothing, clears the request and still obeys live ones', async () => {
  const broker = await startMosquitto();
  cleanup.push(() => broker.stop());
  const source = await makeJpegFolder(4, 320, 240);
  const operator = await publisher(broker.url);
  await operator.publishAsync('picam/cam/set', TAKEOVER, { qos: 1, retain: true });
  const monitor = new TopicMonitor(broker.url, ['picam/cam/info', 'picam/cam/result', 'picam/cam/set']);
  await monitor.start();
  cleanup.push(() => monitor.stop());

  const agent = spawnAgent(broker.url, 'cam', source.dir, 10, ['--width', '320', '--height', '240']);
  cleanup.push(() => agent.stop('SIGKILL'));
  await agent.waitFor(/first frame published/);
  // A live request: it comes after the retained one, and requests are handled in order, so had the
  // retained one been applied, its answer and its info would have come first.
  await operator.publishAsync('picam/cam/set', '{"id":"live","fps":5}', { qos: 1 });
  const answers = await waitFor(() => { const r = monitor.texts('picam/cam/result'); return r.length > 0 ? r : undefined; }, 10_000, 'the first answer');
  assert.deepEqual(answers.map((a) => (JSON.parse(a.text) as { id?: string }).id), ['live'], 'only the live request was answered');
  const infos = await waitFor(() => { const all = monitor.json<Info>('picam/cam/info'); return all.some((i) => i.fps === 5) ? all : undefined; }, 10_000, 'info after the live request');
  for (const info of infos) {
    assert.deepEqual([info.width, info.height, info.quality], [320, 240, 80], 'the size and quality never came from the retained request');
    assert.ok(info.fps === 10 || info.fps === 5, `fps ${info.fps}: the configured 10 or the live request's 5, never the retained 1`);
  }
  // This broker lets the camera clear the topic.
  await agent.waitFor(/ignored a retained control request and asked the broker to clear it topic=picam\/cam\/set/);
  await waitFor(async () => ((await retainedText(broker.url, 'picam/cam/set')) === undefined ? true : undefined), 5000, 'the retained request cleared');
  assert.equal(await stopWithin(agent), 0, agent.output());
  console.log(`# retained set: ignored (${infos.length} info documents, none with its settings), cleared, no answer; the live request was answered ${answers[0]!.text}`);
});

test('with the documented ACL a camera cannot clear a retained request: it ignores it and says how to clear it', async () => {
  const sb = await startSecureBroker();
  cleanup.push(() => sb.stop());
  const source = await makeJpegFolder(4, 320, 240);
  const operator = await publisher(sb.url, { username: 'operator', password: sb.passwords.operator });
  await operator.publishAsync('picam/garden/set', TAKEOVER, { qos: 1, retain: true });
  const monitor = new TopicMonitor(sb.url, ['picam/garden/info', 'picam/garden/result'], { username: 'monitor', password: sb.passwords.monitor });
  await monitor.start();
  cleanup.push(() => monitor.stop());

  const agent = spawnAgent(sb.url, 'garden', source.dir, 10, ['--username', 'garden'], { PICAM_PASSWORD: sb.passwords.garden });
  cleanup.push(() => agent.stop('SIGKILL'));
  await agent.waitFor(/first frame published/);
  await operator.publishAsync('picam/garden/set', '{"id":"barrier","snapshot":true}', { qos: 1 });
  const answers = await waitFor(() => { const r = monitor.texts('picam/garden/result'); return r.length > 0 ? r : undefined; }, 10_000, 'the first answer');
  assert.deepEqual(answers.map((a) => (JSON.parse(a.text) as { id?: string }).id), ['barrier'], 'no answer to the retained request');
  const info = await infoOf(monitor, 'picam/garden/info', agent);
  assert.deepEqual([info.fps, info.quality], [10, 80], 'the agent runs with its own settings');
  assert.ok(monitor.json<Info>('picam/garden/info').every((i) => i.fps === 10 && i.width !== 16), 'no info ever had the retained settings');
  await agent.waitFor(/ignored a retained control request; the broker did not let this account clear it topic=picam\/garden\/set .*mosquitto_pub -t picam\/garden\/set -r -n/);
  const stillThere = await retainedMessages(sb.url, 'picam/garden/set', { username: 'monitor', password: sb.passwords.monitor });
  assert.equal(stillThere.at(-1)?.payload.toString(), TAKEOVER, 'the request is still retained: only an account that may write set can clear it');
  assert.equal(await stopWithin(agent), 0, agent.output());
});

test('an empty message on set (how a retained request is cleared) is no request: no answer, no change', async () => {
  const broker = await startMosquitto();
  cleanup.push(() => broker.stop());
  const source = await makeJpegFolder(4, 320, 240);
  const monitor = new TopicMonitor(broker.url, ['picam/quiet/result']);
  await monitor.start();
  cleanup.push(() => monitor.stop());
  const agent = spawnAgent(broker.url, 'quiet', source.dir, 10);
  cleanup.push(() => agent.stop('SIGKILL'));
  await agent.waitFor(/first frame published/);
  const operator = await publisher(broker.url);
  await operator.publishAsync('picam/quiet/set', '', { qos: 1 });
  await operator.publishAsync('picam/quiet/set', '{"id":"after","snapshot":true}', { qos: 1 });
  const answers = await waitFor(() => { const r = monitor.texts('picam/quiet/result'); return r.length > 0 ? r : undefined; }, 10_000, 'an answer');
  assert.deepEqual(answers.map((a) => (JSON.parse(a.text) as { id?: string }).id), ['after'], 'the empty message got no answer; the request after it did');
  assert.equal(await stopWithin(agent), 0, agent.output());
});
