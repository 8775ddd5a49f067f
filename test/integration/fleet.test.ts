import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Agent } from '../../agent/agent.js';
import { FileSource } from '../../agent/capture/file-source.js';
import { agentOptions } from '../../agent/config.js';
import { silentLogger } from '../../common/logger.js';
import { parseOptions } from '../../common/options.js';
import type { Viewer } from '../../viewer/viewer.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto, type RunningBroker } from '../helpers/mosquitto.js';
import { eventually } from '../helpers/processes.js';
import { startViewer } from '../helpers/viewer-harness.js';

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
    const config = parseOptions(agentOptions, { argv: ['--broker', broker.url, '--prefix', `picam/${site}`, '--camera-id', `cam${i}`, '--fps', '3'], env: {}, envPrefix: 'PICAM_TEST_' }).values;
    const agent = new Agent({ config, source: new FileSource({ pattern: folder.dir, fps: 3, loop: true }, silentLogger), logger: silentLogger, version: 'test' });
    agents.push(agent);
  }
  await Promise.all(agents.map((a) => a.start()));
});
after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  for (const v of viewers) await v.stop();
  await broker.stop();
});

test('one viewer with a wildcard prefix discovers and receives all 16 cameras', async () => {
  const viewer = await startViewer(broker.url, ['--prefix', 'picam/+']);
  viewers.push(viewer);
  const receiving = () => viewer.registry.all().filter((c) => c.info && c.status === 'online' && (viewer.receiver.reassembler.counters(c.key)?.framesDelivered ?? 0) >= 3);
  await eventually(() => (receiving().length === 16 ? true : undefined), 20_000, '16 cameras online and receiving');
  const keys = viewer.registry.all().map((c) => c.key);
  assert.equal(keys.length, 16);
  assert.ok(keys.includes('picam/north/cam0') && keys.includes('picam/south/cam15'));
  for (const camera of viewer.registry.all()) {
    assert.ok(frames.some((f) => f.equals(camera.latest!.frame.data)), `${camera.key} frame intact`);
    assert.equal(viewer.receiver.reassembler.counters(camera.key)!.framesCorrupt, 0);
  }
});

test('a viewer given one site sees only that site', async () => {
  const viewer = await startViewer(broker.url, ['--prefix', 'picam/north']);
  viewers.push(viewer);
  await eventually(() => (viewer.registry.all().filter((c) => c.latest).length === 8 ? true : undefined), 15_000, '8 cameras of the north site');
  assert.ok(viewer.registry.all().every((c) => c.key.startsWith('picam/north/')));
});
