import type { CameraStats } from '../protocol/messages.js';

/**
 * offline: no broker; busy: the link had a frame in flight and a newer one replaced this; too-large: over the
 * broker's packet limit; processing-busy: the processing step was still on an earlier frame; bad-frame: the
 * processing step could not decode the camera's frame.
 */
export type DropReason = 'offline' | 'busy' | 'too-large' | 'processing-busy' | 'bad-frame';

/** Counters of the outgoing stream, and the rates derived from them between two snapshots. */
export class StreamStats {
  framesCaptured = 0;
  framesSent = 0;
  chunksSent = 0;
  bytesSent = 0;
  bytesCaptured = 0;
  readonly drops: Record<DropReason, number> = { offline: 0, busy: 0, 'too-large': 0, 'processing-busy': 0, 'bad-frame': 0 };
  private readonly startedAt: number;
  private windowStart: number;
  private windowFrames = 0;
  private windowBytes = 0;
  private lastFps = 0;
  private lastKbps = 0;

  constructor(readonly streamId: number, private readonly now: () => number = () => performance.now()) {
    this.startedAt = now();
    this.windowStart = this.startedAt;
  }

  captured(bytes: number): void {
    this.framesCaptured++;
    this.bytesCaptured += bytes;
  }

  sent(bytes: number, chunks: number): void {
    this.framesSent++;
    this.chunksSent += chunks;
    this.bytesSent += bytes;
    this.windowFrames++;
    this.windowBytes += bytes;
  }

  dropped(reason: DropReason): void {
    this.drops[reason]++;
  }

  get framesDropped(): number {
    let total = 0;
    for (const count of Object.values(this.drops)) total += count;
    return total;
  }

  /** The frame rate of the last closed window (0 before the first snapshot). */
  snapshotFps(): number {
    return this.lastFps;
  }

  /** Closes the current rate window (call once per stats interval) and returns the stats document. */
  snapshot(extra: Record<string, unknown> = {}): CameraStats {
    const now = this.now();
    const seconds = (now - this.windowStart) / 1000;
    if (seconds > 0) {
      this.lastFps = this.windowFrames / seconds;
      this.lastKbps = (this.windowBytes * 8) / 1000 / seconds;
    }
    this.windowStart = now;
    this.windowFrames = 0;
    this.windowBytes = 0;
    return {
      streamId: this.streamId,
      uptimeS: Math.round((now - this.startedAt) / 1000),
      fps: round(this.lastFps),
      kbps: round(this.lastKbps),
      framesCaptured: this.framesCaptured,
      framesSent: this.framesSent,
      framesDropped: this.framesDropped,
      bytesSent: this.bytesSent,
      drops: { ...this.drops },
      ...extra,
    };
  }
}

const round = (n: number): number => Math.round(n * 10) / 10;
