import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { after, before, test } from 'node:test';
import { chunkFrame } from '../../protocol/chunker.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { publishOutcome, retainedText } from '../helpers/mqtt-peek.js';
import { waitFor, sleep, type RunningProcess } from '../helpers/processes.js';
import { startSecureBroker, type Account, type SecureBroker } from '../helpers/secure-broker.js';
import { TopicMonitor } from '../helpers/stats-monitor.js';
import { checkSavedFrames, refusedAgain, spawnAgent, spawnViewer, type RunningViewer, stopWithin } from '../helpers/stream-rig.js';

// A real mosquitto configured with docs/examples/mosquitto/{mosquitto.conf,acl}: no anonymous clients,
// a password file, and an ACL where each camera writes only its own topics and viewers only read.

let sb: SecureBroker;
let monitor: TopicMonitor;
let viewer: RunningViewer;
let porch: RunningProcess;
let source: { dir: string; frames: Buffer[] };
const cleanup: Array<() => Promise<unknown>> = [];

const login = (account: Account): { username: string; password: string } => ({ username: account, password: sb.passwords[account] });

before(async () => {
  sb = await startSecureBroker();
  monitor = new TopicMonitor(sb.url, ['#'], login('monitor'));
  await monitor.start();
  source = await makeJpegFolder(6, 320, 240);
  const passwordFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'picam-pw-')), 'viewer.password');
  fs.writeFileSync(passwordFile, sb.passwords.viewer + '\n', { mode: 0o600 });
  viewer = await spawnViewer(sb.url, ['--username', 'viewer', '--password-file', passwordFile]);
  porch = spawnAgent(sb.url, 'porch', source.dir, 10, ['--username', 'porch', '--chunk-size', '4096'], { PICAM_PASSWORD: sb.passwords.porch });
  await porch.waitFor(/first frame published/);
  await waitFor(async () => ((await viewer.counters('porch'))?.framesDelivered ?? 0) >= 5 || undefined, 15_000, 'porch frames at the viewer');
});
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  await porch?.stop('SIGKILL');
  await viewer?.process.stop('SIGKILL');
  await monitor?.stop();
  await sb?.stop();
});

async function connect(account: Account | undefined, version: 4 | 5, extra: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(sb.url, { protocolVersion: version, reconnectPeriod: 0, connectTimeout: 5000, ...(account ? login(account) : {}), ...extra });
  cleanup.push(() => client.endAsync(true));
  return client;
}

/** Publishes a marker the account may write and waits until the monitor has it: whatever was sent before it has had its chance to arrive. */
async function barrier(): Promise<void> {
  const marker = `marker-${Math.random()}`;
  const client = await connect('garden', 5);
  const sentAt = Date.now();
  await client.publishAsync('picam/garden/stats', marker, { qos: 1 });
  await waitFor(() => monitor.texts('picam/garden/stats', sentAt).find((m) => m.text === marker), 5000, 'the marker');
  // Other connections' QoS 0 messages and a will are not ordered with the marker: a short window for them (absence).
  await sleep(300);
  await client.endAsync();
}

const chunk = (streamId: number): Buffer => chunkFrame({ streamId, seq: 1, capturedAtUs: Date.now() * 1000, data: source.frames[0]! }, 100_000)[0]!;

test('anonymous clients and wrong passwords are refused (MQTT 3.1.1 and 5); the agent says why', async () => {
  const refusals: string[] = [];
  for (const version of [4, 5] as const) {
    for (const [name, options] of [['anonymous', {}], ['wrong password', { username: 'garden', password: 'not-the-password' }], ['unknown user', { username: 'mallory', password: 'x' }]] as const) {
      const error = await mqtt.connectAsync(sb.url, { protocolVersion: version, reconnectPeriod: 0, ...options }).then(
        (c) => { void c.endAsync(true); return undefined; },
        (e: Error & { code?: number }) => e,
      );
      assert.ok(error, `${name} over MQTT ${version === 5 ? '5' : '3.1.1'} must be refused`);
      assert.match(error.message, /Connection refused: Not authorized/);
      refusals.push(`${name}/v${version}: ${error.message} (code ${error.code})`);
    }
  }
  const agent = spawnAgent(sb.url, 'garden', source.dir, 5, ['--log-level', 'debug']);
  cleanup.push(() => agent.stop('SIGKILL'));
  const line = await agent.waitFor(/warn +agent\/mqtt: broker connection problem .*error="Connection refused: Not authorized" hint="the broker refused the login[^"]*"/);
  await refusedAgain(agent, line[0]);
  assert.equal(await stopWithin(agent), 0);
  console.log(`# refused: ${refusals.join('; ')}`);
  console.log(`# agent without an account: ${line[0]}`);
});

test('a viewer account cannot publish chunks, status, info or control messages (MQTT 5 and 3.1.1)', async () => {
  const since = Date.now();
  const v5 = await connect('viewer', 5);
  const refused: string[] = [];
  for (const [topic, payload, retain] of [
    ['picam/garden/frame', chunk(0xbad), false],
    ['picam/porch/frame', chunk(0xbad), false],
    ['picam/porch/status', Buffer.from('offline'), true],
    ['picam/porch/info', Buffer.from('{"protocol":1}'), true],
    ['picam/porch/set', Buffer.from('{"id":"v1","fps":1}'), false],
  ] as const) {
    const outcome = await publishOutcome(v5, topic, payload, retain);
    assert.notEqual(outcome, 'ok', `the broker refuses ${topic} from the viewer account`);
    assert.equal(outcome, 135, `${topic}: reason code 135 Not authorized`);
    refused.push(topic);
    await v5.publishAsync(topic, payload, { qos: 0, retain }); // QoS 0: no answer, silently dropped
  }
  const v4 = await connect('viewer', 4);
  for (const topic of ['picam/garden/frame', 'picam/porch/frame', 'picam/porch/status', 'picam/porch/set']) {
    const payload = topic.endsWith('frame') ? chunk(0xbad) : topic.endsWith('set') ? Buffer.from('{"id":"v2","fps":1}') : Buffer.from('offline');
    await v4.publishAsync(topic, payload, { qos: 1, retain: topic.endsWith('status') });
  }
  await barrier();
  const leaked = monitor.seen.filter((m) => m.at >= since && (m.topic === 'picam/garden/frame' || m.topic === 'picam/porch/set' || m.topic === 'picam/porch/result' ||
    (m.topic === 'picam/porch/status' && m.payload.toString() === 'offline') || m.payload.toString() === '{"protocol":1}'));
  assert.deepEqual(leaked.map((m) => m.topic), [], 'nothing the viewer account sent reached any subscriber');
  const bad = monitor.seen.filter((m) => m.at >= since && m.topic === 'picam/porch/frame' && m.payload.readUInt32BE(4) === 0xbad);
  assert.equal(bad.length, 0, 'no chunk with the viewer\'s stream id reached any subscriber');
  assert.equal(await retainedText(sb.url, 'picam/porch/status').catch(() => 'n/a'), 'n/a', 'anonymous peek refused too');
  const status = monitor.texts('picam/porch/status').filter((m) => m.retain || m.at >= since).map((m) => m.text);
  assert.ok(!status.includes('offline'), 'the porch camera never read offline');
  assert.doesNotMatch(porch.output(), /control request/, 'the porch camera never saw a control request');
  console.log(`# viewer account: QoS 1 refused with reason 135 on ${refused.join(', ')}; QoS 0 and MQTT 3.1.1 copies silently dropped; the monitor (reads #) received none; the camera got no control request`);
});

test('one camera\'s account cannot write another camera\'s topics, set its retained state or its last will, or read it', async () => {
  const since = Date.now();
  const garden = await connect('garden', 5);
  const codes: string[] = [];
  for (const [topic, payload, retain] of [
    ['picam/porch/frame', chunk(0xbad), false],
    ['picam/porch/status', Buffer.from('offline'), true],
    ['picam/porch/info', Buffer.from('{"protocol":1,"cameraId":"porch"}'), true],
    ['picam/porch/stats', Buffer.from('{}'), false],
    ['picam/porch/set', Buffer.from('{"id":"g1","fps":1}'), false],
    ['picam/porch/result', Buffer.from('{"id":"g1","ok":true}'), false],
    ['picam/porch/snapshot', source.frames[0]!, true],
  ] as const) {
    const outcome = await publishOutcome(garden, topic, payload, retain);
    assert.equal(outcome, 135, `${topic} refused to the garden account`);
    codes.push(`${topic} ${outcome}`);
  }
  // A last will aimed at the other camera: the broker accepts the connection but must never publish it.
  const willer = await connect('garden', 4, { will: { topic: 'picam/porch/status', payload: Buffer.from('offline'), qos: 1, retain: true } });
  willer.stream.destroy();
  // Reading another camera's frames: granted or not, nothing may be delivered.
  const reader = await connect('garden', 5);
  let read = 0;
  reader.on('message', () => read++);
  await reader.subscribeAsync('picam/porch/#').catch(() => undefined);
  await sleep(1000); // absence: porch streams at 10 fps meanwhile, so some ten of its messages would have come
  await barrier();
  assert.equal(read, 0, 'the garden account received none of porch\'s messages');
  const foreign = monitor.seen.filter((m) => m.at >= since && (
    (m.topic === 'picam/porch/status' && m.payload.toString() === 'offline') ||
    (m.topic === 'picam/porch/info' && m.payload.toString().startsWith('{"protocol":1,"cameraId":"porch"}')) ||
    (m.topic === 'picam/porch/stats' && m.payload.toString() === '{}') ||
    m.topic === 'picam/porch/set' || m.topic === 'picam/porch/result' || m.topic === 'picam/porch/snapshot' ||
    (m.topic === 'picam/porch/frame' && m.payload.readUInt32BE(4) === 0xbad)));
  assert.deepEqual(foreign.map((m) => m.topic), [], 'nothing garden sent on porch\'s topics reached a subscriber');
  assert.equal((await monitorRetained('picam/porch/status')), 'online', 'porch still reads online');
  const counters = (await viewer.counters('porch'))!;
  assert.equal(counters.streamRestarts, 0, 'no foreign chunk reached the viewer\'s porch stream');
  assert.equal(counters.framesCorrupt, 0);
  console.log(`# garden account on porch topics: ${codes.join(', ')} (135 = not authorized); will on porch/status never published; subscription to picam/porch/# delivered ${read} messages`);
});

test('an operator account may send control requests, which the camera reads and answers (the one write a viewer-side account has)', async () => {
  const since = Date.now();
  const operator = await connect('operator', 5);
  const answers: string[] = [];
  operator.on('message', (_t, p) => answers.push(p.toString()));
  await operator.subscribeAsync('picam/porch/result', { qos: 1 });
  await operator.publishAsync('picam/porch/set', '{"id":"op1","fps":8}', { qos: 1 });
  const answer = await waitFor(() => answers.find((a) => a.includes('"op1"')), 5000, 'the answer to op1');
  assert.equal((JSON.parse(answer) as { ok: boolean }).ok, true, answer);
  assert.equal(await publishOutcome(operator, 'picam/porch/frame', chunk(0xbad)), 135, 'an operator still cannot write frames');
  assert.ok(monitor.texts('picam/porch/result', since).some((m) => m.text.includes('"op1"')));
  console.log(`# operator account: set accepted and answered on result: ${answer}; frame refused (135)`);
});

const monitorRetained = (topic: string): Promise<string | undefined> => retainedText(sb.url, topic, login('monitor'));

test('picam-agent and picam-viewer stream with their own accounts; an agent writing a camera id its account does not own is told so', async () => {
  const garden = spawnAgent(sb.url, 'garden', source.dir, 10, ['--username', 'garden', '--chunk-size', '4096'], { PICAM_PASSWORD: sb.passwords.garden });
  cleanup.push(() => garden.stop('SIGKILL'));
  await waitFor(async () => ((await viewer.counters('garden'))?.framesDelivered ?? 0) >= 10 || undefined, 15_000, 'garden frames at the viewer');
  assert.equal(await monitorRetained('picam/garden/status'), 'online');
  // Garden's account, porch2's topics: frames silently dropped, retained status/info refused and logged.
  const stray = spawnAgent(sb.url, 'porch2', source.dir, 10, ['--username', 'garden'], { PICAM_PASSWORD: sb.passwords.garden });
  cleanup.push(() => stray.stop('SIGKILL'));
  const warning = await stray.waitFor(/warn +agent: the broker refused a message: check that the ACL lets this account write its camera's topics topic=picam\/porch2\/(status|info)/);
  await sleep(1000); // absence: porch2 sends at 10 fps, so some ten frames would have reached the viewer
  assert.equal((await viewer.api()).cameras.find((c) => c.cameraId === 'porch2'), undefined, 'nothing of porch2 reached the viewer');
  assert.equal(await stopWithin(stray), 0);
  // The last will works under the ACL: a killed agent reads offline.
  await garden.stop('SIGKILL');
  await waitFor(async () => ((await monitorRetained('picam/garden/status')) === 'offline' ? true : undefined), 5000, 'garden offline by its will');
  const saved = checkSavedFrames(viewer.saveDir, 'garden', source.frames);
  assert.ok(saved.length >= 10);
  console.log(`# accounts: garden streamed ${saved.length} byte-identical frames to the viewer account; will published on kill; stray agent logged: ${warning[0]}`);
});
