/**
 * Calls a function at a steady rate. Ticks are scheduled against the start time, so the rate does not
 * drift with the time each tick takes; ticks missed while the event loop was busy are skipped, not bunched.
 */
export class FrameTimer {
  private handle: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private tick = 0;
  private readonly periodMs: number;

  constructor(fps: number) {
    this.periodMs = 1000 / fps;
  }

  get running(): boolean {
    return this.handle !== undefined;
  }

  start(onTick: () => void): void {
    if (this.handle) return;
    this.startedAt = performance.now();
    this.tick = 0;
    const schedule = (): void => {
      const now = performance.now();
      this.tick = Math.max(this.tick + 1, Math.floor((now - this.startedAt) / this.periodMs) + 1);
      this.handle = setTimeout(run, Math.max(0, this.startedAt + this.tick * this.periodMs - now));
    };
    const run = (): void => {
      onTick();
      if (this.handle) schedule();
    };
    this.handle = setTimeout(run, 0);
  }

  stop(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
  }
}
