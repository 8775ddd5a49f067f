import type { Logger } from '../common/logger.js';
import type { ControlChanges } from '../protocol/control.js';

export interface AdaptiveBounds {
  minQuality: number;
  minFps: number;
}

export interface Level {
  quality: number;
  fps: number;
}

/** What the link did in one interval, as the publisher saw it. */
export interface LinkWindow {
  seconds: number;
  /** Frames and bytes the current settings put in front of the link (offered to the publisher). */
  offeredFrames: number;
  offeredBytes: number;
  /** Bytes of frames the broker acknowledged. */
  deliveredBytes: number;
  /** Frames the publisher dropped because the link had no room for them. */
  busyDrops: number;
  /** The capacity the path showed, bytes/s (Infinity: no limit seen), or undefined when unknown. */
  capacity: number | undefined;
  /** The publisher's estimate of the rate the path delivers, bytes/s, or undefined before it has one. */
  rate: number | undefined;
  /** The publisher is still finding the path's rate: drops say little yet. */
  measuring: boolean;
}

/** Below this share of what the settings need, the link is too narrow for them. */
const SHORT = 0.85;
/** Of the measured delivery rate, what new settings may use: the rest absorbs uneven frames. */
const BUDGET = 0.9;
/** Frames dropped in an interval that still count as a clean one (a single late frame). */
const CLEAN_DROP_SHARE = 0.02;
/** Predicted size change per quality step when that quality was never seen: a cautious guess (busy scenes shrink more). */
const UNSEEN_STEP_RATIO = 0.9;
/** A shortfall below this share of the need is acted on at once; a milder one must last two intervals. */
const SEVERE = 0.6;
const MAX_CALM = 16;
/** The lowest frame rate a step may name (the option's own minimum). */
const LOWEST_FPS = 0.1;
/** Most steps a blind probe upwards takes at once, after probes that held. */
const MAX_STRIDE = 4;
/** Of a capacity hint, what a step up may plan for: a frame rate exactly, an unseen quality with a margin. */
const FPS_HINT_BUDGET = 0.92;
const QUALITY_HINT_BUDGET = 0.8;
/** A capacity hint below this share of the delivery rate contradicts it: ignored. */
const HINT_AGREES = 0.9;
/** A trusted hint this many times what the settings need steps up without waiting out `calm`. */
const PLENTY = 2;
/** A frame-rate change smaller than this share is not worth making: the settings would never settle. */
const FPS_HYSTERESIS = 0.1;
/** Intervals for which capacity hints are ignored once one led to a step that had to be undone. */
const HINT_IGNORED_INTERVALS = 30;

/**
 * Steps the stream down when the link cannot carry it and back up when it can: JPEG quality first (in steps
 * of 15, down to `minQuality`: keeps motion smooth), then the frame rate, to what the link delivers (below
 * `minFps` the agent stops choosing frames: the link takes the newest whenever it has room). It adapts to bandwidth only: the signal is the delivery rate the broker acknowledges against
 * the bytes the current settings need, so a long but wide link (many frames in flight, see FramePublisher)
 * keeps full quality and rate.
 *
 * Down: when the link delivers less than 85 % of what the settings need (two intervals in a row: one may be
 * the publisher still opening up; or once, below 60 %), at once to the settings that fit 90 % of the delivery
 * rate (sizes of qualities seen before are remembered; unseen ones are guessed).
 * Up: after `calm` clean intervals: straight to the highest settings the path's capacity hint carries
 * (FramePublisher measures it from head-to-tail acknowledgements), or, without a hint it can trust,
 * probing blind: one step (the frame rate doubling back, or one quality step), two after a probe that held,
 * then four. A step up undone within two intervals doubles `calm` (up to 16) and starts again from one
 * step, so a link at the edge does not make the stream oscillate; if a hint led it, hints are ignored for
 * 30 intervals (a shaper that lets short bursts through at full speed makes frames look fast).
 */
export class AdaptiveQuality {
  private qualities: number[] = [];
  private qualityIndex = 0;
  private targetFps = 0;
  private fps = 0;
  private readonly frameBytesAt = new Map<number, number>();
  private cleanIntervals = 0;
  private calm = 1;
  private intervalsSinceUp = Infinity;
  private stride = 1;
  /** The previous interval fell short too (a mild shortfall is acted on only the second time). */
  private wasShort = false;
  private lastUpByHint = false;
  private hintIgnoredFor = 0;
  /** The last interval's settings were being changed: its frame sizes mix two qualities. */
  private changed = false;

  constructor(
    private readonly bounds: AdaptiveBounds,
    private readonly apply: (changes: ControlChanges) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** 0 at the configured settings; one more per quality step, and one more while the frame rate is lowered. */
  get level(): number {
    return this.qualityIndex + (this.fps < this.targetFps ? 1 : 0);
  }

  get current(): Level {
    return { quality: this.qualities[this.qualityIndex] ?? 0, fps: this.fps };
  }

  /** Sets the target (from config or a `set` request) and goes back to it. */
  setTarget(target: Level, qualityAdjustable: boolean): void {
    const qualities = [target.quality];
    if (qualityAdjustable) {
      for (let q = target.quality - 15; q > this.bounds.minQuality; q -= 15) qualities.push(q);
      if (target.quality > this.bounds.minQuality) qualities.push(this.bounds.minQuality);
    }
    this.qualities = qualities;
    this.qualityIndex = 0;
    this.targetFps = target.fps;
    this.fps = target.fps;
    this.cleanIntervals = 0;
    this.stride = 1;
    this.changed = true;
  }

  /** Called once per interval with what the link did in it. */
  async evaluate(w: LinkWindow): Promise<void> {
    if (this.qualities.length === 0 || w.offeredFrames === 0 || w.seconds <= 0) return;
    const quality = this.current.quality;
    // Right after a change an interval mixes two qualities: its sizes are kept only when nothing better is known.
    if (!this.changed || !this.frameBytesAt.has(quality)) this.frameBytesAt.set(quality, w.offeredBytes / w.offeredFrames);
    this.changed = false;
    this.intervalsSinceUp++;
    if (this.hintIgnoredFor > 0) this.hintIgnoredFor--;
    const delivered = w.deliveredBytes / w.seconds;
    // Below minFps every camera frame is offered and the link takes what it can: what the stream needs is
    // then the rate named, and dropped frames say nothing.
    const linkPaced = this.fps < this.bounds.minFps;
    const needed = linkPaced ? this.need(this.qualityIndex, this.fps) : w.offeredBytes / w.seconds;
    const falling = delivered < SHORT * needed && (linkPaced || w.busyDrops > 0);
    // One mild shortfall may be the publisher still opening up to the path (after a start or a step up).
    const short = falling && (this.wasShort || delivered < SEVERE * needed);
    this.wasShort = falling;
    const clean = linkPaced ? delivered >= (1 - CLEAN_DROP_SHARE) * needed : w.busyDrops <= CLEAN_DROP_SHARE * w.offeredFrames;
    if (short) {
      // While the publisher searches for the path's rate, frames it holds back say little about the link.
      if (w.measuring) return;
      this.cleanIntervals = 0;
      if (this.intervalsSinceUp <= 2) {
        this.calm = Math.min(this.calm * 2, MAX_CALM);
        if (this.lastUpByHint) this.hintIgnoredFor = HINT_IGNORED_INTERVALS;
      }
      this.stride = 1;
      // An interval may have spent part of its time finding the rate: the publisher's estimate is the better measure.
      const carries = Math.max(delivered, Math.min(w.rate ?? 0, needed));
      await this.stepDown(carries * BUDGET, `link delivers ${kbps(carries)} of the ${kbps(needed)} the stream needs`);
    } else if (clean) {
      // A trusted hint of plenty more room is no probe at the edge: it need not wait out `calm`.
      const plenty = this.trusted(w.capacity, delivered) !== undefined && w.capacity! >= PLENTY * needed;
      if (this.level > 0 && (++this.cleanIntervals >= this.calm || plenty)) {
        this.cleanIntervals = 0;
        this.intervalsSinceUp = 0;
        await this.stepUp(w.capacity, delivered);
      }
    } else {
      this.cleanIntervals = 0;
    }
  }

  /** The highest settings whose need fits `budget` bytes/s: lower quality first, then a lower frame rate. */
  private async stepDown(budget: number, why: string): Promise<void> {
    let index = this.qualityIndex;
    while (index < this.qualities.length - 1 && this.need(index, this.fps) > budget) index++;
    let fps = this.fps;
    // Below minFps the agent stops choosing frames (see agent.ts): the rate is then only what the link carries.
    if (this.need(index, fps) > budget) fps = clampFps(budget / this.frameBytes(index), LOWEST_FPS, this.fps);
    if (index === this.qualityIndex && fps > (1 - FPS_HYSTERESIS) * this.fps) return;
    await this.moveTo(index, fps, why);
  }

  /** Upwards: the frame rate back first, then quality; as far as a trusted capacity hint carries, else by `stride` steps. */
  private async stepUp(capacity: number | undefined, delivered: number): Promise<void> {
    const ladder = this.ladderUp();
    const hint = this.trusted(capacity, delivered);
    this.lastUpByHint = hint !== undefined;
    if (hint !== undefined) {
      const to = this.highestCarried(ladder, hint);
      if (to) await this.moveTo(to.index, to.fps, hint === Infinity ? 'link has room: no limit seen' : `link has room: capacity about ${kbps(hint)}`);
      return;
    }
    const to = ladder[Math.min(this.stride, ladder.length) - 1]!;
    this.stride = Math.min(this.stride * 2, MAX_STRIDE);
    await this.moveTo(to.index, to.fps, 'link has room: probing');
  }

  /** The capacity hint, where it agrees with what is delivered and has not misled lately. */
  private trusted(capacity: number | undefined, delivered: number): number | undefined {
    return capacity !== undefined && capacity >= HINT_AGREES * delivered && this.hintIgnoredFor === 0 ? capacity : undefined;
  }

  /** The highest rung the capacity carries: a frame rate exactly, a quality step with a margin (its size is a guess until seen). */
  private highestCarried(ladder: Array<{ index: number; fps: number }>, capacity: number): { index: number; fps: number } | undefined {
    let to: { index: number; fps: number } | undefined;
    for (const rung of ladder) {
      const sameQuality = rung.index === this.qualityIndex;
      const budget = capacity * (sameQuality ? FPS_HINT_BUDGET : QUALITY_HINT_BUDGET);
      if (this.need(rung.index, rung.fps) <= budget) {
        to = rung;
        continue;
      }
      if (sameQuality) {
        const fps = clampFps(budget / this.frameBytes(rung.index), LOWEST_FPS, rung.fps);
        if (fps > (1 + FPS_HYSTERESIS) * (to?.fps ?? this.fps)) to = { index: rung.index, fps };
      }
      break;
    }
    return to;
  }

  /** The settings above the current ones, nearest first: the frame rate doubling back, then each quality. */
  private ladderUp(): Array<{ index: number; fps: number }> {
    const ladder: Array<{ index: number; fps: number }> = [];
    let fps = this.fps;
    while (fps < this.targetFps) {
      fps = Math.min(this.targetFps, clampFps(fps * 2, LOWEST_FPS, this.targetFps));
      ladder.push({ index: this.qualityIndex, fps });
    }
    for (let index = this.qualityIndex - 1; index >= 0; index--) ladder.push({ index, fps: this.targetFps });
    return ladder;
  }

  private need(index: number, fps: number): number {
    return this.frameBytes(index) * fps;
  }

  /** Bytes per frame at a quality: as last seen, else guessed from the nearest quality seen. */
  private frameBytes(index: number): number {
    const seen = this.frameBytesAt.get(this.qualities[index]!);
    if (seen !== undefined) return seen;
    const known = this.qualities.map((q, i) => ({ i, bytes: this.frameBytesAt.get(q) })).filter((k) => k.bytes !== undefined);
    if (known.length === 0) return 0;
    const nearest = known.reduce((a, b) => (Math.abs(b.i - index) < Math.abs(a.i - index) ? b : a));
    return nearest.bytes! * UNSEEN_STEP_RATIO ** (index - nearest.i);
  }

  private async moveTo(index: number, fps: number, why: string): Promise<void> {
    const from = this.current;
    this.qualityIndex = index;
    this.fps = fps;
    this.changed = true;
    const to = this.current;
    this.logger.info('adaptive quality step', { level: this.level, quality: to.quality, fps: to.fps, why });
    const changes: ControlChanges = {};
    if (to.quality !== from.quality) changes.quality = to.quality;
    if (to.fps !== from.fps) changes.fps = to.fps;
    await this.apply(changes).catch((error: Error) => this.logger.warn('adaptive step not applied', { error: error.message }));
  }
}

function clampFps(fps: number, min: number, max: number): number {
  return Math.round(Math.min(max, Math.max(min, fps)) * 10) / 10;
}

const kbps = (bytesPerSecond: number): string => (bytesPerSecond === Infinity ? 'no limit' : `${Math.round((bytesPerSecond * 8) / 1000)} kbit/s`);
