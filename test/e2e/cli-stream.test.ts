import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto, freePort, type RunningBroker } from '../../harness/mosquitto.js';
import { retainedText } from '../helpers/mqtt-peek.js';
import { AGENT_CLI, VIEWER_CLI, waitFor, runNode, type RunningProcess } from '../helpers/processes.js';
import { TopicMonitor } from '../helpers/stats-monitor.js';

// End to end across processes: picam-agent (file source) → real mosquitto → picam-viewer (--save-dir).
// Every saved frame must be byte-identical to the source file its sequence number names, in order.

let broker: RunningBroker;
const running: RunningProcess[] = [];

before(async () => { broker = await startMosquitto(); });
after(async () => {
  for (const p of running) await p.stop('SIGKILL');
  await broker.stop();
});

test('frames saved by the viewer are byte-identical to the agent\'s source files, in order', async () => {
  const source = await makeJpegFolder(12);
  const saveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-saved-'));
  const port = await freePort();
  const viewer = runNode(VIEWER_CLI, ['--broker', broker.url, '--listen', `127.0.0.1:${port}`, '--save-dir', saveDir]);
  running.push(viewer);
  await viewer.waitFor(/open http:\/\/127\.0\.0\.1:\d+/);
  await viewer.waitFor(/connected to broker/);
  // Small chunks so every frame travels as several chunks.
  const agent = runNode(AGENT_CLI, ['--broker', broker.url, '--camera-id', 'e2e', '--source', `file:${source.dir}`, '--fps', '20', '--chunk-size', '4096', '--stats-interval', '1']);
  running.push(agent);
  await agent.waitFor(/first frame published/);

  const cameraDir = path.join(saveDir, 'e2e');
  const target = 60;
  await waitFor(() => (fs.existsSync(cameraDir) && fs.readdirSync(cameraDir).length >= target ? true : undefined), 30_000, `${target} saved frames`);
  assert.equal(await agent.stop('SIGTERM'), 0, agent.output());
  assert.match(agent.output(), /agent stopped framesSent=(\d+) framesDropped=(\d+)/);
  const [, sentText, droppedText] = agent.output().match(/agent stopped framesSent=(\d+) framesDropped=(\d+)/)!;

  const api = (await (await fetch(`http://127.0.0.1:${port}/api/cameras`)).json()) as { cameras: Array<{ cameraId: string; status: string; counters: Record<string, number> }> };
  const camera = api.cameras.find((c) => c.cameraId === 'e2e')!;
  assert.equal(camera.status, 'offline', 'a cleanly stopped agent reads offline');
  assert.equal(await viewer.stop('SIGTERM'), 0, viewer.output());

  const saved = fs.readdirSync(cameraDir).sort();
  let previous = -1;
  for (const name of saved) {
    const seq = Number(/-(\d{10})\.jpg$/.exec(name)![1]);
    assert.ok(seq > previous, `frames saved in order (${name} after ${previous})`);
    previous = seq;
    const bytes = fs.readFileSync(path.join(cameraDir, name));
    assert.ok(bytes.equals(source.frames[seq % source.frames.length]!), `${name} is byte-identical to source frame ${seq % source.frames.length}`);
  }
  const sent = Number(sentText);
  const dropped = Number(droppedText);
  assert.ok(saved.length >= target);
  assert.equal(camera.counters.framesCorrupt, 0);
  assert.equal(camera.counters.framesIncomplete, 0);
  // On an idle loopback nothing should be lost between the agent's socket and the viewer.
  assert.equal(camera.counters.framesDelivered, sent, `viewer delivered ${camera.counters.framesDelivered} of ${sent} sent`);
  console.log(`# e2e: agent sent ${sent} frames, dropped ${dropped}; viewer received ${camera.counters.framesDelivered}, saved ${saved.length}, missed ${camera.counters.framesMissed}, incomplete ${camera.counters.framesIncomplete}, corrupt ${camera.counters.framesCorrupt}`);
});

test('retained info/status are on the broker, and a killed agent reads offline (last will)', async () => {
  const agent = runNode(AGENT_CLI, ['--broker', broker.url, '--camera-id', 'killme', '--source', 'synthetic', '--fps', '5', '--width', '160', '--height', '120']);
  running.push(agent);
  await agent.waitFor(/first frame published/);
  const monitor = new TopicMonitor(broker.url, ['picam/killme/#']);
  await monitor.start();
  // The retained info and status come first, then live chunks.
  const seen = await waitFor(() => (monitor.seen.some((m) => m.topic === 'picam/killme/frame') ? [...monitor.seen] : undefined), 5000, 'a chunk').finally(() => monitor.stop());
  const info = seen.find((m) => m.topic === 'picam/killme/info');
  assert.ok(info?.retain, 'info is retained');
  const parsed = JSON.parse(info.payload.toString()) as Record<string, unknown>;
  assert.equal(parsed.protocol, 1);
  assert.equal(parsed.codec, 'image/jpeg');
  assert.equal(parsed.width, 160);
  assert.equal(seen.find((m) => m.topic === 'picam/killme/status')?.payload.toString(), 'online');
  assert.ok(seen.some((m) => m.topic === 'picam/killme/frame' && !m.retain), 'chunks flow, not retained');

  await agent.stop('SIGKILL');
  const status = await waitFor(async () => ((await retainedText(broker.url, 'picam/killme/status')) === 'offline' ? 'offline' : undefined), 10_000, 'offline after kill -9');
  assert.equal(status, 'offline');
});

test('bad configuration: one clear line per problem naming the field, exit code 2', async () => {
  const agent = runNode(AGENT_CLI, ['--fps', 'fast', '--camera-id', 'bad id!', '--qos', '2']);
  assert.equal(await agent.exited, 2);
  const out = agent.output();
  assert.match(out, /--fps: expected a number, got "fast"/);
  assert.match(out, /--camera-id: "bad id!" is not made of letters, digits/);
  assert.match(out, /--qos: "2" is not allowed; use one of 0, 1/);
  const viewer = runNode(VIEWER_CLI, ['--listen', 'nowhere']);
  assert.equal(await viewer.exited, 2);
  assert.match(viewer.output(), /--listen: "nowhere" is not HOST:PORT/);
});
