import type { Logger } from '../../common/logger.js';
import type { MotionChanges, MotionEvent, MotionSettings, MotionState, MotionStats } from '../../protocol/motion.js';
import type { CapturedFrame } from '../capture/frame-source.js';
import { BackgroundModel } from './background-model.js';
import { MotionTracker } from './motion-tracker.js';
import { decodeSmall, MotionDecodeError } from './small-decode.js';

export interface MotionOptions extends MotionSettings {
  /** Frames analysed per second at most; the others go by untouched. */
  fps: number;
}

/** What the detector needs from the agent: somewhere to publish and to log. */
export interface MotionContext {
  /** Publishes the retained state (`motion` topic) or an event document (`event` topic). Must not throw. */
  publish(kind: 'motion' | 'event', payload: string, retain: boolean): void;
  logger: Logger;
}

interface Pending {
  frame: CapturedFrame;
  seq: number;
}

const FAILURE_LOG_INTERVAL_MS = 10_000;

/**
 * Motion detection beside the stream (opt-in): takes frames as they go to the publisher (the very same
 * buffers, never copied, never changed), analyses at most `fps` of them a second, one at a time; when an
 * analysis is still running, a newer frame replaces the one waiting (newest wins) and the replaced one is
 * counted as skipped. The stream never waits for it. Publishes `ON`/`OFF` (retained) and an event document
 * at each start and end.
 */
export class MotionDetector {
  private readonly model: BackgroundModel;
  private readonly tracker: MotionTracker;
  private settings: MotionSettings;
  private running = false;
  private busy: Promise<void> | undefined;
  private waiting: Pending | undefined;
  private lastAcceptedUs = -Infinity;
  private lastScore = 0;
  private counters = { analysed: 0, skipped: 0, failed: 0, events: 0 };
  private window = { startedMs: performance.now(), frames: 0, ms: 0, peak: 0 };
  private failureLoggedAt = -Infinity;

  constructor(private readonly options: MotionOptions, private readonly context: MotionContext) {
    this.settings = { threshold: options.threshold, minArea: options.minArea, minDuration: options.minDuration, hold: options.hold, mask: [...options.mask] };
    this.model = new BackgroundModel({ threshold: options.threshold, mask: options.mask });
    this.tracker = new MotionTracker(options);
  }

  get state(): MotionState {
    return this.tracker.inMotion ? 'ON' : 'OFF';
  }

  get current(): Readonly<MotionSettings> {
    return this.settings;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.context.logger.info('motion detection on', { fps: this.options.fps, threshold: this.settings.threshold, minArea: this.settings.minArea, zones: this.settings.mask.length });
  }

  /** Publishes the retained state; the agent calls it on every connect, so a restarted broker learns it anew. */
  announce(): void {
    this.context.publish('motion', this.state, true);
  }

  /** The hook: a frame on its way to the publisher, with its `seq`. Returns at once. */
  offer(frame: CapturedFrame, seq: number): void {
    if (!this.running) return;
    // A little under the interval, so a camera at exactly the analysis rate is not halved by jitter. A clock
    // that stepped back (NTP after boot) must not stop the analysis until it catches up.
    const since = frame.capturedAtUs - this.lastAcceptedUs;
    if (since >= 0 && since < (0.9 * 1e6) / this.options.fps) return;
    this.lastAcceptedUs = frame.capturedAtUs;
    if (this.busy) {
      if (this.waiting) this.counters.skipped++;
      this.waiting = { frame, seq };
      return;
    }
    this.run({ frame, seq });
  }

  /** Applies live changes (a `set` request); returns the settings now in force. */
  apply(changes: MotionChanges): MotionSettings {
    this.settings = { ...this.settings, ...changes, mask: changes.mask ? [...changes.mask] : this.settings.mask };
    this.model.configure({ threshold: changes.threshold, mask: changes.mask });
    this.tracker.configure({ minArea: changes.minArea, minDuration: changes.minDuration, hold: changes.hold });
    this.context.logger.info('motion settings changed', { threshold: this.settings.threshold, minArea: this.settings.minArea, minDuration: this.settings.minDuration, hold: this.settings.hold, zones: this.settings.mask.length });
    return this.settings;
  }

  /** The stats field; closes the timing window. */
  takeStats(): MotionStats {
    const now = performance.now();
    const w = this.window;
    const stats: MotionStats = {
      state: this.state,
      score: round2(this.lastScore),
      peak: round2(w.peak),
      ...this.counters,
      analysisMs: w.frames > 0 ? round2(w.ms / w.frames) : 0,
      busyPct: now > w.startedMs ? round2((100 * w.ms) / (now - w.startedMs)) : 0,
    };
    this.window = { startedMs: now, frames: 0, ms: 0, peak: 0 };
    return stats;
  }

  /** Waits for the analysis in progress, ends an event in progress (publishes it and OFF). Idempotent. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.waiting = undefined;
    await this.busy;
    const ended = this.tracker.finish();
    if (ended) this.emit(ended);
  }

  private run(job: Pending): void {
    const started = performance.now();
    this.busy = this.analyse(job)
      .catch((error: unknown) => this.onFailure(error))
      .finally(() => {
        this.window.ms += performance.now() - started;
        this.window.frames++;
        this.busy = undefined;
        const next = this.waiting;
        this.waiting = undefined;
        if (next && this.running) this.run(next);
      });
  }

  private async analyse({ frame, seq }: Pending): Promise<void> {
    const atMs = frame.capturedAtUs / 1000;
    const image = await decodeSmall(frame.data, atMs);
    if (!this.running) return;
    const { score, box } = this.model.analyze(image);
    this.counters.analysed++;
    this.lastScore = score;
    this.window.peak = Math.max(this.window.peak, score);
    const event = this.tracker.update({ score, box, seq, atMs });
    if (event) this.emit(event);
  }

  private emit(event: MotionEvent): void {
    if (event.phase === 'start') this.counters.events++;
    this.context.logger.info(event.phase === 'start' ? 'motion started' : 'motion ended', { id: event.id, seq: event.seq, peak: event.peak });
    // The event first: a receiver that reacts to ON finds the event's frame number already there.
    this.context.publish('event', JSON.stringify(event), false);
    this.context.publish('motion', event.phase === 'start' ? 'ON' : 'OFF', true);
  }

  private onFailure(error: unknown): void {
    this.counters.failed++;
    const now = performance.now();
    if (now - this.failureLoggedAt < FAILURE_LOG_INTERVAL_MS) return;
    this.failureLoggedAt = now;
    const detail = error instanceof MotionDecodeError ? { bytes: error.bytes } : {};
    this.context.logger.warn('motion analysis could not read a frame', { error: (error as Error).message, failed: this.counters.failed, ...detail });
  }
}

const round2 = (n: number): number => Math.round(n * 100) / 100;
