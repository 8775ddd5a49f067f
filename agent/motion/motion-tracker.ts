import type { Box, MotionEvent } from '../../protocol/motion.js';

export interface TrackerSettings {
  /** Percent of the watched picture that must change for a frame to count as motion. */
  minArea: number;
  /** Seconds motion must go on (frame after frame) before the event starts. */
  minDuration: number;
  /** Seconds without motion before the event ends. */
  hold: number;
}

export interface Sample {
  score: number;
  box: Box | undefined;
  seq: number;
  /** Capture time of the frame, ms since the Unix epoch. */
  atMs: number;
}

interface Run {
  startMs: number;
  seq: number;
  peak: number;
  box: Box | undefined;
  lastMotionMs: number;
}

/**
 * Turns per-frame change scores into motion events: ON once frames with motion have gone on for minDuration
 * (one quiet frame in between starts the count again), OFF once none has come for hold. Pure; times are the
 * frames' capture times, so a replay gives the same events however fast it runs.
 */
export class MotionTracker {
  private settings: TrackerSettings;
  private candidate: Run | undefined;
  private active: (Run & { id: number }) | undefined;
  private nextId = 1;

  constructor(settings: TrackerSettings) {
    this.settings = { ...settings };
  }

  configure(settings: Partial<TrackerSettings>): void {
    this.settings = { ...this.settings, ...settings };
  }

  get inMotion(): boolean {
    return this.active !== undefined;
  }

  /** The event when one starts or ends with this frame, else undefined. */
  update(sample: Sample): MotionEvent | undefined {
    const moving = sample.score >= this.settings.minArea;
    // A clock stepped back: count from the new time rather than wait for the old one.
    if (this.active && sample.atMs < this.active.lastMotionMs) this.active.lastMotionMs = sample.atMs;
    if (this.candidate && sample.atMs < this.candidate.startMs) this.candidate = undefined;
    if (this.active) {
      if (moving) {
        grow(this.active, sample);
        return undefined;
      }
      if (sample.atMs - this.active.lastMotionMs < this.settings.hold * 1000) return undefined;
      const ended = this.active;
      this.active = undefined;
      return toEvent(ended, 'end');
    }
    if (!moving) {
      this.candidate = undefined;
      return undefined;
    }
    if (!this.candidate) this.candidate = { startMs: sample.atMs, seq: sample.seq, peak: 0, box: undefined, lastMotionMs: sample.atMs };
    grow(this.candidate, sample);
    if (sample.atMs - this.candidate.startMs < this.settings.minDuration * 1000) return undefined;
    this.active = { ...this.candidate, id: this.nextId++ };
    this.candidate = undefined;
    return toEvent(this.active, 'start');
  }

  /** Ends an event in progress (the detector stops, or is turned off); undefined when there was none. */
  finish(): MotionEvent | undefined {
    const ended = this.active;
    this.active = undefined;
    this.candidate = undefined;
    return ended ? toEvent(ended, 'end') : undefined;
  }
}

function grow(run: Run, sample: Sample): void {
  run.lastMotionMs = sample.atMs;
  run.peak = Math.max(run.peak, sample.score);
  if (!sample.box) return;
  if (!run.box) { run.box = { ...sample.box }; return; }
  const x = Math.min(run.box.x, sample.box.x);
  const y = Math.min(run.box.y, sample.box.y);
  const right = Math.max(run.box.x + run.box.w, sample.box.x + sample.box.w);
  const bottom = Math.max(run.box.y + run.box.h, sample.box.y + sample.box.h);
  run.box = { x, y, w: right - x, h: bottom - y };
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

function toEvent(run: Run & { id: number }, phase: 'start' | 'end'): MotionEvent {
  const box = run.box ?? { x: 0, y: 0, w: 0, h: 0 };
  return {
    type: 'motion',
    phase,
    id: run.id,
    start: new Date(run.startMs).toISOString(),
    seq: run.seq,
    ...(phase === 'end' ? { end: new Date(run.lastMotionMs).toISOString() } : {}),
    peak: Math.round(run.peak * 100) / 100,
    box: { x: round3(box.x), y: round3(box.y), w: round3(box.w), h: round3(box.h) },
  };
}
