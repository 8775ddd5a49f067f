/** Events and bytes per second over a sliding window, for the fps and kbit/s a viewer shows. */
export class RateMeter {
  private readonly times: number[] = [];
  private readonly sizes: number[] = [];

  constructor(private readonly windowMs = 2000, private readonly maxSamples = 512) {}

  add(now: number, bytes: number): void {
    this.times.push(now);
    this.sizes.push(bytes);
    if (this.times.length > this.maxSamples) { this.times.shift(); this.sizes.shift(); }
  }

  /** [events per second, bits per second] over the window ending now. */
  rates(now: number): { perSecond: number; bitsPerSecond: number } {
    while (this.times.length > 0 && this.times[0]! < now - this.windowMs) { this.times.shift(); this.sizes.shift(); }
    if (this.times.length === 0) return { perSecond: 0, bitsPerSecond: 0 };
    const span = Math.max(now - this.times[0]!, this.windowMs / 2) / 1000;
    let bytes = 0;
    for (const s of this.sizes) bytes += s;
    return { perSecond: this.times.length / span, bitsPerSecond: (bytes * 8) / span };
  }
}
