import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { after, before, test } from 'node:test';
import { chunkFrame } from '../../protocol/chunker.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { rssOf } from '../helpers/probe-reader.js';
import { waitFor } from '../helpers/processes.js';
import { spawnAgent, spawnViewer, stopWithin, type RunningViewer } from '../helpers/stream-rig.js';

// A camera account that sends what the ACL lets it send, but not what a camera would (issue 16, items 3-5):
// an answer to a control request nested 200,000 levels deep, a retained info of 20 MB, and retained junk on
// 70 new camera ids. Against real picam-viewer processes and real agents over a real mosquitto: the viewer
// stays up, keeps its memory, and the real cameras get in and stream.

let broker: RunningBroker;
let frames: { dir: string; frames: Buffer[] };
const running: Array<{ stop(signal?: NodeJS.Signals): Promise<unknown> }> = [];
const clients: MqttClient[] = [];

before(async () => {
  broker = await startMosquitto();
  frames = await makeJpegFolder(4, 160, 120);
});
after(async () => {
  for (const c of clients) await c.endAsync(true).catch(() => undefined);
  for (const p of running) await p.stop('SIGKILL');
  await broker.stop();
  fs.rmSync(frames.dir, { recursive: true, force: true });
});

async function client(): Promise<MqttClient> {
  const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
  clients.push(c);
  return c;
}

async function viewer(args: string[] = []): Promise<RunningViewer> {
  const v = await spawnViewer(broker.url, args);
  running.push(v.process);
  return v;
}

const info = (id: string, extra: Record<string, unknown> = {}): string => JSON.stringify({
  protocol: 1, cameraId: id, codec: 'image/jpeg', width: 160, height: 120, fps: 5, chunkSize: 4096, streamId: 1,
  source: 'file', agentVersion: '0.1.0', startedAt: new Date().toISOString(), control: true, adjustable: ['fps'], ...extra,
});

/** JSON nested `depth` levels: {"a":{"a":…1…}}. */
const nested = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

test('a camera answering a control request with settings nested 200,000 levels deep does not stop the viewer (item 3)', async () => {
  const v = await viewer();
  const camera = await client();
  await camera.publishAsync('picam/deep/status', 'online', { qos: 1, retain: true });
  await camera.publishAsync('picam/deep/info', info('deep'), { qos: 1, retain: true });
  let depth = 200_000;
  camera.on('message', (_topic, payload) => {
    const { id } = JSON.parse(payload.toString()) as { id: string };
    void camera.publishAsync('picam/deep/result', `{"id":${JSON.stringify(id)},"ok":true,"settings":{"fps":1,"deep":${nested(depth)}}}`, { qos: 1 });
  });
  await camera.subscribeAsync('picam/deep/set', { qos: 1 });
  await waitFor(async () => ((await v.api()).cameras.some((c) => c.cameraId === 'deep') ? true : undefined), 10_000, 'the camera is known');
  const apply = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${v.url}/api/cameras/deep/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"fps":1}' });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  // 400 KB: over the 16 KiB a result may have, refused unread; the request goes unanswered and says so.
  const huge = await apply();
  assert.equal(huge.status, 200);
  assert.equal(huge.body.ok, false);
  assert.match(String(huge.body.error), /no answer from the camera/);
  assert.equal(v.process.child.exitCode, null, 'the viewer is still running');
  assert.ok(((await v.api()).viewer.malformed.result ?? 0) >= 1, 'the oversized result is counted');
  // 2,000 levels fit in 16 KiB: the answer is taken, with only its flat settings.
  depth = 2000;
  const deep = await apply();
  assert.deepEqual(deep, { status: 200, body: { id: deep.body.id, ok: true, settings: { fps: 1 } } });
  assert.equal(v.process.child.exitCode, null);
  assert.equal(await stopWithin(v.process), 0);
});

test('a retained info of 20 MB: refused (MQTT 3.1.1) or kept away by the broker (MQTT 5); memory and the page stay small (item 4)', async () => {
  const camera = await client();
  const bloat = info('bloat', { processing: Array.from({ length: 1_000_000 }, (_, i) => `step ${i} ${'x'.repeat(6)}`) });
  assert.ok(bloat.length > 20_000_000);
  await camera.publishAsync('picam/bloat/info', bloat, { qos: 1, retain: true });
  const agent = spawnAgent(broker.url, 'beside', frames.dir, 5);
  running.push(agent);
  for (const version of ['4', '5']) {
    const v = await viewer(['--mqtt-version', version]);
    await waitFor(async () => (((await v.counters('beside'))?.framesDelivered ?? 0) >= 5 ? true : undefined), 20_000, 'the other camera streams');
    const response = await fetch(`${v.url}/api/cameras`);
    const text = await response.text();
    const api = JSON.parse(text) as { cameras: Array<{ cameraId: string; processing?: string[] }>; viewer: { malformed: Record<string, number> } };
    assert.ok(text.length < 16 * 1024, `the page's summary stays small: ${text.length} bytes`);
    assert.equal(api.cameras.find((c) => c.cameraId === 'bloat'), undefined, 'the bloated info made no camera');
    if (version === '4') assert.equal(api.viewer.malformed.info, 1, 'over MQTT 3.1.1 it arrives, and is refused unparsed');
    else assert.equal(api.viewer.malformed.info, 0, 'over MQTT 5 the broker never sends it: the viewer told it its largest packet');
    const resident = rssOf(v.process.child.pid!);
    console.log(`# retained 20 MB info, MQTT ${version}: viewer RSS ${(resident / 1048576).toFixed(0)} MiB`);
    assert.ok(resident < 200 * 1024 * 1024, `viewer RSS ${resident}`);
    assert.equal(await stopWithin(v.process), 0);
  }
  await camera.publishAsync('picam/bloat/info', '', { qos: 1, retain: true });
  await agent.stop();
});

test('70 junk retained statuses and junk on new ids do not lock real cameras out, even across a restart (item 5)', async () => {
  const junk = await client();
  for (let i = 0; i < 70; i++) {
    const id = `gone${String(i).padStart(2, '0')}`;
    await junk.publishAsync(`picam/${id}/status`, 'offline', { qos: 1, retain: true });
    await junk.publishAsync(`picam/bad${i}/info`, '{"protocol":1,"cameraId":', { qos: 1, retain: true });
    await junk.publishAsync(`picam/bad${i}/status`, 'maybe', { qos: 1, retain: true });
  }
  // A viewer (re)started now meets the junk first, in its retained messages.
  const v = await viewer();
  await waitFor(async () => ((await v.api()).cameras.length >= 64 ? true : undefined), 10_000, 'the retained offline cameras');
  for (let i = 0; i < 70; i++) {
    await junk.publishAsync(`picam/noise${i}/frame`, Buffer.from('not a chunk'));
    await junk.publishAsync(`picam/noise${i}/result`, '{"ok":true,"id":"x"}');
    await junk.publishAsync(`picam/noise${i}/stats`, '{"fps":"fast"}');
  }
  const real = ['garden', 'porch', 'door'];
  const agents = real.map((id) => spawnAgent(broker.url, id, frames.dir, 5));
  running.push(...agents);
  await waitFor(async () => {
    const api = await v.api();
    return real.every((id) => (api.cameras.find((c) => c.cameraId === id)?.counters?.framesDelivered ?? 0) >= 3) ? api : undefined;
  }, 30_000, 'every real camera streams');
  const api = await v.api();
  assert.equal(api.cameras.length, 64);
  assert.ok(!api.cameras.some((c) => /^(bad|noise)/.test(c.cameraId)), 'no junk id took a place');
  assert.ok((api.viewer.malformed.tooManyCameras ?? 0) >= 6, 'the retained statuses beyond 64 were counted');
  assert.match(v.process.output(), /camera limit reached/);
  for (const agent of agents) await agent.stop();
  for (let i = 0; i < 70; i++) {
    await junk.publishAsync(`picam/gone${String(i).padStart(2, '0')}/status`, '', { qos: 1, retain: true });
    await junk.publishAsync(`picam/bad${i}/info`, '', { qos: 1, retain: true });
    await junk.publishAsync(`picam/bad${i}/status`, '', { qos: 1, retain: true });
  }
  assert.equal(await stopWithin(v.process), 0);
});

test('a frame with a right CRC that is not a JPEG is counted, never kept, saved, recorded nor served as image/jpeg (item 12)', async () => {
  const recordDir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-hostile-rec-'));
  const v = await viewer(['--record', recordDir]);
  const camera = await client();
  await camera.publishAsync('picam/fake/status', 'online', { qos: 1, retain: true });
  const page = Buffer.from('<html><script>alert(document.domain)</script></html>'.repeat(50));
  for (const [seq, data] of [page, Buffer.from('GIF89a;'), frames.frames[0]!].entries()) {
    for (const chunk of chunkFrame({ streamId: 9, seq, capturedAtUs: Date.now() * 1000, data }, 1000)) await camera.publishAsync('picam/fake/frame', chunk, { qos: 1 });
  }
  const api = await waitFor(async () => {
    const a = await v.api();
    return a.cameras.find((c) => c.cameraId === 'fake')?.lastSeq === 2 ? a : undefined;
  }, 10_000, 'the real JPEG after the two fakes');
  assert.equal(api.viewer.malformed.notJpeg, 2);
  const latest = await fetch(`${v.url}/api/cameras/fake/latest.jpg`);
  assert.deepEqual(Buffer.from(await latest.arrayBuffer()), frames.frames[0], 'latest.jpg serves the JPEG, not a fake');
  assert.deepEqual(fs.readdirSync(path.join(v.saveDir, 'fake')).length, 1, 'only the JPEG was saved');
  assert.equal(await stopWithin(v.process), 0);
  const recorded = fs.readdirSync(recordDir).filter((f) => f.endsWith('.mjpeg'));
  assert.equal(recorded.length, 1);
  assert.deepEqual(fs.readFileSync(path.join(recordDir, recorded[0]!)), frames.frames[0], 'only the JPEG was recorded');
  fs.rmSync(recordDir, { recursive: true, force: true });
});
