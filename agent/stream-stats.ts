import type { CameraStats } from '../protocol/messages.js';

/**
 * Why a captured frame was not sent, one reason per pipeline stage that can drop it (agent/pipeline.ts):
 * rate-limit: adaptive quality's frame-rate limit let it pass by (the camera runs faster than frames go out);
 * processing-busy: the processing step was still on an earlier frame; bad-frame: the processing step could not
 * decode the camera's frame; offline: no broker, or the agent was stopping; busy: the link had a frame in
 * flight and a newer one replaced this; too-large: over the broker's packet limit.
 */
export const DROP_REASONS = ['offline', 'busy', 'too-large', 'processing-busy', 'bad-frame', 'rate-limit'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/**
 * The one counter of the outgoing stream: every frame the camera gives is counted `captured` once, where it
 * enters the pipeline, and later either `sent` or `dropped` with a reason by the stage that let it go. So
 * captured = sent + dropped + pending at every instant, pending being the few frames inside the pipeline.
 * Also the rates over a window that the stats document closes.
 */
export class StreamStats {
  framesCaptured = 0;
  framesSent = 0;
  chunksSent = 0;
  bytesSent = 0;
  bytesCaptured = 0;
  readonly drops = Object.fromEntries(DROP_REASONS.map((reason) => [reason, 0])) as Record<DropReason, number>;
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

  /** Frames captured and neither sent nor dropped yet: inside the pipeline (processing, waiting, in flight). */
  get framesPending(): number {
    return this.framesCaptured - this.framesSent - this.framesDropped;
  }

  /** The frame rate of the last closed window (0 before the first window closed). */
  lastWindowFps(): number {
    return this.lastFps;
  }

  /** Closes the current rate window (call once per stats interval) and returns the stats document. */
  takeWindow(extra: Record<string, unknown> = {}): CameraStats {
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
