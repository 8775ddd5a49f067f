import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { nowUs, type FrameSink, type FrameSource } from '../../agent/capture/frame-source.js';
import type { LifecycleReporter } from '../../agent/lifecycle.js';
import { createLogger } from '../../common/logger.js';
import { buildAgentInProcess } from '../helpers/agent-harness.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { waitFor, sleep } from '../helpers/processes.js';
import { TopicMonitor } from '../helpers/stats-monitor.js';
import { startNotifySocket } from '../helpers/notify-socket.js';
import { spawnAgent, stopWithin } from '../helpers/stream-rig.js';

// A camera that stops delivering frames (hung or dead capture program, a source that ran out): after
// stallTimeout the agent says so in a log line, in its stats ("stalled": true) and in its systemd status,
// and, since it sends no frames, no longer proves its life to the systemd watchdog.

interface Stats { stalled: boolean; lastFrameAgeS: number; stalls: number; framesCaptured: number; at: number }

let broker: RunningBroker;
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => { for (const c of cleanup.reverse()) await c().catch(() => undefined); await broker?.stop(); });

/** Real JPEG frames at a steady rate until hang(), again after resume(): a camera that freezes and recovers. */
class FreezingSource implements FrameSource {
  readonly kind = 'freezing';
  readonly width = 320;
  readonly height = 240;
  private timer: NodeJS.Timeout | undefined;
  private hung = false;
  private n = 0;
  constructor(private readonly frames: Buffer[], private readonly fps: number) {}
  async start(sink: FrameSink): Promise<void> {
    this.timer = setInterval(() => { if (!this.hung) sink.frame({ data: this.frames[this.n++ % this.frames.length]!, capturedAtUs: nowUs() }); }, 1000 / this.fps);
  }
  hang(): void { this.hung = true; }
  resume(): void { this.hung = false; }
  async stop(): Promise<void> { clearInterval(this.timer); this.timer = undefined; }
}

/** Records what the agent tells its supervisor. */
class RecordingLifecycle implements LifecycleReporter {
  framesSent = 0;
  statuses: string[] = [];
  ready(status: string): void { this.statuses.push(`READY ${status}`); }
  status(text: string): void { this.statuses.push(text); }
  frameSent(): void { this.framesSent++; }
  stopping(): void {}
  async stop(): Promise<void> {}
}

test('camera hangs: stalled after stallTimeout in log, stats and systemd status; watchdog proof of life stops; recovery reported', async () => {
  broker = await startMosquitto();
  const { frames } = await makeJpegFolder(4);
  const monitor = new TopicMonitor(broker.url, ['picam/frozen/stats']);
  await monitor.start();
  cleanup.push(() => monitor.stop());
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', component: 'agent', write: (line) => lines.push(line) });
  const source = new FreezingSource(frames, 20);
  const lifecycle = new RecordingLifecycle();
  const { agent } = buildAgentInProcess(broker.url, ['--camera-id', 'frozen', '--stall-timeout', '1', '--stats-interval', '1'], { source, logger, lifecycle });
  cleanup.push(() => agent.stop());
  await agent.start();
  await waitFor(() => (lifecycle.framesSent >= 20 ? true : undefined), 10_000, '20 frames sent');
  assert.ok(monitor.json<Stats>('picam/frozen/stats').length === 0 || monitor.json<Stats>('picam/frozen/stats').every((s) => !s.stalled));

  const hungAt = Date.now();
  source.hang();
  const stalledStats = await waitFor(() => monitor.json<Stats>('picam/frozen/stats', hungAt).find((s) => s.stalled), 5000, 'stats with stalled: true');
  const detectedMs = stalledStats.at - hungAt;
  const logLine = lines.find((l) => l.includes('camera stalled'));
  assert.ok(logLine, 'a log line says the camera stalled');
  assert.match(logLine, /^warn +agent: camera stalled: no frame from the source source=freezing forS=1(\.\d)? stallTimeoutS=1$/);
  assert.ok(lifecycle.statuses.some((s) => /^stalled: no frame from the freezing source for \d+ s$/.test(s)), `systemd status says stalled: ${lifecycle.statuses.join(' | ')}`);
  const sentAtStall = lifecycle.framesSent;
  // Stats a second or more later (every 1 s) say the stall goes on, with the age of the last frame growing.
  const later = await waitFor(() => monitor.json<Stats>('picam/frozen/stats', stalledStats.at + 500).find((s) => s.lastFrameAgeS >= 2), 5000, 'stats with lastFrameAgeS 2 or more');
  assert.equal(later.stalled, true, 'still reported stalled');
  assert.equal(lifecycle.framesSent, sentAtStall, 'no proof of life for the watchdog while stalled');

  const resumedAt = Date.now();
  source.resume();
  await waitFor(() => (lifecycle.framesSent > sentAtStall + 5 ? true : undefined), 5000, 'frames again');
  const recovered = await waitFor(() => monitor.json<Stats>('picam/frozen/stats', resumedAt).find((s) => !s.stalled), 5000, 'stats with stalled: false');
  assert.equal(recovered.stalls, 1);
  assert.ok(lines.some((l) => /camera frames resumed source=freezing stalledForS=\d/.test(l)), 'a log line says frames resumed');
  assert.match(lifecycle.statuses.at(-1)!, /^streaming 320x240/);
  await agent.stop();
  console.log(`# camera hang (stallTimeout 1 s): stalled:true in stats ${detectedMs} ms after the last frame; watchdog frames stayed at ${sentAtStall} until stats said the last frame was ${later.lastFrameAgeS} s old; recovery reported ${recovered.at - resumedAt} ms after frames came back`);
});

test('picam-agent process: a file source that runs out is reported stalled (log line and stats)', async () => {
  broker ??= await startMosquitto();
  const { dir } = await makeJpegFolder(10);
  const monitor = new TopicMonitor(broker.url, ['picam/runsout/stats']);
  await monitor.start();
  cleanup.push(() => monitor.stop());
  const agent = spawnAgent(broker.url, 'runsout', dir, 10, ['--no-loop', '--stall-timeout', '1.5']);
  cleanup.push(() => agent.stop('SIGKILL'));
  await agent.waitFor(/file source reached the last file/, 10_000);
  const line = await agent.waitFor(/warn +agent: camera stalled: no frame from the source source=file forS=[\d.]+ stallTimeoutS=1.5/, 5000);
  const stats = await waitFor(() => monitor.json<Stats>('picam/runsout/stats').find((s) => s.stalled), 5000, 'stalled stats');
  assert.equal(stats.framesCaptured, 10);
  assert.equal(await stopWithin(agent), 0);
  console.log(`# file source ran out: "${line[0]}"; stats ${JSON.stringify({ stalled: stats.stalled, lastFrameAgeS: stats.lastFrameAgeS, framesCaptured: stats.framesCaptured })}`);
});

test('under systemd: the stalled camera shows in STATUS= and WATCHDOG=1 pings stop, so the watchdog would restart the service', async () => {
  broker ??= await startMosquitto();
  const { dir } = await makeJpegFolder(20, 160, 120);
  const notify = await startNotifySocket();
  cleanup.push(() => notify.stop());
  // A 1 s watchdog: the agent checks every 0.5 s and pings only if a frame went out since the last check.
  const agent = spawnAgent(broker.url, 'watchdog', dir, 10, ['--no-loop', '--stall-timeout', '1'], { NOTIFY_SOCKET: notify.address, WATCHDOG_USEC: '1000000' });
  cleanup.push(() => agent.stop('SIGKILL'));
  await notify.waitFor((d) => d.fields.READY === '1', 10_000);
  const stalled = await notify.waitFor((d) => /^stalled: no frame from the file source/.test(d.fields.STATUS ?? ''), 10_000);
  const pingsBefore = notify.messages().filter((d) => d.fields.WATCHDOG === '1' && d.at < stalled.at);
  assert.ok(pingsBefore.length >= 2, `watchdog pings while frames flowed (${pingsBefore.length})`);
  await sleep(1500); // absence: longer than WatchdogSec (1 s), so systemd would have restarted the service
  // A ping already on its way when the stall was declared may still land just after it.
  const pingsAfter = notify.messages().filter((d) => d.fields.WATCHDOG === '1' && d.at > stalled.at + 600);
  assert.deepEqual(pingsAfter.map((d) => d.at - stalled.at), [], 'no watchdog ping while the camera is stalled');
  assert.equal(await stopWithin(agent), 0);
  assert.ok(notify.messages().some((d) => d.fields.STOPPING === '1'));
  console.log(`# systemd: ${pingsBefore.length} WATCHDOG=1 pings while streaming, then STATUS="${stalled.fields.STATUS}" and none for 1.5 s`);
});
