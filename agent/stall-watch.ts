/**
 * Notices a camera that stopped delivering frames (a dead or hung capture program, a file source that ran
 * out) and one that came back. The agent turns the changes into a log line, the `stalled` field of its
 * stats and the systemd status text; the systemd watchdog is fed only by frames sent, so it starves by
 * itself while the camera is stalled.
 */
export interface StallWatchOptions {
  /** No frame for this long means stalled. */
  timeoutMs: number;
  now?: () => number;
}

export type StallChange = { stalled: true; sinceLastFrameMs: number } | { stalled: false; stalledForMs: number };

export class StallWatch {
  private timer: NodeJS.Timeout | undefined;
  private lastFrameAt: number;
  private stalledAt = 0;
  private readonly now: () => number;
  stalled = false;
  /** How many times the source stalled since start. */
  stalls = 0;

  constructor(private readonly options: StallWatchOptions, private readonly onChange: (change: StallChange) => void) {
    this.now = options.now ?? (() => performance.now());
    this.lastFrameAt = this.now();
  }

  /** Starts the clock now: a source that never delivers a frame is stalled after the timeout. Idempotent. */
  start(): void {
    if (this.timer) return;
    this.lastFrameAt = this.now();
    // Checked a few times per timeout so a stall is reported at most a quarter late.
    this.timer = setInterval(() => this.check(), Math.max(50, Math.min(1000, this.options.timeoutMs / 4)));
  }

  frameArrived(): void {
    const now = this.now();
    this.lastFrameAt = now;
    if (this.stalled) {
      this.stalled = false;
      this.onChange({ stalled: false, stalledForMs: now - this.stalledAt });
    }
  }

  /** Milliseconds since the last frame (or since start). */
  get sinceLastFrameMs(): number {
    return this.now() - this.lastFrameAt;
  }

  check(): void {
    const since = this.sinceLastFrameMs;
    if (this.stalled || since < this.options.timeoutMs) return;
    this.stalled = true;
    this.stalls++;
    this.stalledAt = this.now();
    this.onChange({ stalled: true, sinceLastFrameMs: since });
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
