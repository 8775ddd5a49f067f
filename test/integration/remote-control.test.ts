import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { Agent } from '../../agent/agent.js';
import { readJpegSize } from '../../agent/processing/jpeg-size.js';
import type { Viewer } from '../../viewer/viewer.js';
import { startAgentInProcess } from '../helpers/agent-harness.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { retainedMessages } from '../helpers/mqtt-peek.js';
import { waitFor, sleep } from '../helpers/processes.js';
import { TopicMonitor } from '../helpers/stats-monitor.js';
import { startViewerInProcess } from '../helpers/viewer-harness.js';

// Remote control over a real mosquitto: a `set` request changes what the viewer sees; a bad one is refused
// with a reason and changes nothing.

let broker: RunningBroker;
const stops: Array<() => Promise<void>> = [];
before(async () => { broker = await startMosquitto(); });
after(async () => { for (const stop of stops.reverse()) await stop(); await broker.stop(); });

async function startTestAgent(argv: string[]): Promise<Agent> {
  // --source defaults to auto (a real camera); these tests use the synthetic pattern unless they name a source.
  const sourceArgs = argv.includes('--source') ? [] : ['--source', 'synthetic'];
  const agent = await startAgentInProcess(broker.url, [...sourceArgs, ...argv]);
  stops.push(() => agent.stop());
  return agent;
}

async function viewerOn(): Promise<Viewer> {
  const viewer = await startViewerInProcess(broker.url);
  stops.push(() => viewer.stop());
  return viewer;
}

/** Frames the viewer delivered for a camera in `ms`. */
async function framesIn(viewer: Viewer, key: string, ms: number): Promise<number> {
  const count = () => viewer.receiver.reassembler.counters(key)?.framesDelivered ?? 0;
  const before = count();
  await sleep(ms); // a window to count frames in: the rate is what is measured
  return count() - before;
}

test('a set request changes the frame rate the viewer receives', async () => {
  await startTestAgent(['--camera-id', 'ctl', '--fps', '4', '--width', '160', '--height', '120', '--no-adaptive']);
  const viewer = await viewerOn();
  await waitFor(() => viewer.registry.lookup('ctl')?.latest, 10_000, 'first frame');
  const slow = await framesIn(viewer, 'picam/ctl', 2000);
  const result = await viewer.control('picam/ctl', { fps: 20 });
  assert.equal(result.ok, true, result.error);
  assert.equal(result.restarted, false, 'the synthetic source changes its rate live');
  assert.equal((result.settings as { fps: number }).fps, 20);
  const fast = await framesIn(viewer, 'picam/ctl', 2000);
  console.log(`# remote control: ${slow} frames in 2 s at fps 4, ${fast} frames in 2 s after set fps 20`);
  assert.ok(slow <= 11, `about 8 frames at 4 fps, got ${slow}`);
  assert.ok(fast >= 25, `about 40 frames at 20 fps, got ${fast}`);
  await waitFor(() => (viewer.registry.lookup('ctl')?.info?.fps === 20 ? true : undefined), 5000, 'retained info shows the new fps');
});

test('quality, size and rotation change live; the frames show it', async () => {
  await startTestAgent(['--camera-id', 'ctl2', '--fps', '10', '--width', '320', '--height', '240', '--no-adaptive']);
  const viewer = await viewerOn();
  await waitFor(() => viewer.registry.lookup('ctl2')?.latest, 10_000, 'first frame');
  const result = await viewer.control('picam/ctl2', { width: 400, height: 200, rotation: 90, quality: 40 });
  assert.equal(result.ok, true, result.error);
  const meta = await waitFor(async () => {
    const m = await sharp(viewer.registry.lookup('ctl2')!.latest!.frame.data).metadata();
    return m.width === 200 && m.height === 400 ? m : undefined;
  }, 5000, 'a rotated 200x400 frame');
  assert.equal(meta.format, 'jpeg');
});

test('an invalid set request is rejected with a reason and changes nothing', async () => {
  const agent = await startTestAgent(['--camera-id', 'ctl3', '--fps', '5', '--width', '160', '--height', '120']);
  const viewer = await viewerOn();
  await waitFor(() => viewer.registry.lookup('ctl3')?.info, 10_000, 'info');
  const before = { ...agent.camera.settings };
  const bad = await viewer.control('picam/ctl3', { fps: 1000, quality: 50 });
  assert.equal(bad.ok, false);
  assert.match(bad.error!, /"fps" must be a number from 0.1 to 120/);
  const unknown = await viewer.control('picam/ctl3', { exposure: 'auto' });
  assert.match(unknown.error!, /unknown field "exposure"/);
  assert.deepEqual(agent.camera.settings, before, 'settings unchanged');
  // Garbage on the set topic is answered too, and the agent keeps streaming.
  const results = new TopicMonitor(broker.url, ['picam/ctl3/result']);
  await results.start();
  stops.push(() => results.stop());
  const { default: mqtt } = await import('mqtt');
  const client = await mqtt.connectAsync(broker.url);
  await client.publishAsync('picam/ctl3/set', Buffer.from([0xff, 0x00, 0x13]));
  await client.endAsync();
  await waitFor(() => results.texts('picam/ctl3/result').some((m) => /not valid JSON/.test(m.text)), 5000, 'the answer to the garbage');
  const sentAtAnswer = agent.stats.framesSent;
  await waitFor(() => agent.stats.framesSent > sentAtAnswer, 5000, 'frames still going out after the garbage');
});

test('a file source: size, quality and rotation change in the processing step without a restart; fps by a restart', async () => {
  const { dir } = await makeJpegFolder(3, 320, 240);
  const agent = await startTestAgent(['--camera-id', 'ctl4', '--source', `file:${dir}`, '--fps', '5']);
  const viewer = await viewerOn();
  await waitFor(() => viewer.registry.lookup('ctl4')?.latest, 10_000, 'first frame');
  const untouched = viewer.registry.lookup('ctl4')!.latest!.frame.data;
  assert.deepEqual(readJpegSize(untouched), { width: 320, height: 240 }, 'the files go out as they are until asked');
  const changed = await viewer.control('picam/ctl4', { width: 200, height: 100, rotation: 90, quality: 30 });
  assert.equal(changed.ok, true, changed.error);
  assert.equal(changed.restarted, false, 'the replay is not restarted: the processing step makes the change');
  // Rotated by 90: the 200x100 picture stands on its side.
  await waitFor(() => {
    const latest = viewer.registry.lookup('ctl4')?.latest?.frame.data;
    const size = latest && readJpegSize(latest);
    return size?.width === 100 && size.height === 200 ? true : undefined;
  }, 5000, 'frames of 100x200');
  await waitFor(() => {
    const info = viewer.registry.lookup('ctl4')?.info;
    return info?.width === 100 && JSON.stringify(info.processing) === JSON.stringify(['rotate 90', 'resize 100x200', 'quality 30']) ? true : undefined;
  }, 5000, 'info tells the new size and the processing steps');
  const fps = await viewer.control('picam/ctl4', { fps: 8 });
  assert.equal(fps.ok, true, fps.error);
  assert.equal(fps.restarted, true);
  assert.equal(agent.camera.settings.fps, 8);
});

test('a snapshot request publishes one whole retained JPEG on the snapshot topic', async () => {
  await startTestAgent(['--camera-id', 'snap', '--fps', '5', '--width', '160', '--height', '120']);
  const viewer = await viewerOn();
  await waitFor(() => viewer.registry.lookup('snap')?.latest, 10_000, 'first frame');
  const result = await viewer.control('picam/snap', { snapshot: true });
  assert.equal(result.ok, true, result.error);
  const retained = await waitFor(async () => (await retainedMessages(broker.url, 'picam/snap/snapshot'))[0], 5000, 'the snapshot retained');
  const meta = await sharp(retained.payload).metadata();
  assert.equal(meta.format, 'jpeg');
  assert.equal(meta.width, 160);
});
