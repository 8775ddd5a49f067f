import type { Box, Zone } from '../../protocol/motion.js';

/** A small greyscale picture: one byte per pixel, row by row. */
export interface GreyImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** Capture time, ms (the model's background follows time, not frame counts). */
  atMs: number;
}

export interface ChangeScore {
  /** Changed area, percent of the watched (unmasked) picture. */
  score: number;
  /** Bounding box of the changed pixels, relative coordinates; undefined when none changed. */
  box: Box | undefined;
  /** The brightness gain that was taken out as a global light change (1: none). */
  gain: number;
}

export interface ModelSettings {
  /** Brightness difference (0–255) from the background for a pixel to count as changed. */
  threshold: number;
  mask: readonly Zone[];
}

/**
 * Time constants of the running background. Quiet pixels follow the scene within seconds (shadows, slow
 * light); changed pixels follow it only slowly, so something that moves stays foreground, while something
 * that arrives and stays (a parked car) becomes background after about a minute.
 */
const QUIET_TAU_MS = 4_000;
const CHANGED_TAU_MS = 60_000;
/** A changed pixel counts only with at least this many changed neighbours (of 8): lone pixels are noise. */
const MIN_NEIGHBOURS = 3;

/**
 * Running-background change detector on small greyscale frames. Pure: no I/O, no timers.
 *
 * Per frame: a global light change (clouds, auto-exposure) is taken out first, as a gain (ratio of mean
 * brightness) and then an offset (median difference), both over the watched pixels; what still differs from
 * the background by more than the threshold, and has changed neighbours, is change. The score is its share of
 * the watched picture. Because the frames come from a 1/8-scale decode, each pixel already averages 64 of the
 * camera's, which takes most sensor noise out before this step.
 */
export class BackgroundModel {
  private background: Float32Array | undefined;
  private watched: Uint8Array | undefined;
  private watchedCount = 0;
  private changed = new Uint8Array(0);
  private width = 0;
  private height = 0;
  private lastAtMs = 0;
  private settings: ModelSettings;

  constructor(settings: ModelSettings) {
    this.settings = { threshold: settings.threshold, mask: [...settings.mask] };
  }

  /** New threshold or mask, from the next frame (a new mask keeps the background). */
  configure(settings: Partial<ModelSettings>): void {
    this.settings = { threshold: settings.threshold ?? this.settings.threshold, mask: settings.mask ? [...settings.mask] : this.settings.mask };
    if (settings.mask && this.width > 0) this.buildMask();
  }

  /** Forgets the background: the next frame starts a new one. */
  reset(): void {
    this.background = undefined;
  }

  /** Scores a frame against the background, then lets the background learn from it. */
  analyze(image: GreyImage): ChangeScore {
    const { data, width, height } = image;
    if (!this.background || width !== this.width || height !== this.height) {
      this.width = width;
      this.height = height;
      this.background = Float32Array.from(data);
      this.changed = new Uint8Array(width * height);
      this.buildMask();
      this.lastAtMs = image.atMs;
      return { score: 0, box: undefined, gain: 1 };
    }
    const bg = this.background;
    const watched = this.watched!;
    const n = width * height;
    if (this.watchedCount === 0) return { score: 0, box: undefined, gain: 1 };

    let sumFrame = 0;
    let sumBg = 0;
    for (let i = 0; i < n; i++) {
      if (watched[i]) { sumFrame += data[i]!; sumBg += bg[i]!; }
    }
    const gain = sumFrame > 0 ? Math.min(4, Math.max(0.25, sumBg / sumFrame)) : 1;
    // Median of the remaining differences, from a histogram (the moving part is a minority of the picture).
    const histogram = new Uint32Array(512);
    for (let i = 0; i < n; i++) {
      if (!watched[i]) continue;
      const d = Math.round(data[i]! * gain - bg[i]!);
      histogram[Math.max(-255, Math.min(256, d)) + 255]!++;
    }
    let offset = 0;
    for (let bin = 0, seen = 0; bin < 512; bin++) {
      seen += histogram[bin]!;
      if (seen * 2 >= this.watchedCount) { offset = bin - 255; break; }
    }

    const threshold = this.settings.threshold;
    const changed = this.changed;
    for (let i = 0; i < n; i++) {
      changed[i] = watched[i] && Math.abs(data[i]! * gain - offset - bg[i]!) > threshold ? 1 : 0;
    }
    let count = 0;
    let minX = width, minY = height, maxX = -1, maxY = -1;
    const kept = new Uint8Array(n);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        if (!changed[i]) continue;
        let neighbours = 0;
        for (let dy = -1; dy <= 1; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= height) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if ((dx === 0 && dy === 0) || xx < 0 || xx >= width) continue;
            neighbours += changed[yy * width + xx]!;
          }
        }
        if (neighbours < MIN_NEIGHBOURS) continue;
        kept[i] = 1;
        count++;
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }

    const dt = Math.max(0, image.atMs - this.lastAtMs);
    this.lastAtMs = image.atMs;
    const quiet = 1 - Math.exp(-dt / QUIET_TAU_MS);
    const slow = 1 - Math.exp(-dt / CHANGED_TAU_MS);
    for (let i = 0; i < n; i++) {
      // The background learns the raw frame: after a light change it settles at the new level, and the gain
      // taken out above returns to 1.
      bg[i]! += (kept[i] ? slow : quiet) * (data[i]! - bg[i]!);
    }
    const box = count === 0 ? undefined : { x: minX / width, y: minY / height, w: (maxX - minX + 1) / width, h: (maxY - minY + 1) / height };
    return { score: (100 * count) / this.watchedCount, box, gain };
  }

  private buildMask(): void {
    const { width, height } = this;
    const watched = new Uint8Array(width * height).fill(1);
    for (const zone of this.settings.mask) {
      const x0 = Math.floor(zone.x * width);
      const y0 = Math.floor(zone.y * height);
      const x1 = Math.min(width, Math.ceil((zone.x + zone.w) * width));
      const y1 = Math.min(height, Math.ceil((zone.y + zone.h) * height));
      for (let y = y0; y < y1; y++) watched.fill(0, y * width + x0, y * width + x1);
    }
    this.watched = watched;
    this.watchedCount = watched.reduce((sum, v) => sum + v, 0);
  }
}
