import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Agent } from '../../agent/agent.js';
import type { Viewer } from '../../viewer/viewer.js';
import { buildAgentInProcess } from '../helpers/agent-harness.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { waitFor, sleep } from '../helpers/processes.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { startViewerInProcess } from '../helpers/viewer-harness.js';

// A throttled uplink (a proxy between agent and broker that limits bytes/s with TCP back-pressure): the
// agent steps quality, then frame rate, down; the viewer keeps receiving intact, smaller frames; when the
// limit is lifted the agent climbs back to the configured quality and rate.

let broker: RunningBroker;
let proxy: TcpProxy;
let agent: Agent;
let viewer: Viewer;

before(async () => {
  broker = await startMosquitto();
  proxy = await startTcpProxy(broker.port);
  ({ agent } = buildAgentInProcess(proxy.url, ['--camera-id', 'wifi', '--source', 'synthetic', '--fps', '15', '--quality', '90', '--width', '640', '--height', '480', '--adapt-interval', '0.5', '--min-quality', '30', '--min-fps', '2']));
  viewer = await startViewerInProcess(broker.url);
  await agent.start();
});
after(async () => { await agent.stop(); await viewer.stop(); await proxy.stop(); await broker.stop(); });

test('adapts down under a slow link, keeps frames intact, and recovers when the link does', async () => {
  const camera = () => viewer.registry.lookup('wifi');
  await waitFor(() => camera()?.latest, 10_000, 'first frame');
  await sleep(1500); // absence: three adaptation intervals (0.5 s) on a free link, and no step down
  const fullSize = camera()!.latest!.frame.data.length;
  assert.equal(agent.adaptive!.level, 0, 'no steps on a free link');

  proxy.setRate(40_000); // 40 kB/s: far below 15 fps of ~30 kB frames
  const down = await waitFor(() => (agent.adaptive!.level >= 3 ? agent.adaptive!.current : undefined), 20_000, 'adaptive steps down');
  const deliveredBefore = viewer.receiver.reassembler.counters(camera()!.key)!.framesDelivered;
  // The smallest frame seen while throttled: adaptive quality probes upwards now and then, so the latest
  // frame alone may be one of a probe.
  let throttledSize = Infinity;
  const watch = setInterval(() => { throttledSize = Math.min(throttledSize, camera()!.latest!.frame.data.length); }, 50);
  const watchedAt = Date.now();
  const delivered = (): number => viewer.receiver.reassembler.counters(camera()!.key)!.framesDelivered;
  // Until smaller frames keep arriving: the assertions below say what is missing if they do not within 10 s.
  await waitFor(() => delivered() - deliveredBefore >= 2 && throttledSize < fullSize * 0.8, 10_000, 'smaller frames under the limit').catch(() => undefined);
  clearInterval(watch);
  const counters = viewer.receiver.reassembler.counters(camera()!.key)!;
  console.log(`# adaptive: free link ${fullSize} B/frame q90 15 fps; at 40 kB/s level ${agent.adaptive!.level} (q${agent.camera.settings.quality}, ${agent.info().fps} fps sent of the camera's ${agent.camera.settings.fps}), smallest frame ${throttledSize} B, ${counters.framesDelivered - deliveredBefore} frames in ${Date.now() - watchedAt} ms`);
  assert.ok(down.quality < 90);
  assert.ok(counters.framesDelivered - deliveredBefore >= 2, 'frames keep arriving under the limit');
  assert.ok(throttledSize < fullSize * 0.8, `frames got smaller: ${throttledSize} vs ${fullSize}`);
  assert.equal(counters.framesCorrupt, 0, 'only intact frames');
  // Past the quality steps the rate drops by skipping frames: the camera runs on at 15 fps, never restarted.
  await waitFor(() => (agent.adaptive!.level >= 5 ? true : undefined), 20_000, 'adaptive steps into the frame rate');
  assert.ok(agent.info().fps < 15, `info says ${agent.info().fps} fps`);
  assert.equal(agent.camera.settings.fps, 15);
  assert.equal(agent.camera.restarts, 0);

  proxy.setRate(undefined);
  await waitFor(() => (agent.adaptive!.level === 0 ? true : undefined), 40_000, 'adaptive back to level 0');
  assert.equal(agent.camera.settings.quality, 90);
  assert.equal(agent.camera.settings.fps, 15);
  assert.equal(agent.info().fps, 15);
  const stats = agent.stats.takeWindow();
  assert.ok(stats.framesDropped > 0, 'the slow link showed up as dropped frames');
});
