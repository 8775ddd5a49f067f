import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LinkShape } from '../harness/link-emulator.js';
import { sleep } from './clock.js';
import { LinkReceiver, type Arrival } from '../harness/link-receiver.js';
import { RelayThread } from './link-relay.js';
import { mean, percentile } from './stats.js';

/**
 * One row of `npm run bench:link`: a sender (the agent as a user runs it, or the plain approach) streaming
 * through the link emulator to a real broker, a receiver beside the broker, and the figures of a window
 * after the stream had time to settle.
 */

export type Contender = 'picam' | 'plain';
export type LinkSource = 'file' | 'synthetic';

export interface LinkCasePlan {
  brokerPort: number;
  contender: Contender;
  source: LinkSource;
  /** Folder of 720p camera JPEGs for the file source. */
  frameDir: string;
  fps: number;
  rttMs: number;
  /** Uplink rate in Mbit/s; undefined: unlimited. */
  mbit: number | undefined;
  settleMs: number;
  measureMs: number;
  /** Distinct per case, so retained messages of one case never reach another. */
  cameraId: string;
}

export interface LinkFigures {
  contender: Contender;
  source: LinkSource;
  rttMs: number;
  mbit: number | null;
  cameraFps: number;
  fps: number;
  /** JPEG quality frames were sent at by the end of the window (null: the camera's own, fixed). */
  quality: number | null;
  adaptiveLevel: number | null;
  /** The rate frames were let through at (adaptive quality's frame-rate limit). */
  targetFps: number | null;
  meanFrameKB: number;
  /** Bytes the link carried up, per second, and over its rate. */
  carriedKbps: number;
  carriedShare: number | null;
  p50Ms: number;
  p95Ms: number;
  /** The latency target: one-way delay + one frame's transmission at the link rate + 100 ms. */
  p95BoundMs: number | null;
  drops: Record<string, number> | null;
  corrupt: number;
  senderPeakRssMb: number | null;
}

const distRoot = fileURLToPath(new URL('..', import.meta.url));

export function senderFlags(plan: Pick<LinkCasePlan, 'source' | 'frameDir' | 'fps'>): string[] {
  const source = plan.source === 'file' ? ['--source', `file:${plan.frameDir}`] : ['--source', 'synthetic', '--width', '1280', '--height', '720', '--quality', '80'];
  return [...source, '--fps', String(plan.fps)];
}

export function shapeOf(plan: Pick<LinkCasePlan, 'rttMs' | 'mbit'>): LinkShape {
  return { rttMs: plan.rttMs, upBitsPerSecond: plan.mbit === undefined ? undefined : plan.mbit * 1e6 };
}

/** Senders still running, stopped if the benchmark ends early (an error, a time limit, Ctrl-C). */
const running = new Set<ChildProcess>();
process.once('exit', () => { for (const child of running) child.kill('SIGKILL'); });

export interface RunningSender {
  process: ChildProcess;
  stop(): Promise<void>;
}

export function startSender(contender: Contender, brokerUrl: string, prefix: string, cameraId: string, flags: string[]): RunningSender {
  const args = contender === 'picam'
    ? [`${distRoot}/agent/cli.js`, '--broker', brokerUrl, '--prefix', prefix, '--camera-id', cameraId, '--stats-interval', '1', '--log-level', 'warn', ...flags]
    : [`${distRoot}/bench/plain-sender.js`, brokerUrl, `${prefix}/${cameraId}`, '--', ...flags];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      if (child.exitCode !== 0 && child.exitCode !== null && stderr) process.stderr.write(`${contender} sender: ${stderr}\n`);
    },
  };
}

/** Peak resident memory of a running process (VmHWM), MB. */
export function peakRssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
    return line ? Number(line.split(/\s+/)[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export async function runLinkCase(plan: LinkCasePlan): Promise<LinkFigures> {
  const prefix = plan.contender === 'picam' ? 'linkbench' : 'linkplain';
  const relay = await RelayThread.start({ host: '127.0.0.1', port: plan.brokerPort }, shapeOf(plan));
  const receiver = await LinkReceiver.start(`mqtt://127.0.0.1:${plan.brokerPort}`, plan.contender === 'picam'
    ? { kind: 'picam', prefix, cameraId: plan.cameraId }
    : { kind: 'plain', prefix: `${prefix}/${plan.cameraId}` });
  const sender = startSender(plan.contender, relay.url, prefix, plan.cameraId, senderFlags(plan));
  try {
    await waitFor(() => receiver.arrivals.length > 0, 20_000, `the first frame of ${plan.contender}`);
    await sleep(plan.settleMs);
    const startIndex = receiver.arrivals.length;
    const startStats = receiver.latestStats();
    const startCounters = await relay.counters();
    const startedAt = performance.now();
    await sleep(plan.measureMs);
    const seconds = (performance.now() - startedAt) / 1000;
    const endCounters = await relay.counters();
    const endStats = receiver.latestStats();
    const window = receiver.since(startIndex);
    return figures(plan, window, seconds, (endCounters.upBytes - startCounters.upBytes) / seconds, startStats, endStats, receiver.corrupt, peakRssMb(sender.process.pid));
  } finally {
    await sender.stop();
    await receiver.stop();
    await relay.stop();
  }
}

function figures(
  plan: LinkCasePlan, window: Arrival[], seconds: number, carriedBytesPerS: number,
  startStats: Record<string, unknown> | undefined, endStats: Record<string, unknown> | undefined, corrupt: number, senderPeakRssMb: number | null,
): LinkFigures {
  const latencies = window.map((a) => (a.arrivedUs - a.capturedAtUs) / 1000);
  const meanFrameBytes = mean(window.map((a) => a.bytes));
  const linkBytesPerS = plan.mbit === undefined ? undefined : (plan.mbit * 1e6) / 8;
  const drops = plan.contender === 'picam' && startStats && endStats ? dropDelta(startStats.drops, endStats.drops) : null;
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  return {
    contender: plan.contender,
    source: plan.source,
    rttMs: plan.rttMs,
    mbit: plan.mbit ?? null,
    cameraFps: plan.fps,
    fps: window.length / seconds,
    quality: plan.source === 'synthetic' ? (plan.contender === 'picam' ? num(endStats?.quality) : 80) : null,
    adaptiveLevel: plan.contender === 'picam' ? num(endStats?.adaptiveLevel) : null,
    targetFps: plan.contender === 'picam' ? num(endStats?.targetFps) : null,
    meanFrameKB: meanFrameBytes / 1000,
    carriedKbps: (carriedBytesPerS * 8) / 1000,
    carriedShare: linkBytesPerS === undefined ? null : carriedBytesPerS / linkBytesPerS,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p95BoundMs: linkBytesPerS === undefined || !Number.isFinite(meanFrameBytes) ? null : plan.rttMs / 2 + (meanFrameBytes / linkBytesPerS) * 1000 + 100,
    drops,
    corrupt,
    senderPeakRssMb,
  };
}

function dropDelta(start: unknown, end: unknown): Record<string, number> {
  const s = (start ?? {}) as Record<string, number>;
  const e = (end ?? {}) as Record<string, number>;
  const out: Record<string, number> = {};
  for (const [reason, count] of Object.entries(e)) {
    const delta = count - (s[reason] ?? 0);
    if (delta > 0) out[reason] = delta;
  }
  return out;
}
