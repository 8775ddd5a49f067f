import type { CameraLinkStats } from '../../protocol/messages.js';
import type { LinkEstimator } from './link-estimator.js';

/**
 * Decides when the next frame may go, from what the LinkEstimator measured: frames leave at the rate the
 * path delivers (pacing), and no more is in flight than the path holds (about rate × round trip, with
 * headroom), so a queue never builds in socket buffers or routers; frames that cannot go yet wait in the
 * publisher, where a newer one replaces them.
 *
 * The modes follow BBR's: `startup` opens up fast (the rate estimate may grow 2.89 × per round trip) until
 * the delivery rate stops growing; `drain` sends below the rate until what startup queued has gone; `probe`
 * cycles the pacing gain through 1.25 (one round trip looking for more), 0.75 (one round trip giving back
 * any queue that made) and 1 (six round trips at the estimate). Two things differ, because a frame that
 * waits too long is dropped, not merely delayed:
 *
 * - the 0.75 phase ends at once when nothing is queued, so a camera slower than the link is never held back;
 * - a standing queue (the round trip above its floor by more than `queueLimitMs`) means the path narrowed:
 *   the rate estimate falls to the delivery rate at once and the pacer drains, instead of waiting 10 round
 *   trips for the old maximum to expire while seconds of video queue up.
 */

export type PacerMode = CameraLinkStats['mode'];

/** Whether a frame may go now; if not, when to ask again (`inMs` undefined: after the next acknowledgement). */
export type Release = { now: true } | { now: false; inMs: number | undefined };

export interface PacerOptions {
  /** Hard cap on frames in flight, whatever the estimates say (memory, MQTT packet ids). */
  maxFramesInFlight: number;
}

/** What the pacer predicted for a frame when it let it go, to compare with its acknowledgement. */
export interface PacedFrame {
  /** When the bottleneck would be done with the frame, by the model (ms). */
  readonly finish: number;
  /** The model's accumulated correction at that time. */
  readonly correction: number;
}

/** BBR's startup gain, 2/ln 2: the smallest that doubles the delivery rate every round trip. */
const STARTUP_GAIN = 2.89;
const PROBE_GAINS = [1.25, 0.75, 1, 1, 1, 1, 1, 1] as const;
/** In-flight headroom over rate × round trip once started: room for a probe and for uneven acks. */
const CWND_GAIN = 2;
/** Startup ends when the rate has not grown by this factor for FULL_BW_ROUNDS round trips. */
const FULL_BW_GROWTH = 1.25;
const FULL_BW_ROUNDS = 3;
/** How early a frame may leave its paced time: camera timing is uneven. */
const BURST_MS = 10;
/** Acknowledgements whose disagreement with the model must all point the same way before it is corrected. */
const ALIGN_SAMPLES = 4;
/** Disagreements smaller than this are timing noise. */
const ALIGN_TOLERANCE_MS = 2;
/** A capacity hint this far above the rate estimate, while frames wait, starts a search for the new rate. */
const HINT_RESTART = 1.5;
/** At most one such search in this long: a hint can be wrong where acknowledgements come in bunches. */
const HINT_RESTART_EVERY_MS = 3000;
/** A shorter wait is not worth a timer (timers tick in milliseconds): the frame goes at once. */
const MIN_WAIT_MS = 1;
/** Before anything is measured, frames in flight (the publisher's old fixed window). */
const INITIAL_FRAMES = 2;

export class SendPacer {
  private state: PacerMode = 'startup';
  /** The pacing clock: when the next frame may go. */
  private readyAt = -Infinity;
  /** The model of the bottleneck: when it is done with what was sent, at the estimated rate. */
  private bottleneckFree = -Infinity;
  private correction = 0;
  private readonly disagreements: number[] = [];
  private cycleIndex = 0;
  private cycleStart = 0;
  private fullBw = 0;
  private roundsWithoutGrowth = 0;
  private lastCongestionRound = -1;
  private lastHintRestart = -Infinity;
  /** The largest recent frame, decaying, so one frame's room is always in the window. */
  private frameBytes = 0;

  constructor(private readonly link: LinkEstimator, private readonly options: PacerOptions) {}

  get mode(): PacerMode {
    return this.state;
  }

  /** Pacing rate in bytes/ms, or undefined while nothing is measured. */
  pacingRate(): number | undefined {
    const bw = this.link.bandwidthRate();
    if (bw === undefined) return undefined;
    const rate = bw * this.pacingGain();
    const cap = this.searchCap();
    return cap === undefined ? rate : Math.min(rate, cap);
  }

  /**
   * Searching for a higher rate, the capacity the frames' own timing shows is as far as it is worth going,
   * when it is consistent with what was delivered (a hint below the delivery rate is wrong).
   */
  private searchCap(): number | undefined {
    const bw = this.link.bandwidthRate();
    const hint = this.link.capacityHint();
    return this.state === 'startup' && bw !== undefined && hint !== undefined && Number.isFinite(hint) && hint >= bw ? hint : undefined;
  }

  /** The rate the model of the bottleneck drains at: the estimate, or while searching the capacity it is capped at. */
  private modelRate(): number | undefined {
    return this.searchCap() ?? this.link.bandwidthRate();
  }

  /** Bytes the path may hold in flight, or undefined while nothing is measured. */
  window(now: number): number | undefined {
    const bw = this.link.bandwidthRate();
    const rtt = this.link.minRttMs(now);
    if (bw === undefined || rtt === undefined) return undefined;
    const gain = this.state === 'startup' ? STARTUP_GAIN : CWND_GAIN;
    return gain * bw * rtt + 2 * this.frameBytes;
  }

  /** Queue limit for the current round trip: room for a probe's extra and for acknowledgement noise. */
  queueLimitMs(now: number): number {
    return 40 + 0.5 * (this.link.minRttMs(now) ?? 0);
  }

  release(now: number, bytes: number, framesInFlight: number): Release {
    if (framesInFlight >= this.options.maxFramesInFlight) return { now: false, inMs: undefined };
    const window = this.window(now);
    if (window === undefined) return framesInFlight < INITIAL_FRAMES ? { now: true } : { now: false, inMs: undefined };
    // A queue is building: nothing more goes until acknowledgements show it going down.
    if (framesInFlight > 0 && this.link.queueDelayMs(now) > this.queueLimitMs(now)) {
      if (this.state === 'probe') this.enter('drain', now);
      return { now: false, inMs: undefined };
    }
    this.advanceCycle(now);
    // Always room for two frames, so a frame larger than the window cannot stall the stream.
    const windowFull = framesInFlight >= INITIAL_FRAMES && this.link.inFlightBytes + bytes > window;
    if ((windowFull || this.readyAt > now) && this.state === 'probe' && this.shouldSearch(now)) {
      this.enter('startup', now);
      return this.release(now, bytes, framesInFlight);
    }
    if (windowFull) return { now: false, inMs: undefined };
    const wait = Math.max(this.readyAt, this.bottleneckGate(now)) - now;
    return wait >= MIN_WAIT_MS ? { now: false, inMs: wait } : { now: true };
  }

  /**
   * While the path sets the pace, a frame goes only when the bottleneck (as modelled) is about to be free, so
   * it never waits in a queue: it waits here instead, where a newer frame can still replace it. A probe may
   * run ahead by its extra; startup and a camera-paced stream are not held by the model (its rate is then
   * only a lower bound).
   */
  private bottleneckGate(now: number): number {
    if (this.link.appLimited || (this.state === 'startup' && this.searchCap() === undefined)) return -Infinity;
    const gain = this.pacingGain();
    return this.bottleneckFree - (gain > 1 ? (gain - 1) * this.phaseMs(now) : 0);
  }

  /** A frame of `bytes` left now. */
  sent(now: number, bytes: number): PacedFrame {
    this.frameBytes = Math.max(bytes, this.frameBytes * 0.95);
    const model = this.modelRate();
    const rate = this.pacingRate();
    if (rate !== undefined && rate > 0) this.readyAt = Math.max(this.readyAt, now - BURST_MS) + bytes / rate;
    this.bottleneckFree = Math.max(this.bottleneckFree, now) + (model === undefined ? 0 : bytes / model);
    return { finish: this.bottleneckFree, correction: this.correction };
  }

  /**
   * A frame was acknowledged (the estimator has taken its samples); `roundEnded` from LinkEstimator.acked.
   * The acknowledgement also says when the bottleneck really was done with the frame (a round trip before);
   * where that keeps disagreeing with the model, the model moves: a queue the pacing left standing (after a
   * probe, or a rate estimate a little high) is not fed, and a bottleneck idle behind a cautious model is used.
   */
  acked(now: number, roundEnded: boolean, frame: PacedFrame): void {
    const bw = this.link.bandwidthRate();
    if (bw === undefined) return;
    this.align(now, frame);
    const queued = this.link.queueDelayMs(now) > this.queueLimitMs(now);
    if (queued && this.link.roundCount > this.lastCongestionRound) {
      // Once a round trip while the queue stands: the delivery rate then is the bottleneck's.
      this.lastCongestionRound = this.link.roundCount;
      if (this.state !== 'startup') this.link.bandwidthFell();
      this.enter('drain', now);
      return;
    }
    if (this.state === 'startup' && roundEnded) {
      if (bw >= this.fullBw * FULL_BW_GROWTH) {
        this.fullBw = bw;
        this.roundsWithoutGrowth = 0;
      } else if (++this.roundsWithoutGrowth >= FULL_BW_ROUNDS) {
        this.enter('drain', now);
      }
    }
    if (this.state === 'drain' && !queued && this.link.inFlightBytes <= this.pathHolds(now)) this.enter('probe', now);
    this.advanceCycle(now);
  }

  private align(now: number, frame: PacedFrame): void {
    const rtt = this.link.minRttMs(now);
    if (rtt === undefined || !Number.isFinite(frame.finish)) return;
    this.disagreements.push(now - rtt - (frame.finish + this.correction - frame.correction));
    if (this.disagreements.length > ALIGN_SAMPLES) this.disagreements.shift();
    if (this.disagreements.length < ALIGN_SAMPLES) return;
    const low = Math.min(...this.disagreements);
    const high = Math.max(...this.disagreements);
    const shift = low > ALIGN_TOLERANCE_MS ? low : high < -ALIGN_TOLERANCE_MS ? high : 0;
    if (shift === 0) return;
    this.correction += shift;
    this.readyAt += shift;
    this.bottleneckFree += shift;
    this.disagreements.length = 0;
  }

  /**
   * Whether frames held back by the estimate should make the pacer look for a higher rate at once, as at the
   * start: the camera now asks for more than while the estimate was made (a quality step up, a busier
   * scene), or the path showed more capacity than the estimate (a link that widened).
   */
  private shouldSearch(now: number): boolean {
    if (this.link.appLimited) return true;
    const hint = this.link.capacityHint();
    const bw = this.link.bandwidthRate();
    if (hint === undefined || bw === undefined || hint < HINT_RESTART * bw || now - this.lastHintRestart < HINT_RESTART_EVERY_MS) return false;
    this.lastHintRestart = now;
    return true;
  }

  private enter(mode: PacerMode, now: number): void {
    this.state = mode;
    if (mode === 'startup') {
      this.fullBw = 0;
      this.roundsWithoutGrowth = 0;
    }
    if (mode === 'probe') {
      // Start at a gain-1 phase, not in the middle of a probe.
      this.cycleIndex = 2;
      this.cycleStart = now;
    }
  }

  private pacingGain(): number {
    switch (this.state) {
      case 'startup': return STARTUP_GAIN;
      case 'drain': return 0.75;
      case 'probe': return PROBE_GAINS[this.cycleIndex]!;
    }
  }

  /** Rate × round trip plus a frame: what keeps the bottleneck busy without a queue. */
  private pathHolds(now: number): number {
    const bw = this.link.bandwidthRate() ?? 0;
    return bw * (this.link.minRttMs(now) ?? 0) + this.frameBytes;
  }

  /** A probe phase lasts a round trip, and at least one frame's time, so that each phase paces a frame. */
  private phaseMs(now: number): number {
    const bw = this.link.bandwidthRate() ?? Infinity;
    return Math.max(this.link.minRttMs(now) ?? 0, this.frameBytes / bw, 10);
  }

  private advanceCycle(now: number): void {
    if (this.state !== 'probe') return;
    const phase = this.phaseMs(now);
    const gain = PROBE_GAINS[this.cycleIndex]!;
    // The giving-back phase ends as soon as nothing is queued: holding frames back then would only drop them.
    const drained = gain < 1 && this.link.inFlightBytes <= this.pathHolds(now);
    if (now - this.cycleStart >= phase || drained) {
      this.cycleIndex = (this.cycleIndex + 1) % PROBE_GAINS.length;
      this.cycleStart = now;
    }
  }
}
