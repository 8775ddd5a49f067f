import type { Logger } from '../common/logger.js';
import { monoUs, sleepUntil } from './clock.js';
import { CONTENDERS, type ContenderName } from './contenders.js';
import { PeerHandle } from './peer-handle.js';
import type { PacedResult, ThroughputResult } from './peer-protocol.js';
import { processCpuUs } from './proc-cpu.js';
import { profileArgs } from './profile.js';
import { median, percentile, sum } from './stats.js';

/**
 * Runs the contenders against one broker on one set of frames. Every contender gets its own sender and
 * receiver process, all started up front; trials then take turns (the order rotates each round), so a
 * burst of noise on the machine hits every contender alike rather than one of them.
 */

export interface TransportPlan {
  brokerUrl: string;
  brokerPid: number;
  frameDir: string;
  jpegBytes: number;
  /** Throughput trials per contender (and sweep rounds). */
  rounds: number;
  /** Paced latency trials per contender. */
  pacedRounds: number;
  warmupMs: number;
  measureMs: number;
  pacedFps: number;
  pacedFrames: number;
  /** Leading frames of every paced trial left out of the latency figures (JIT, first connections). */
  pacedSkip: number;
  chunkSize: number;
  /** TCP_NODELAY on every client socket (the broker's side is its set_tcp_nodelay). */
  noDelay: boolean;
  /** Folder for V8 CPU profiles of every peer (node --cpu-prof), or undefined for none. */
  profileDir: string | undefined;
}

export interface TrialSettings {
  chunkSize?: number;
}

export interface ThroughputFigures {
  /** Median over rounds of frames received and verified per second. */
  fps: number;
  fpsRounds: number[];
  /** Frames the sender handed over per second (above fps when the broker or receiver drops). */
  sentFps: number;
  senderCpuMsPerFrame: number;
  receiverCpuMsPerFrame: number;
  brokerCpuMsPerFrame: number | null;
  invalid: number;
}

export interface LatencyFigures {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
  lost: number;
  senderCpuMsPerFrame: number;
  receiverCpuMsPerFrame: number;
  /** TCP bytes from the broker to the receiver per frame, and from the sender to the broker. */
  wireBytesPerFrame: number;
  senderWireBytesPerFrame: number;
  /** Wire bytes over the JPEG bytes they carried (1.0 = no overhead), receiver side. */
  wireOverJpeg: number;
  senderWireOverJpeg: number;
}

export interface ContenderFigures {
  contender: ContenderName;
  chunkSize?: number;
  throughput: ThroughputFigures;
  latency: LatencyFigures;
  senderPeakRssMb?: number;
  receiverPeakRssMb?: number;
}

interface ThroughputTrial {
  sent: ThroughputResult;
  received: ThroughputResult;
  brokerCpuUs: number | undefined;
}

interface PacedTrial {
  sent: PacedResult;
  received: PacedResult;
}

/** One contender's sender and receiver processes. */
class Pair {
  readonly sender: PeerHandle;
  readonly receiver: PeerHandle;

  constructor(readonly contender: ContenderName, plan: TransportPlan, namespace: string) {
    const init = { contender, brokerUrl: plan.brokerUrl, namespace, frameDir: plan.frameDir, chunkSize: plan.chunkSize, noDelay: plan.noDelay };
    this.sender = new PeerHandle({ ...init, role: 'sender' }, profileArgs(plan.profileDir, `${namespace}-sender`));
    this.receiver = new PeerHandle({ ...init, role: 'receiver' }, profileArgs(plan.profileDir, `${namespace}-receiver`));
  }

  async start(): Promise<void> {
    await this.receiver.start();
    await this.sender.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.sender.stop(), this.receiver.stop()]);
  }

  async throughputTrial(plan: TransportPlan, settings: TrialSettings): Promise<ThroughputTrial> {
    const startUs = monoUs() + 200_000;
    const windowStartUs = startUs + plan.warmupMs * 1000;
    const windowEndUs = windowStartUs + plan.measureMs * 1000;
    const command = { startUs, windowStartUs, windowEndUs, chunkSize: settings.chunkSize };
    const brokerCpu = (async () => {
      await sleepUntil(windowStartUs);
      const before = processCpuUs(plan.brokerPid);
      await sleepUntil(windowEndUs);
      const after = processCpuUs(plan.brokerPid);
      return before === undefined || after === undefined ? undefined : after - before;
    })();
    const [sent, received, brokerCpuUs] = await Promise.all([this.sender.throughput(command), this.receiver.throughput(command), brokerCpu]);
    return { sent, received, brokerCpuUs };
  }

  async pacedTrial(plan: TransportPlan, settings: TrialSettings): Promise<PacedTrial> {
    const startUs = monoUs() + 200_000;
    const endUs = startUs + (plan.pacedFrames / plan.pacedFps) * 1e6;
    const command = { startUs, endUs, fps: plan.pacedFps, frames: plan.pacedFrames, chunkSize: settings.chunkSize };
    const [sent, received] = await Promise.all([this.sender.paced(command), this.receiver.paced(command)]);
    return { sent, received };
  }
}

function figuresOf(contender: ContenderName, t: ThroughputTrial[], paced: PacedTrial[], plan: TransportPlan): ContenderFigures {
  const fpsRounds = t.map((r) => (r.received.frames * 1e6) / r.received.elapsedUs);
  const received = sum(t.map((r) => r.received.frames));
  const brokerCpu = t.every((r) => r.brokerCpuUs !== undefined) ? sum(t.map((r) => r.brokerCpuUs!)) : undefined;
  const throughput: ThroughputFigures = {
    fps: median(fpsRounds),
    fpsRounds,
    sentFps: (sum(t.map((r) => r.sent.frames)) * 1e6) / sum(t.map((r) => r.sent.elapsedUs)),
    senderCpuMsPerFrame: sum(t.map((r) => r.sent.cpuUs)) / sum(t.map((r) => r.sent.frames)) / 1000,
    receiverCpuMsPerFrame: sum(t.map((r) => r.received.cpuUs)) / received / 1000,
    brokerCpuMsPerFrame: brokerCpu === undefined ? null : brokerCpu / received / 1000,
    invalid: sum(t.map((r) => r.received.invalid)),
  };
  const latencies: number[] = [];
  let lost = 0;
  for (const { sent, received: got } of paced) {
    const matched = matchLatencies(sent.events, got.events);
    lost += matched.lost;
    latencies.push(...matched.latenciesUs.slice(plan.pacedSkip));
  }
  const pacedReceived = sum(paced.map((p) => p.received.events.length));
  const pacedSent = sum(paced.map((p) => p.sent.events.length));
  const latency: LatencyFigures = {
    p50Ms: percentile(latencies, 50) / 1000,
    p95Ms: percentile(latencies, 95) / 1000,
    p99Ms: percentile(latencies, 99) / 1000,
    maxMs: percentile(latencies, 100) / 1000,
    samples: latencies.length,
    lost,
    senderCpuMsPerFrame: sum(paced.map((p) => p.sent.cpuUs)) / pacedSent / 1000,
    receiverCpuMsPerFrame: sum(paced.map((p) => p.received.cpuUs)) / pacedReceived / 1000,
    wireBytesPerFrame: sum(paced.map((p) => p.received.wireBytes)) / pacedReceived,
    senderWireBytesPerFrame: sum(paced.map((p) => p.sent.wireBytes)) / pacedSent,
    wireOverJpeg: sum(paced.map((p) => p.received.wireBytes)) / sum(paced.map((p) => p.received.jpegBytes)),
    senderWireOverJpeg: sum(paced.map((p) => p.sent.wireBytes)) / sum(paced.map((p) => p.sent.jpegBytes)),
  };
  return { contender, throughput, latency };
}

/**
 * Pairs each received frame with its send. Frames arrive in order over one TCP path and broker, so a
 * received frame belongs to the next send of the same frame index; sends skipped on the way were lost.
 */
export function matchLatencies(sent: Array<[number, number]>, received: Array<[number, number]>): { latenciesUs: number[]; lost: number } {
  const latenciesUs: number[] = [];
  let j = 0;
  for (const [index, at] of received) {
    let k = j;
    while (k < sent.length && sent[k]![0] !== index) k++;
    if (k === sent.length) continue; // not from this trial
    latenciesUs.push(at - sent[k]![1]);
    j = k + 1;
  }
  return { latenciesUs, lost: sent.length - latenciesUs.length };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const n = items.length;
  return items.map((_, i) => items[(i + by) % n]!);
}

/** The three contenders, interleaved: throughput rounds, then paced latency rounds, then peak memory. */
export async function measureContenders(plan: TransportPlan, namespacePrefix: string, logger: Logger): Promise<ContenderFigures[]> {
  const pairs = CONTENDERS.map((c) => new Pair(c, plan, `${namespacePrefix}-${c}`));
  try {
    await Promise.all(pairs.map((p) => p.start()));
    const throughputs = new Map<Pair, ThroughputTrial[]>(pairs.map((p) => [p, []]));
    const paced = new Map<Pair, PacedTrial[]>(pairs.map((p) => [p, []]));
    for (let round = 0; round < plan.rounds; round++) {
      for (const pair of rotate(pairs, round)) {
        const trial = await pair.throughputTrial(plan, {});
        throughputs.get(pair)!.push(trial);
        logger.debug('throughput trial', { contender: pair.contender, round, fps: Math.round((trial.received.frames * 1e6) / trial.received.elapsedUs) });
      }
    }
    for (let round = 0; round < plan.pacedRounds; round++) {
      for (const pair of rotate(pairs, round)) paced.get(pair)!.push(await pair.pacedTrial(plan, {}));
    }
    const figures: ContenderFigures[] = [];
    for (const pair of pairs) {
      const f = figuresOf(pair.contender, throughputs.get(pair)!, paced.get(pair)!, plan);
      if (pair.contender === 'picam') f.chunkSize = plan.chunkSize;
      const [s, r] = await Promise.all([pair.sender.finish(), pair.receiver.finish()]);
      f.senderPeakRssMb = s.maxRssKb / 1024;
      f.receiverPeakRssMb = r.maxRssKb / 1024;
      figures.push(f);
    }
    return figures;
  } finally {
    await Promise.all(pairs.map((p) => p.stop()));
  }
}

/** picam-mqtt alone at several chunk sizes, on one sender/receiver pair (the size is set per trial). */
export async function measureChunkSizes(plan: TransportPlan, sizes: readonly number[], namespace: string): Promise<ContenderFigures[]> {
  const results: ContenderFigures[] = [];
  const pair = new Pair('picam', plan, namespace);
  try {
    await pair.start();
    const throughputs = new Map<number, ThroughputTrial[]>(sizes.map((size) => [size, []]));
    const paced = new Map<number, PacedTrial[]>(sizes.map((size) => [size, []]));
    for (let round = 0; round < plan.rounds; round++) {
      for (const size of rotate(sizes, round)) {
        throughputs.get(size)!.push(await pair.throughputTrial(plan, { chunkSize: size }));
        paced.get(size)!.push(await pair.pacedTrial(plan, { chunkSize: size }));
      }
    }
    for (const size of sizes) results.push({ ...figuresOf('picam', throughputs.get(size)!, paced.get(size)!, plan), chunkSize: size });
    await Promise.all([pair.sender.finish(), pair.receiver.finish()]);
    return results;
  } finally {
    await pair.stop();
  }
}
