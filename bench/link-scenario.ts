import { sleep } from './clock.js';
import { senderFlags, shapeOf, startSender, waitFor, type LinkSource } from './link-case.js';
import { LinkReceiver, type Arrival, type StatsSample } from '../harness/link-receiver.js';
import { RelayThread } from './link-relay.js';
import { mean, percentile } from './stats.js';

/**
 * How fast the agent finds its feet: it starts streaming over a narrow link (how long until it settles),
 * then the link widens to no limit (how long until full quality at the camera's frame rate).
 */

export interface ScenarioPlan {
  brokerPort: number;
  source: LinkSource;
  frameDir: string;
  fps: number;
  rttMs: number;
  mbit: number;
  narrowMs: number;
  wideMs: number;
  cameraId: string;
}

export interface ScenarioFigures {
  source: LinkSource;
  rttMs: number;
  mbit: number;
  /** Seconds from the first frame until every later second met the latency bound with the settings fixed. */
  settleS: number | null;
  /** Settings it settled at. */
  settledQuality: number | null;
  settledFps: number | null;
  /** Seconds from the widening until full quality at the camera's rate (null: not within the phase). */
  recoverS: number | null;
  /** Adaptive steps taken on the narrow link, and on the wide one. */
  stepsNarrow: number;
  stepsWide: number;
}

export async function runScenario(plan: ScenarioPlan): Promise<ScenarioFigures> {
  const prefix = 'linkscenario';
  const relay = await RelayThread.start({ host: '127.0.0.1', port: plan.brokerPort }, shapeOf(plan));
  const receiver = await LinkReceiver.start(`mqtt://127.0.0.1:${plan.brokerPort}`, { kind: 'picam', prefix, cameraId: plan.cameraId });
  const sender = startSender('picam', relay.url, prefix, plan.cameraId, senderFlags(plan));
  try {
    await waitFor(() => receiver.arrivals.length > 0, 20_000, 'the first frame');
    const firstUs = receiver.arrivals[0]!.arrivedUs;
    await sleep(plan.narrowMs);
    const widenedUs = nowUs();
    await relay.setShape(shapeOf({ rttMs: plan.rttMs, mbit: undefined }));
    await sleep(plan.wideMs);
    const endUs = nowUs();
    const narrow = receiver.arrivals.filter((a) => a.arrivedUs < widenedUs);
    const narrowStats = receiver.stats.filter((s) => s.receivedUs < widenedUs);
    const wideStats = receiver.stats.filter((s) => s.receivedUs >= widenedUs && s.receivedUs < endUs);
    const last = narrowStats.at(-1)?.stats;
    return {
      source: plan.source,
      rttMs: plan.rttMs,
      mbit: plan.mbit,
      settleS: settleSeconds(narrow, narrowStats, firstUs, widenedUs, plan),
      settledQuality: plan.source === 'synthetic' && typeof last?.quality === 'number' ? last.quality : null,
      settledFps: typeof last?.targetFps === 'number' ? last.targetFps : null,
      recoverS: recoverSeconds(wideStats, widenedUs, plan.fps),
      stepsNarrow: levelChanges(narrowStats),
      stepsWide: levelChanges(wideStats),
    };
  } finally {
    await sender.stop();
    await receiver.stop();
    await relay.stop();
  }
}

function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

const settingsOf = (s: StatsSample): string => `${String(s.stats.quality)}@${String(s.stats.targetFps)}`;

function levelChanges(stats: StatsSample[]): number {
  let changes = 0;
  for (let i = 1; i < stats.length; i++) if (settingsOf(stats[i]!) !== settingsOf(stats[i - 1]!)) changes++;
  return changes;
}

/** The start of the last stretch, to the end of the narrow phase, in which settings held and every second kept the latency target. */
function settleSeconds(arrivals: Arrival[], stats: StatsSample[], firstUs: number, endUs: number, plan: ScenarioPlan): number | null {
  const linkBytesPerMs = (plan.mbit * 1e6) / 8 / 1000;
  let settledUs = firstUs;
  for (let i = 1; i < stats.length; i++) if (settingsOf(stats[i]!) !== settingsOf(stats[i - 1]!)) settledUs = stats[i]!.receivedUs;
  for (let binStart = firstUs; binStart < endUs; binStart += 1_000_000) {
    const bin = arrivals.filter((a) => a.arrivedUs >= binStart && a.arrivedUs < binStart + 1_000_000);
    if (bin.length === 0) continue;
    const bound = plan.rttMs / 2 + mean(bin.map((a) => a.bytes)) / linkBytesPerMs + 100;
    if (percentile(bin.map((a) => (a.arrivedUs - a.capturedAtUs) / 1000), 95) > bound) settledUs = Math.max(settledUs, binStart + 1_000_000);
  }
  return settledUs >= endUs - 2_000_000 ? null : (settledUs - firstUs) / 1e6;
}

function recoverSeconds(stats: StatsSample[], widenedUs: number, fps: number): number | null {
  const full = stats.find((s) => s.stats.adaptiveLevel === 0 && typeof s.stats.targetFps === 'number' && s.stats.targetFps >= fps && s.stats.fps >= 0.95 * fps);
  return full ? (full.receivedUs - widenedUs) / 1e6 : null;
}
