import { LinkEstimator, type FrameSend } from '../../agent/link/link-estimator.js';
import { SendPacer } from '../../agent/link/send-pacer.js';

/**
 * A deterministic, simulated-time run of the sender's pacing (LinkEstimator + SendPacer, the real classes)
 * over a modelled path: one bottleneck that sends bytes first in, first out at a rate, and a fixed delay each
 * way. Frames come from a camera at a fixed rate and wait in one slot where a newer frame replaces an older
 * one, as in FramePublisher. Each frame is a small head and its body; the head's acknowledgement comes as
 * the broker receives it, and tells that every earlier frame is delivered. It runs seconds of streaming in milliseconds and reports what a receiver
 * next to the broker would have seen.
 */

export interface PathPhase {
  /** From this time on (ms). */
  atMs: number;
  /** Bottleneck rate in Mbit/s; undefined: no limit. */
  mbit: number | undefined;
  rttMs: number;
}

export interface SimulationPlan {
  fps: number;
  /** Bytes of frame i. */
  frameBytes: (i: number) => number;
  durationMs: number;
  phases: PathPhase[];
  maxFramesInFlight?: number;
}

export interface Delivery {
  capturedAt: number;
  /** When the broker had the whole frame. */
  arrivedAt: number;
  bytes: number;
}

export interface SimulationResult {
  deliveries: Delivery[];
  offered: number;
  /** Frames replaced in the waiting slot by a newer one. */
  replaced: number;
  /** Largest number of frames in flight at once. */
  maxInFlight: number;
  pacer: SendPacer;
  estimator: LinkEstimator;
}


/** Bytes of a frame's head chunk message. */
const HEAD = 100;

interface Event {
  at: number;
  seq: number;
  run: () => void;
}

export function simulatePath(plan: SimulationPlan): SimulationResult {
  const events: Event[] = [];
  let eventSeq = 0;
  const schedule = (at: number, run: () => void): void => {
    events.push({ at, seq: eventSeq++, run });
  };
  const phaseAt = (t: number): PathPhase => [...plan.phases].reverse().find((p) => p.atMs <= t) ?? plan.phases[0]!;
  let bottleneckFree = 0;
  /** When the bytes leave the bottleneck (the broker has them one way later). */
  const transmit = (at: number, bytes: number): number => {
    const phase = phaseAt(at);
    const bytesPerMs = phase.mbit === undefined ? Infinity : (phase.mbit * 1e6) / 8 / 1000;
    bottleneckFree = Math.max(bottleneckFree, at) + bytes / bytesPerMs;
    return bottleneckFree;
  };

  const estimator = new LinkEstimator();
  const pacer = new SendPacer(estimator, { maxFramesInFlight: plan.maxFramesInFlight ?? 32 });
  const deliveries: Delivery[] = [];
  let now = 0;
  let waiting: { capturedAt: number; bytes: number; held: boolean } | undefined;
  let timerAt: number | undefined;
  const inFlight: Array<{ send: FrameSend }> = [];
  let maxInFlight = 0;
  let offered = 0;
  let replaced = 0;

  const pump = (): void => {
    if (!waiting) return;
    const release = pacer.release(now, waiting.bytes);
    if (!release.now) {
      waiting.held = true;
      if (release.inMs !== undefined) {
        const at = now + release.inMs;
        if (timerAt === undefined || at < timerAt) {
          timerAt = at;
          schedule(at, () => { if (timerAt === at) { timerAt = undefined; pump(); } });
        }
      }
      return;
    }
    const frame = waiting;
    waiting = undefined;
    timerAt = undefined;
    const tail = pacer.wantsTailAck(now, frame.bytes);
    const send: FrameSend = estimator.sent(frame.bytes, tail ? frame.bytes - HEAD : 0, now, !frame.held);
    const paced = pacer.sent(now, frame.bytes);
    const flight = { send };
    inFlight.push(flight);
    maxInFlight = Math.max(maxInFlight, inFlight.length);
    const oneWay = phaseAt(now).rttMs / 2;
    const headOut = transmit(now, HEAD);
    const out = transmit(now, frame.bytes - HEAD);
    // The head's acknowledgement: a round trip, and every earlier frame delivered.
    schedule(headOut + 2 * oneWay, () => {
      const at = inFlight.indexOf(flight);
      estimator.headAcked(send, now);
      pacer.headAcked(now - send.sentAt - estimator.minRttMs(now)!, paced);
      for (const done of inFlight.splice(0, at)) pacer.delivered(now, estimator.completed(done.send, now));
      pump();
    });
    if (tail) {
      schedule(out + 2 * oneWay, () => {
        const at = inFlight.indexOf(flight);
        if (at < 0) return;
        estimator.tailAcked(send, now);
        for (const done of inFlight.splice(0, at + 1)) pacer.delivered(now, estimator.completed(done.send, now));
        pump();
      });
    }
    deliveries.push({ capturedAt: frame.capturedAt, arrivedAt: out + oneWay, bytes: frame.bytes });
  };

  const interval = 1000 / plan.fps;
  for (let i = 0; i * interval < plan.durationMs; i++) {
    schedule(i * interval, () => {
      offered++;
      if (waiting) replaced++;
      waiting = { capturedAt: now, bytes: plan.frameBytes(i), held: waiting !== undefined };
      pump();
    });
  }
  while (events.length > 0) {
    let next = 0;
    for (let i = 1; i < events.length; i++) {
      const e = events[i]!;
      const best = events[next]!;
      if (e.at < best.at || (e.at === best.at && e.seq < best.seq)) next = i;
    }
    const event = events.splice(next, 1)[0]!;
    if (event.at > plan.durationMs + 30_000) break;
    now = event.at;
    event.run();
  }
  return { deliveries, offered, replaced, maxInFlight, pacer, estimator };
}

/** Deliveries whose frames were captured in [fromMs, toMs). */
export function window(result: SimulationResult, fromMs: number, toMs: number): Delivery[] {
  return result.deliveries.filter((d) => d.capturedAt >= fromMs && d.capturedAt < toMs);
}
