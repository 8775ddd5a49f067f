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

/**
 * Steps the stream down when the link cannot carry it and back up when it can: first JPEG quality (cheap to
 * change, keeps motion smooth), then the frame rate. The signal is the share of frames the publisher had to
 * replace because the previous one was still being written ("busy" drops), measured per interval.
 *
 * Down after one bad interval (> 20 % busy drops); up after `calm` clean intervals in a row. Each time a
 * step up is undone within two intervals, `calm` doubles (up to 32), so a link at the edge does not make the
 * stream oscillate.
 */
export class AdaptiveQuality {
  private steps: Level[] = [];
  private index = 0;
  private cleanIntervals = 0;
  private calm = 3;
  private intervalsSinceUp = Infinity;

  constructor(
    private readonly bounds: AdaptiveBounds,
    private readonly apply: (changes: ControlChanges) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** The level currently asked for (0 = the configured target). */
  get level(): number {
    return this.index;
  }

  get current(): Level | undefined {
    return this.steps[this.index];
  }

  /** Sets the target (from config or a `set` request) and goes back to level 0. */
  setTarget(target: Level, qualityAdjustable: boolean): void {
    const steps: Level[] = [{ ...target }];
    if (qualityAdjustable) {
      for (let q = target.quality - 15; q > this.bounds.minQuality; q -= 15) steps.push({ quality: q, fps: target.fps });
      if (target.quality > this.bounds.minQuality) steps.push({ quality: this.bounds.minQuality, fps: target.fps });
    }
    const quality = steps.at(-1)!.quality;
    for (let fps = target.fps / 2; fps > this.bounds.minFps; fps /= 2) steps.push({ quality, fps: Math.round(fps * 10) / 10 });
    if (target.fps > this.bounds.minFps) steps.push({ quality, fps: this.bounds.minFps });
    this.steps = steps;
    this.index = 0;
    this.cleanIntervals = 0;
  }

  /** Called once per interval with the frames captured and the busy drops in that interval. */
  async evaluate(captured: number, busyDrops: number): Promise<void> {
    if (this.steps.length === 0 || captured === 0) return;
    this.intervalsSinceUp++;
    const ratio = busyDrops / captured;
    if (ratio > 0.2 && this.index < this.steps.length - 1) {
      if (this.intervalsSinceUp <= 2) this.calm = Math.min(this.calm * 2, 32);
      this.cleanIntervals = 0;
      await this.moveTo(this.index + 1, `link busy: ${Math.round(ratio * 100)}% of frames dropped`);
    } else if (busyDrops === 0 && this.index > 0) {
      if (++this.cleanIntervals >= this.calm) {
        this.cleanIntervals = 0;
        this.intervalsSinceUp = 0;
        await this.moveTo(this.index - 1, 'link recovered');
      }
    } else {
      this.cleanIntervals = 0;
    }
  }

  private async moveTo(index: number, why: string): Promise<void> {
    const from = this.steps[this.index]!;
    const to = this.steps[index]!;
    this.index = index;
    this.logger.info('adaptive quality step', { level: index, quality: to.quality, fps: to.fps, why });
    const changes: ControlChanges = {};
    if (to.quality !== from.quality) changes.quality = to.quality;
    if (to.fps !== from.fps) changes.fps = to.fps;
    await this.apply(changes).catch((error: Error) => this.logger.warn('adaptive step not applied', { error: error.message }));
  }
}
