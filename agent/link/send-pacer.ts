import type { CameraLinkStats } from '../../protocol/messages.js';
import type { LinkEstimator } from './link-estimator.js';

/**
 * Decides when the next frame may go, from what the LinkEstimator measured: frames leave at the rate the
 * path delivers (pacing), no more is in flight than the path holds (about twice rate × round trip, plus a
 * frame), and, while the path sets the pace, a frame goes only when a model of the bottleneck says it is
 * about to be free. So no queue builds in socket buffers or routers: frames that cannot go yet wait in the
 * publisher, where a newer one replaces them.
 *
 * The modes follow BBR's: `startup` opens up fast (the rate estimate may grow 2.89 × per round trip) until
 * the delivery rate stops growing; `drain` lets the queue startup made go; `probe` cycles the pacing gain
 * through 1.1 (one round trip looking for more), 0.9 (giving back any queue that made) and 1 (six round
 * trips at the estimate). BBR's 1.25 would, on a narrow link where one frame takes longer than a round
 * trip, queue a quarter of a frame's time ahead of every probing frame. Where frames differ from packets:
 *
 * - the model: when the bottleneck will be done with what was sent, at the estimated rate. Each head
 *   acknowledgement tells the queue that stood ahead of the frame; where frames keep meeting more than the
 *   model expected, the model takes it in, so a queue the pacing would otherwise leave standing (after a
 *   probe, or with a rate estimate a little high) is not fed. After startup and after a congestion, what is
 *   in flight is taken as still ahead of the next frame;
 * - a queue building (the round trip above its floor by more than `queueLimitMs`, or a head unacknowledged
 *   that long) means the path narrowed: nothing more goes until it drains, and the rate estimate falls to
 *   the delivery rate at once instead of after 10 round trips;
 * - the 0.9 phase ends at once when nothing is queued, so a camera slower than the link is never held back;
 * - a later search for more is gentler than startup (1.25 × a round trip, over after two round trips that
 *   brought less than 10 % more). It starts when frames are held back while the camera set the pace (the
 *   estimate is then only a lower bound, e.g. after a quality step up), after a probe that found 5 % more,
 *   or when the capacity hint is half as high again as the estimate (a link that widened); it goes no
 *   further than the hint.
 */

export type PacerMode = CameraLinkStats['mode'];

/** Whether a frame may go now; if not, when to ask again (`inMs` undefined: after the next acknowledgement). */
export type Release = { now: true } | { now: false; inMs: number | undefined };

export interface PacerOptions {
  /** Hard cap on frames in flight, whatever the estimates say (memory, MQTT packet ids). */
  maxFramesInFlight: number;
}

/** What the pacer expected of a frame when it let it go, to compare with its head's acknowledgement. */
export interface PacedFrame {
  /** The queue the model expected ahead of the frame, ms. */
  readonly queueAhead: number;
  /** The model's accumulated correction at that time. */
  readonly correction: number;
}

/** BBR's startup gain, 2/ln 2: the smallest that doubles the delivery rate every round trip. */
const STARTUP_GAIN = 2.89;
/**
 * A search after the start is gentler: the path was measured before, so the rate is stepped up a quarter a
 * round trip (queueing at most a quarter round trip each time it finds the limit) and the search ends after
 * two round trips that brought less than 10 % more.
 */
const SEARCH_GAIN = 1.25;
const SEARCH_GROWTH = 1.1;
const SEARCH_ROUNDS = 2;
const PROBE_GAINS = [1.1, 0.9, 1, 1, 1, 1, 1, 1] as const;
/** In-flight headroom over rate × round trip once started: room for a probe and for uneven acks. */
const CWND_GAIN = 2;
/** Startup ends when the rate has not grown by this factor for FULL_BW_ROUNDS round trips. */
const FULL_BW_GROWTH = 1.25;
const FULL_BW_ROUNDS = 3;
/** How early a frame may leave its paced time: camera timing is uneven. */
const BURST_MS = 10;
/** How far ahead of the model a probing frame may go: a long frame's tenth would queue the next for long. */
const PROBE_AHEAD_MAX_MS = 50;
/** A shorter wait is not worth a timer (timers tick in milliseconds): the frame goes at once. */
const MIN_WAIT_MS = 1;
/** Before anything is measured, heads awaited at once; after, the least the window allows. */
const INITIAL_FRAMES = 1;
/** Heads that must all meet more queue than the model expects before it takes the queue in. */
const ALIGN_SAMPLES = 4;
/** Unexpected queue below this is timing noise. */
const ALIGN_TOLERANCE_MS = 5;
/** A probe that raised the rate estimate this much shows a wider path: search (gently, see SEARCH_GAIN). */
const PROBE_FOUND_MORE = 1.05;
/** A capacity hint this far above the rate estimate, while frames wait, starts a search for the new rate. */
const HINT_SEARCH = 1.5;
/** A capacity sample this often, at least. */
const TAIL_SAMPLE_EVERY_MS = 1000;
/** At most one such search in this long: a hint can mislead (a shaper that lets bursts through). */
const HINT_SEARCH_EVERY_MS = 3000;

export class SendPacer {
  private state: PacerMode = 'startup';
  /** The pacing clock: when the next frame may go. */
  private readyAt = -Infinity;
  /** The model of the bottleneck: when it is done with what was sent, at the estimated rate. */
  private bottleneckFree = -Infinity;
  private correction = 0;
  private readonly unexpected: number[] = [];
  private cycleIndex = 0;
  private cycleStart = 0;
  /** The rate estimate when the current probe cycle began. */
  private cycleBaseBw = 0;
  private fullBw = 0;
  private roundsWithoutGrowth = 0;
  /** Whether the current startup is a later, gentler search (see SEARCH_GAIN). */
  private searching = false;
  private lastCongestionRound = -1;
  private lastHintSearch = -Infinity;
  private lastTailAck = -Infinity;
  /** Whether the model has had a rate to work with. */
  private modelled = false;
  /** The largest recent frame, decaying, so a frame's room is always in the window. */
  private frameBytes = 0;

  constructor(private readonly link: LinkEstimator, private readonly options: PacerOptions) {}

  get mode(): PacerMode {
    return this.state;
  }

  /** Pacing rate in bytes/ms, or undefined while nothing is measured. */
  pacingRate(now: number): number | undefined {
    const bw = this.link.bandwidthRate();
    if (bw === undefined) return undefined;
    const rate = bw * this.pacingGain();
    const cap = this.searchCap(now);
    return cap === undefined ? rate : Math.min(rate, cap);
  }

  /**
   * Whether a frame of `bytes` should have its tail acknowledged too (a capacity sample, see LinkEstimator):
   * when its bytes take longer than a round trip at the rate estimate, so the two acknowledgements cannot
   * bunch, and otherwise one frame a second, so a link that widened shows even while the rate estimate
   * (bounded by what is sent) does not. Where a broker's Nagle delay does bunch them, the sample only comes
   * out low, and a low hint is not acted on.
   */
  wantsTailAck(now: number, bytes: number): boolean {
    const bw = this.link.bandwidthRate();
    const rtt = this.link.minRttMs(now);
    if (bw === undefined || rtt === undefined) return false;
    if (bytes / bw <= Math.max(rtt, 40) && now - this.lastTailAck < TAIL_SAMPLE_EVERY_MS) return false;
    this.lastTailAck = now;
    return true;
  }

  /** Searching for a higher rate, the capacity hint (where it is above the estimate) is as far as it goes. */
  private searchCap(now: number): number | undefined {
    const bw = this.link.bandwidthRate();
    const hint = this.link.capacityHint(now);
    return this.state === 'startup' && bw !== undefined && hint !== undefined && Number.isFinite(hint) && hint >= bw ? hint : undefined;
  }

  /** Bytes the path may hold in flight, or undefined while nothing is measured. */
  window(now: number): number | undefined {
    const bw = this.link.bandwidthRate();
    const rtt = this.link.minRttMs(now);
    if (bw === undefined || rtt === undefined) return undefined;
    return Math.max(CWND_GAIN, this.state === 'startup' ? this.startupGain() : 0) * bw * rtt + this.frameBytes;
  }

  /** Queue that counts as the path narrowing: room for a probe's extra and for acknowledgement noise. */
  queueLimitMs(now: number): number {
    return 40 + 0.5 * (this.link.minRttMs(now) ?? 0);
  }

  /**
   * Whether a frame of `bytes` may go now. Frames in flight are counted by their heads awaiting
   * acknowledgement: a frame whose head is acknowledged is known delivered only when a later head is, so
   * the next frame must be able to go, or nothing more would ever be learnt.
   */
  release(now: number, bytes: number): Release {
    const framesInFlight = this.link.headsAwaited;
    if (framesInFlight >= this.options.maxFramesInFlight) return { now: false, inMs: undefined };
    if (framesInFlight > 0 && this.link.queueDelayMs(now) > this.queueLimitMs(now)) {
      // A queue is building: nothing more goes until acknowledgements show it going down.
      if (this.state === 'probe') this.enter('drain', now);
      return { now: false, inMs: undefined };
    }
    const window = this.window(now);
    if (window === undefined) return framesInFlight < INITIAL_FRAMES ? { now: true } : { now: false, inMs: undefined };
    this.advanceCycle(now);
    // Always room for a frame, so a frame larger than the window cannot stall the stream.
    const windowFull = framesInFlight >= INITIAL_FRAMES && this.link.inFlightBytes + bytes > window;
    // While the path sets the pace the model decides (a probe may run ahead of it); otherwise the pacing clock.
    const gate = this.bottleneckGate(now);
    const wait = (gate > -Infinity ? gate : this.readyAt) - now;
    if ((windowFull || wait >= MIN_WAIT_MS) && this.state === 'probe' && this.shouldSearch(now)) {
      this.enter('startup', now, true);
      return this.release(now, bytes);
    }
    if (windowFull) return { now: false, inMs: undefined };
    return wait >= MIN_WAIT_MS ? { now: false, inMs: wait } : { now: true };
  }

  /** A frame of `bytes` left now. */
  sent(now: number, bytes: number): PacedFrame {
    this.frameBytes = Math.max(bytes, this.frameBytes * 0.95);
    const bw = this.link.bandwidthRate();
    const rate = this.pacingRate(now);
    if (rate !== undefined && rate > 0) this.readyAt = Math.max(this.readyAt, now - BURST_MS) + bytes / rate;
    const queueAhead = Math.max(0, this.bottleneckFree - now);
    this.bottleneckFree = Math.max(this.bottleneckFree, now) + (bw === undefined ? 0 : bytes / bw);
    return { queueAhead, correction: this.correction };
  }

  /**
   * The frame's head was acknowledged: `queueMs` is the queue that stood ahead of it (its round trip above
   * the path's own). Where frames keep meeting more than the model expected, the model takes it in.
   */
  headAcked(queueMs: number, frame: PacedFrame): void {
    if (this.state === 'startup') return;
    // Corrections made since the frame left already account for part of the difference.
    this.unexpected.push(queueMs - frame.queueAhead - (this.correction - frame.correction));
    if (this.unexpected.length > ALIGN_SAMPLES) this.unexpected.shift();
    if (this.unexpected.length < ALIGN_SAMPLES) return;
    const shift = Math.min(...this.unexpected);
    if (shift <= ALIGN_TOLERANCE_MS) return;
    this.correction += shift;
    this.bottleneckFree += shift;
    this.unexpected.length = 0;
  }

  /** A frame is delivered (the estimator has taken its samples); `roundEnded` from LinkEstimator.completed. */
  delivered(now: number, roundEnded: boolean): void {
    const bw = this.link.bandwidthRate();
    if (bw === undefined) return;
    if (!this.modelled) {
      // The first rate: what went out before it is still ahead of the bottleneck, as far as the model knows.
      this.modelled = true;
      this.bottleneckFree = Math.max(this.bottleneckFree, now + this.link.inFlightBytes / bw);
    }
    const queued = this.link.queueDelayMs(now) > this.queueLimitMs(now);
    if (queued && this.link.roundCount > this.lastCongestionRound) {
      // Once a round trip while the queue stands: the delivery rate then is the bottleneck's, and what is in
      // flight still has to go through at it.
      this.lastCongestionRound = this.link.roundCount;
      if (this.state !== 'startup') this.link.bandwidthFell();
      const rate = this.link.bandwidthRate() ?? bw;
      this.bottleneckFree = Math.max(this.bottleneckFree, now + this.link.inFlightBytes / rate);
      this.enter('drain', now);
      return;
    }
    if (this.state === 'startup' && roundEnded) {
      if (bw >= this.fullBw * (this.searching ? SEARCH_GROWTH : FULL_BW_GROWTH)) {
        this.fullBw = bw;
        this.roundsWithoutGrowth = 0;
      } else if (++this.roundsWithoutGrowth >= (this.searching ? SEARCH_ROUNDS : FULL_BW_ROUNDS)) {
        this.enter('drain', now);
      }
    }
    if (this.state === 'drain' && !queued && this.link.inFlightBytes <= this.pathHolds(now)) this.enter('probe', now);
    if (this.state === 'probe' && !this.link.appLimited && bw >= PROBE_FOUND_MORE * this.cycleBaseBw) {
      this.enter('startup', now, true);
      return;
    }
    this.advanceCycle(now);
  }

  /**
   * While the path sets the pace, a frame goes only when the bottleneck (as modelled) is about to be free, so
   * it never waits in a queue: it waits here instead, where a newer frame can still replace it. A probe may
   * run ahead by its extra; startup and a camera-paced stream with no queue are not held by the model (its
   * rate is then only a lower bound).
   */
  private bottleneckGate(now: number): number {
    // A standing queue says the path sets the pace, however the last frames went.
    const cameraPaced = this.link.appLimited && this.link.queueDelayMs(now) < this.queueLimitMs(now) / 2;
    if (this.state === 'startup' || cameraPaced) return -Infinity;
    const gain = this.pacingGain();
    return this.bottleneckFree - (gain > 1 ? Math.min((gain - 1) * this.phaseMs(now), PROBE_AHEAD_MAX_MS) : 0);
  }

  /**
   * Frames are being held back: search for a higher rate if the estimate may be too low, because the camera
   * set the pace when it was made (it now asks for more: a quality step up, a busier scene) or the path's
   * capacity hint shows more (a link that widened).
   */
  private shouldSearch(now: number): boolean {
    if (this.link.appLimited) return true;
    const hint = this.link.capacityHint(now);
    const bw = this.link.bandwidthRate();
    if (hint === undefined || bw === undefined || hint < HINT_SEARCH * bw || now - this.lastHintSearch < HINT_SEARCH_EVERY_MS) return false;
    this.lastHintSearch = now;
    return true;
  }

  private enter(mode: PacerMode, now: number, searching = false): void {
    this.state = mode;
    if (mode === 'startup') {
      this.searching = searching;
      this.fullBw = searching ? this.link.bandwidthRate() ?? 0 : 0;
      this.roundsWithoutGrowth = 0;
    }
    if (mode === 'probe') {
      // Start at a gain-1 phase, not in the middle of a probe.
      this.cycleIndex = 2;
      this.cycleStart = now;
      this.cycleBaseBw = this.link.bandwidthRate() ?? 0;
    }
  }

  private pacingGain(): number {
    switch (this.state) {
      case 'startup': return this.startupGain();
      case 'drain': return 0.75;
      case 'probe': return PROBE_GAINS[this.cycleIndex]!;
    }
  }

  private startupGain(): number {
    return this.searching ? SEARCH_GAIN : STARTUP_GAIN;
  }

  /** Rate × round trip plus a frame: what keeps the bottleneck busy without a queue. */
  private pathHolds(now: number): number {
    return (this.link.bandwidthRate() ?? 0) * (this.link.minRttMs(now) ?? 0) + this.frameBytes;
  }

  /** A probe phase lasts a round trip, and at least one frame's time, so that each phase paces a frame. */
  private phaseMs(now: number): number {
    const bw = this.link.bandwidthRate() ?? Infinity;
    return Math.max(this.link.minRttMs(now) ?? 0, this.frameBytes / bw, 10);
  }

  private advanceCycle(now: number): void {
    if (this.state !== 'probe') return;
    const gain = PROBE_GAINS[this.cycleIndex]!;
    // The giving-back phase ends as soon as nothing is queued: holding frames back then would only drop them.
    const drained = gain < 1 && this.link.inFlightBytes <= this.pathHolds(now);
    if (now - this.cycleStart >= this.phaseMs(now) || drained) {
      this.cycleIndex = (this.cycleIndex + 1) % PROBE_GAINS.length;
      this.cycleStart = now;
      if (this.cycleIndex === 0) this.cycleBaseBw = this.link.bandwidthRate() ?? 0;
    }
  }
}
