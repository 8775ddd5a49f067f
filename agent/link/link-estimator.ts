import { WindowedExtreme } from './windowed-filter.js';

/**
 * What the sender learns about the path to the broker from the acknowledgements of its own frames, in the
 * way BBR reasons (Cardwell et al., "BBR: Congestion-Based Congestion Control", 2016):
 *
 * - the **round trip** from each frame's small head chunk (QoS 1): its PUBACK returns one round trip, plus
 *   whatever queue stood ahead of it, after it was sent, whatever the frame's size. The minimum over 10 s is
 *   the path's own round trip; the minimum over the last round trip or so is the "standing" one, and the
 *   difference is the queue the path holds right now (ack timing noise, such as a broker's Nagle delay, shows
 *   in single samples, not in a minimum);
 * - the **delivery rate** from the tail chunk's PUBACK (the frame's last bytes): bytes acknowledged per second
 *   over an interval of at least one round trip, so bunched acknowledgements do not inflate it. Its maximum
 *   over the last 10 round trips is the bottleneck rate, as far as the sender has used it: samples taken
 *   while the camera, not the path, set the pace (app-limited) may raise the estimate but never lower it;
 * - a **capacity hint** from the time between a frame's head and tail acknowledgements: the frame's bytes
 *   passed the bottleneck in that time, so it shows how fast the path could go even while the camera sends
 *   less. Ack timing can distort it, so it is only a hint, used to choose how far to probe upwards.
 *
 * Times are milliseconds (performance.now); rates are bytes per millisecond (= kB/s).
 */

/** What the estimator notes when a frame goes out, to turn its acknowledgements into samples later. */
export interface FrameSend {
  /** Bytes of every chunk message of the frame. */
  readonly bytes: number;
  /** Bytes of the head chunk message, or 0 when the frame went as one chunk. */
  readonly headBytes: number;
  readonly sentAt: number;
  readonly deliveredAtSend: number;
  readonly deliveredTimeAtSend: number;
  readonly firstSentAtSend: number;
  readonly appLimited: boolean;
  headAckedAt: number | undefined;
}

/** How long the path's round trip is remembered: a queue that lasts longer than this becomes the new floor. */
const MIN_RTT_WINDOW_MS = 10_000;
/** Round trips over which the bottleneck rate is the largest sample. */
const BANDWIDTH_WINDOW_ROUNDS = 10;
/** Frames whose head-to-tail time makes up the capacity hint (the median of them): recent enough to follow a change. */
const CAPACITY_SAMPLES = 5;
/** Ack times are read from the event loop; below this a head-to-tail time says only "very fast". */
const DISPERSION_FLOOR_MS = 0.25;

export class LinkEstimator {
  private delivered = 0;
  private deliveredTime = 0;
  private firstSentTime = 0;
  private appLimitedUntil = 0;
  private inFlight = 0;
  private rounds = 0;
  private nextRoundDelivered = 0;
  private latest: number | undefined;
  private readonly minRtt = WindowedExtreme.min();
  private readonly standingRtt = WindowedExtreme.min();
  private readonly bandwidth = WindowedExtreme.max();
  private readonly capacity: number[] = [];
  /** Frames whose head is not acknowledged yet, oldest first (acknowledgements come in order). */
  private readonly awaitingHead: FrameSend[] = [];

  /** Bytes sent and not yet acknowledged (or given up). */
  get inFlightBytes(): number {
    return this.inFlight;
  }

  /** Round trips counted so far: one ends when a frame sent after the previous one ended is acknowledged. */
  get roundCount(): number {
    return this.rounds;
  }

  /** The most recent delivery-rate sample, bytes/ms. */
  get latestRate(): number | undefined {
    return this.latest;
  }

  /** Notes a frame going out. `appLimited`: it went at once, nothing was waiting: the camera sets the pace. */
  sent(bytes: number, headBytes: number, now: number, appLimited: boolean): FrameSend {
    if (this.inFlight === 0) {
      // After an idle spell, rate samples start from now: the silence says nothing about the path.
      this.firstSentTime = now;
      this.deliveredTime = now;
    }
    this.inFlight += bytes;
    if (appLimited) this.appLimitedUntil = Math.max(this.delivered + this.inFlight, 1);
    const frame: FrameSend = {
      bytes,
      headBytes,
      sentAt: now,
      deliveredAtSend: this.delivered,
      deliveredTimeAtSend: this.deliveredTime,
      firstSentAtSend: this.firstSentTime,
      appLimited: this.appLimitedUntil > 0,
      headAckedAt: undefined,
    };
    this.awaitingHead.push(frame);
    return frame;
  }

  /** Whether the camera, not the path, set the pace of what was sent lately. */
  get appLimited(): boolean {
    return this.appLimitedUntil > 0;
  }

  /** The broker acknowledged the frame's head chunk: a round-trip sample. */
  headAcked(frame: FrameSend, now: number): void {
    frame.headAckedAt = now;
    this.forget(frame);
    const rtt = now - frame.sentAt;
    this.minRtt.update(rtt, now, MIN_RTT_WINDOW_MS);
    this.standingRtt.update(rtt, now, this.standingWindow(now));
  }

  /** The broker acknowledged the frame's last chunk: it has the whole frame. Returns whether a round ended. */
  acked(frame: FrameSend, now: number): boolean {
    if (frame.headAckedAt === undefined) this.headAcked(frame, now);
    this.inFlight -= frame.bytes;
    this.delivered += frame.bytes;
    this.deliveredTime = now;
    this.firstSentTime = frame.sentAt;
    let roundEnded = false;
    if (frame.deliveredAtSend >= this.nextRoundDelivered) {
      this.nextRoundDelivered = this.delivered;
      this.rounds++;
      roundEnded = true;
    }
    this.sampleRate(frame, now);
    if (this.appLimitedUntil > 0 && this.delivered > this.appLimitedUntil) this.appLimitedUntil = 0;
    this.sampleCapacity(frame, now);
    return roundEnded;
  }

  /** The frame will never be acknowledged (the connection dropped). */
  lost(frame: FrameSend): void {
    this.inFlight -= frame.bytes;
    this.forget(frame);
  }

  /** The path's round trip (the smallest of the last 10 s), ms. */
  minRttMs(now: number): number | undefined {
    return this.minRtt.get(now, MIN_RTT_WINDOW_MS);
  }

  /**
   * The queue the path holds now, ms (0 when unknown): the recent round trip above the path's own, or, when
   * a head has been waiting for its acknowledgement longer than that, its wait: a queue that builds delays
   * the very acknowledgements that would report it, so waiting for them would notice it a queue too late.
   */
  queueDelayMs(now: number): number {
    const base = this.minRttMs(now);
    if (base === undefined) return 0;
    const standing = this.standingRtt.get(now, this.standingWindow(now)) ?? base;
    const oldest = this.awaitingHead[0];
    const waiting = oldest === undefined ? 0 : now - oldest.sentAt;
    return Math.max(standing, waiting) - base;
  }

  /** The bottleneck rate as far as it has been used, bytes/ms. */
  bandwidthRate(): number | undefined {
    return this.bandwidth.get(this.rounds, BANDWIDTH_WINDOW_ROUNDS);
  }

  /** The path's capacity as the head-to-tail times suggest, bytes/ms (may be Infinity: "no limit seen"). */
  capacityHint(): number | undefined {
    if (this.capacity.length < 3) return undefined;
    const sorted = [...this.capacity].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }

  /**
   * A queue built up although the estimate said there was room: the path narrowed. The estimate falls to
   * what is being delivered now, so the sender stops feeding the queue at once instead of after 10 rounds.
   */
  bandwidthFell(): void {
    if (this.latest === undefined) return;
    this.bandwidth.reset();
    this.bandwidth.update(this.latest, this.rounds, BANDWIDTH_WINDOW_ROUNDS);
  }

  private forget(frame: FrameSend): void {
    const at = this.awaitingHead.indexOf(frame);
    if (at >= 0) this.awaitingHead.splice(at, 1);
  }

  private sampleRate(frame: FrameSend, now: number): void {
    const interval = Math.max(frame.sentAt - frame.firstSentAtSend, now - frame.deliveredTimeAtSend);
    // Shorter than a round trip, the interval measures how acknowledgements were bunched, not the path.
    if (interval <= 0 || interval < (this.minRttMs(now) ?? 0)) return;
    const rate = (this.delivered - frame.deliveredAtSend) / interval;
    this.latest = rate;
    if (!frame.appLimited || rate >= (this.bandwidthRate() ?? 0)) this.bandwidth.update(rate, this.rounds, BANDWIDTH_WINDOW_ROUNDS);
  }

  private sampleCapacity(frame: FrameSend, now: number): void {
    if (frame.headBytes === 0 || frame.headAckedAt === undefined) return;
    const dispersion = now - frame.headAckedAt;
    const sample = dispersion < DISPERSION_FLOOR_MS ? Infinity : (frame.bytes - frame.headBytes) / dispersion;
    this.capacity.push(sample);
    if (this.capacity.length > CAPACITY_SAMPLES) this.capacity.shift();
  }

  /** Long enough to hold an undisturbed sample even when acknowledgements come in bunches once a round trip. */
  private standingWindow(now: number): number {
    return Math.max(100, 1.5 * (this.minRtt.get(now, MIN_RTT_WINDOW_MS) ?? 0));
  }
}
