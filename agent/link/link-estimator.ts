import { WindowedExtreme } from './windowed-filter.js';

/**
 * What the sender learns about its path to the broker from the acknowledgements of its frames, in the way
 * BBR reasons (Cardwell et al., "BBR: Congestion-Based Congestion Control", ACM Queue 2016).
 *
 * Each frame starts with a small head chunk sent at QoS 1, the one acknowledged chunk of the frame. Over
 * one TCP connection the broker handles messages in order, so the head's PUBACK says two things:
 * - the **round trip**: it comes back one round trip, plus whatever queue stood ahead of the head, after
 *   the frame was handed over, whatever the frame's size. The least of the last 10 s is the path's own round
 *   trip; the least of the last round trip or so is the "standing" one, and the difference is the queue the
 *   path holds now (ack timing noise shows in single samples, not in a minimum);
 * - **delivery**: the broker has every frame sent before this one. Bytes delivered per second over an
 *   interval of at least a round trip (so bunched acknowledgements do not inflate it), the largest of the
 *   last 10 round trips, is the bottleneck rate as far as the sender has used it: samples taken while the
 *   camera, not the path, set the pace (app-limited) may raise the estimate but never lower it.
 *
 * Some frames also have their small tail chunk acknowledged (those that take longer than a round trip on
 * the path, and one a second otherwise, see SendPacer.wantsTailAck): the time between the head's and the
 * tail's acknowledgements is the time the frame's bytes took through the bottleneck, a **capacity hint**
 * that holds even while the camera sends less than the path could carry. Not every frame: a second PUBACK
 * close behind the first waits for the sender's TCP acknowledgement of it wherever the broker keeps Nagle's
 * algorithm on (Mosquitto's default), up to 40 ms or a round trip, and every frame's delivery would then be
 * learnt late. (For a long frame the sender is still sending when the head's PUBACK arrives, so its
 * acknowledgement goes at once.)
 *
 * Times are milliseconds (performance.now); rates are bytes per millisecond (= kB/s).
 */

/** What the estimator notes when a frame goes out, to turn its acknowledgements into samples later. */
export interface FrameSend {
  /** Bytes of every chunk message of the frame. */
  readonly bytes: number;
  readonly sentAt: number;
  readonly deliveredAtSend: number;
  readonly deliveredTimeAtSend: number;
  readonly firstSentAtSend: number;
  readonly appLimited: boolean;
  /** Bytes after the head chunk message, for a frame whose tail is acknowledged too; 0 otherwise. */
  readonly bytesAfterHead: number;
  headAckedAt: number | undefined;
}

/** How long the path's round trip is remembered: a queue that lasts longer than this becomes the new floor. */
const MIN_RTT_WINDOW_MS = 10_000;
/** Round trips over which the bottleneck rate is the largest sample. */
const BANDWIDTH_WINDOW_ROUNDS = 10;
/** Frames whose head-to-tail time makes up the capacity hint (the median of them): recent enough to follow a change. */
const CAPACITY_SAMPLES = 5;
/** Older head-to-tail times say nothing: a link that widened sends short frames, which are not measured. */
const CAPACITY_MAX_AGE_MS = 6000;
/** Ack times are read from the event loop; below this a head-to-tail time says only "very fast". */
const DISPERSION_FLOOR_MS = 0.25;

export class LinkEstimator {
  private deliveredBytes = 0;
  private deliveredTime = 0;
  private firstSentTime = 0;
  private appLimitedUntil = 0;
  private inFlight = 0;
  private rounds = 0;
  private nextRoundDelivered = 0;
  private latest: number | undefined;
  private readonly minRtt = WindowedExtreme.min({ keepLatest: true });
  private readonly standingRtt = WindowedExtreme.min();
  private readonly bandwidth = WindowedExtreme.max({ keepLatest: true });
  /** Frames whose head is not acknowledged yet, oldest first. */
  private readonly awaitingHead: FrameSend[] = [];
  private readonly capacity: Array<{ at: number; rate: number }> = [];

  /** Bytes sent and not yet known delivered (or given up). */
  get inFlightBytes(): number {
    return this.inFlight;
  }

  /** Round trips counted so far: one ends when a frame sent after the previous one ended is delivered. */
  get roundCount(): number {
    return this.rounds;
  }

  /** Frames whose head is not acknowledged yet. */
  get headsAwaited(): number {
    return this.awaitingHead.length;
  }

  /** Whether the camera, not the path, set the pace of what was sent lately. */
  get appLimited(): boolean {
    return this.appLimitedUntil > 0;
  }

  /** Notes a frame going out. `appLimited`: it went at once, nothing was waiting: the camera sets the pace. */
  sent(bytes: number, bytesAfterHead: number, now: number, appLimited: boolean): FrameSend {
    if (this.inFlight === 0) {
      // After an idle spell, rate samples start from now: the silence says nothing about the path.
      this.firstSentTime = now;
      this.deliveredTime = now;
    }
    this.inFlight += bytes;
    if (appLimited) this.appLimitedUntil = Math.max(this.deliveredBytes + this.inFlight, 1);
    const frame: FrameSend = {
      bytes,
      sentAt: now,
      deliveredAtSend: this.deliveredBytes,
      deliveredTimeAtSend: this.deliveredTime,
      firstSentAtSend: this.firstSentTime,
      appLimited: this.appLimitedUntil > 0,
      bytesAfterHead,
      headAckedAt: undefined,
    };
    this.awaitingHead.push(frame);
    return frame;
  }

  /** The broker acknowledged the frame's head chunk: a round-trip sample. */
  headAcked(frame: FrameSend, now: number): void {
    frame.headAckedAt = now;
    this.forget(frame);
    const rtt = now - frame.sentAt;
    this.minRtt.update(rtt, now, MIN_RTT_WINDOW_MS);
    this.standingRtt.update(rtt, now, this.standingWindow(now));
  }

  /** The broker has all of the frame (a later chunk was acknowledged). Returns whether a round trip ended. */
  completed(frame: FrameSend, now: number): boolean {
    this.inFlight -= frame.bytes;
    this.deliveredBytes += frame.bytes;
    this.deliveredTime = now;
    this.firstSentTime = frame.sentAt;
    let roundEnded = false;
    if (frame.deliveredAtSend >= this.nextRoundDelivered) {
      this.nextRoundDelivered = this.deliveredBytes;
      this.rounds++;
      roundEnded = true;
    }
    this.sampleRate(frame, now);
    if (this.appLimitedUntil > 0 && this.deliveredBytes > this.appLimitedUntil) this.appLimitedUntil = 0;
    return roundEnded;
  }

  /** The broker acknowledged the frame's tail: its bytes took this long through the path after its head. */
  tailAcked(frame: FrameSend, now: number): void {
    if (frame.headAckedAt === undefined || frame.bytesAfterHead === 0) return;
    const dispersion = now - frame.headAckedAt;
    this.capacity.push({ at: now, rate: dispersion < DISPERSION_FLOOR_MS ? Infinity : frame.bytesAfterHead / dispersion });
    if (this.capacity.length > CAPACITY_SAMPLES) this.capacity.shift();
  }

  /**
   * The path's capacity as frames' head-to-tail times of the last few seconds show it, bytes/ms (Infinity:
   * no limit seen), or undefined when too few were measured. A broker's delayed acknowledgement can only
   * make it look lower.
   */
  capacityHint(now: number): number | undefined {
    const recent = this.capacity.filter((c) => now - c.at <= CAPACITY_MAX_AGE_MS).map((c) => c.rate);
    if (recent.length < 3) return undefined;
    recent.sort((a, b) => a - b);
    return recent[Math.floor(recent.length / 2)];
  }

  /** The frame will never be acknowledged (the connection dropped). */
  lost(frame: FrameSend): void {
    this.inFlight -= frame.bytes;
    this.forget(frame);
  }

  /** The path's round trip (the least of the last 10 s), ms. */
  minRttMs(now: number): number | undefined {
    return this.minRtt.get(now, MIN_RTT_WINDOW_MS);
  }

  /**
   * The queue the path holds now, ms (0 when unknown): the recent round trip above the path's own, or, when
   * a head has been waiting for its acknowledgement longer than that, its wait: a queue that builds delays
   * the very acknowledgements that would report it.
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
    const rate = (this.deliveredBytes - frame.deliveredAtSend) / interval;
    this.latest = rate;
    if (!frame.appLimited || rate >= (this.bandwidthRate() ?? 0)) this.bandwidth.update(rate, this.rounds, BANDWIDTH_WINDOW_ROUNDS);
  }

  /** Long enough to hold an undisturbed sample even when acknowledgements come in bunches once a round trip. */
  private standingWindow(now: number): number {
    return Math.max(100, 1.5 * (this.minRtt.get(now, MIN_RTT_WINDOW_MS) ?? 0));
  }
}
