import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { retainedText } from '../helpers/mqtt-peek.js';
import { liveBytes, maxIn, mib, probeEnv } from '../helpers/probe-reader.js';
import { waitFor, sleep, type RunningProcess } from '../helpers/processes.js';
import { TopicMonitor } from '../helpers/stats-monitor.js';
import { checkSavedFrames, spawnAgent, spawnViewer, type RunningViewer, stopWithin } from '../helpers/stream-rig.js';

// Broker crash: mosquitto is killed with SIGKILL mid-stream and started again on the same port 3 s later,
// with no persistence, so everything retained must come from the agent again.

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => { for (const c of cleanup.reverse()) await c().catch(() => undefined); });

interface AgentStats { framesCaptured: number; framesSent: number; framesDropped: number; drops: { offline: number; busy: number }; connected: boolean }

test('broker kill -9 and restart: agent reconnects, republishes status/info, streaming resumes within 2 s; memory flat while down', async () => {
  let broker: RunningBroker = await startMosquitto();
  const port = broker.port;
  cleanup.push(() => broker.stop());
  const source = await makeJpegFolder(8, 1280, 720, 92);
  const viewer: RunningViewer = await spawnViewer(broker.url);
  cleanup.push(() => viewer.process.stop('SIGKILL'));
  const monitor = new TopicMonitor(broker.url, ['picam/crash/stats']);
  await monitor.start();
  cleanup.push(() => monitor.stop());
  const probe = probeEnv('agent', 250, true);
  const agent: RunningProcess = spawnAgent(broker.url, 'crash', source.dir, 30, ['--chunk-size', '65536'], probe.env);
  cleanup.push(() => agent.stop('SIGKILL'));
  await agent.waitFor(/first frame published/);
  await waitFor(async () => ((await viewer.counters('crash'))?.framesDelivered ?? 0) >= 60 || undefined, 20_000, '60 frames before the crash');
  await sleep(3000); // a window of normal streaming to compare memory with

  const beforeKill = Date.now();
  const lastStatsBefore = monitor.json<AgentStats>('picam/crash/stats').at(-1)!;
  const deliveredBefore = (await viewer.counters('crash'))!.framesDelivered;
  await broker.kill();
  const killedAt = Date.now();
  const reconnected = agent.waitFor(/reconnected to broker/, 30_000).then(() => Date.now());
  // The outage under test: by 3 s the reconnect backoff is at its ceiling (1 s), as in any longer one.
  await sleep(3000);
  assert.equal(agent.child.exitCode, null, 'the agent is still running while the broker is down');
  assert.equal(viewer.process.child.exitCode, null, 'the viewer is still running while the broker is down');

  broker = await startMosquitto({ port });
  const backAt = Date.now();
  const reconnectedAt = await reconnected;
  const resumedAt = await waitFor(async () => ((await viewer.counters('crash'))?.framesDelivered ?? 0) > deliveredBefore || undefined, 10_000, 'a frame after the restart').then(() => Date.now());
  // The new broker starts empty: status and info there can only have come from the agent again.
  assert.equal(await retainedText(broker.url, 'picam/crash/status'), 'online');
  const info = JSON.parse((await retainedText(broker.url, 'picam/crash/info'))!) as { cameraId: string; protocol: number };
  assert.equal(info.cameraId, 'crash');
  assert.equal(info.protocol, 1);

  await waitFor(async () => ((await viewer.counters('crash'))?.framesDelivered ?? 0) >= deliveredBefore + 60 || undefined, 20_000, '60 frames after the restart');
  const statsAfter = await waitFor(() => monitor.json<AgentStats>('picam/crash/stats', backAt).find((s) => s.connected), 10_000, 'agent stats after the restart');
  const api = await viewer.api();
  const camera = api.cameras.find((c) => c.cameraId === 'crash')!;
  assert.equal(camera.status, 'online');

  // Every frame captured while the broker was away was dropped and counted, none queued.
  const droppedWhileDown = statsAfter.drops.offline - lastStatsBefore.drops.offline;
  const capturedAcross = statsAfter.framesCaptured - lastStatsBefore.framesCaptured;
  const sentAcross = statsAfter.framesSent - lastStatsBefore.framesSent;
  // The camera gives 30 fps; 10 is allowed for a starved machine. The count itself is checked just below.
  assert.ok(droppedWhileDown >= 3 * 10, `about 90 frames dropped offline while down, got ${droppedWhileDown}`);
  assert.ok(statsAfter.framesCaptured - statsAfter.framesSent - statsAfter.framesDropped <= 3, 'every captured frame is sent, dropped, or one of the few in flight');
  // Memory while down against the same length of normal streaming just before (samples follow a full GC).
  const samples = probe.samples();
  const rssNormal = maxIn(samples, beforeKill - 3000, beforeKill, (s) => s.rss);
  const rssDown = maxIn(samples, killedAt, backAt, (s) => s.rss);
  const liveNormal = maxIn(samples, beforeKill - 3000, beforeKill, liveBytes);
  const liveDown = maxIn(samples, killedAt, backAt, liveBytes);
  const queuedWouldBe = droppedWhileDown * source.frames[0]!.length;
  assert.ok(liveDown - liveNormal < 4 * 1024 * 1024, `agent live memory grew ${mib(liveDown - liveNormal)} MiB while down (queueing would add ${mib(queuedWouldBe)} MiB)`);
  assert.ok(rssDown - rssNormal < 16 * 1024 * 1024, `agent RSS grew ${mib(rssDown - rssNormal)} MiB while down`);

  assert.equal(camera.counters!.framesCorrupt, 0);
  const saved = checkSavedFrames(viewer.saveDir, 'crash', source.frames);
  assert.equal(await stopWithin(agent), 0, agent.output());
  assert.equal(await stopWithin(viewer.process), 0, viewer.process.output());
  const reconnectMs = reconnectedAt - backAt;
  const resumeMs = resumedAt - backAt;
  console.log(`# broker restart: down ${backAt - killedAt} ms; agent reconnected ${reconnectMs} ms and viewer got a new frame ${resumeMs} ms after the broker was back; ` +
    `frames dropped while down ${droppedWhileDown} (captured ${capturedAcross}, sent ${sentAcross} between the stats either side); ` +
    `agent max RSS ${mib(rssNormal)} MiB streaming vs ${mib(rssDown)} MiB down, live heap+buffers ${mib(liveNormal)} vs ${mib(liveDown)} MiB (queueing would add ${mib(queuedWouldBe)} MiB); ` +
    `viewer delivered ${camera.counters!.framesDelivered}, missed ${camera.counters!.framesMissed}, incomplete ${camera.counters!.framesIncomplete}, saved ${saved.length} byte-identical`);
  assert.ok(resumeMs <= 2000, `streaming resumed ${resumeMs} ms after the broker was back (must be within 2 s)`);
});
