import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Agent } from '../../agent/agent.js';
import type { Viewer } from '../../viewer/viewer.js';
import { buildAgentInProcess } from '../helpers/agent-harness.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { waitFor } from '../helpers/processes.js';
import { startViewerInProcess } from '../helpers/viewer-harness.js';

// Fleet scale: 16 cameras on one broker, in two sites (picam/north/..., picam/south/...), one viewer that
// subscribes with a wildcard prefix and must discover and receive all of them; a second viewer limited to
// one site sees only that site.

let broker: RunningBroker;
const agents: Agent[] = [];
const viewers: Viewer[] = [];
let frames: Buffer[];

before(async () => {
  broker = await startMosquitto();
  const folder = await makeJpegFolder(4, 320, 240);
  frames = folder.frames;
  for (let i = 0; i < 16; i++) {
    const site = i < 8 ? 'north' : 'south';
    agents.push(buildAgentInProcess(broker.url, ['--prefix', `picam/${site}`, '--camera-id', `cam${i}`, '--source', `file:${folder.dir}`, '--fps', '3']).agent);
  }
  await Promise.all(agents.map((a) => a.start()));
});
after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  for (const v of viewers) await v.stop();
  await broker.stop();
});

test('one viewer with a wildcard prefix discovers and receives all 16 cameras', async () => {
  const viewer = await startViewerInProcess(broker.url, ['--prefix', 'picam/+']);
  viewers.push(viewer);
  const receiving = () => viewer.registry.all().filter((c) => c.info && c.status === 'online' && (viewer.receiver.reassembler.counters(c.key)?.framesDelivered ?? 0) >= 3);
  await waitFor(() => (receiving().length === 16 ? true : undefined), 20_000, '16 cameras online and receiving');
  const keys = viewer.registry.all().map((c) => c.key);
  assert.equal(keys.length, 16);
  assert.ok(keys.includes('picam/north/cam0') && keys.includes('picam/south/cam15'));
  for (const camera of viewer.registry.all()) {
    assert.ok(frames.some((f) => f.equals(camera.latest!.frame.data)), `${camera.key} frame intact`);
    assert.equal(viewer.receiver.reassembler.counters(camera.key)!.framesCorrupt, 0);
  }
});

test('a viewer given one site sees only that site', async () => {
  const viewer = await startViewerInProcess(broker.url, ['--prefix', 'picam/north']);
  viewers.push(viewer);
  await waitFor(() => (viewer.registry.all().filter((c) => c.latest).length === 8 ? true : undefined), 15_000, '8 cameras of the north site');
  assert.ok(viewer.registry.all().every((c) => c.key.startsWith('picam/north/')));
});
