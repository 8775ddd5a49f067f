/**
 * The largest (or smallest) sample of a sliding window, in O(1) amortised per sample: a deque in which each
 * sample outlives the older ones it beats. The window is measured on whatever axis the caller passes as `at`
 * (milliseconds, or round trips) and may change from call to call. With `keepLatest`, the latest sample
 * always counts, so a window that saw no sample lately reports the last one rather than nothing.
 */
export class WindowedExtreme {
  private readonly at: number[] = [];
  private readonly values: number[] = [];
  private head = 0;

  /** `beats(a, b)`: sample a makes an older sample b useless (a >= b for a maximum). */
  private constructor(private readonly beats: (a: number, b: number) => boolean, private readonly keepLatest: boolean) {}

  static max(options: { keepLatest?: boolean } = {}): WindowedExtreme {
    return new WindowedExtreme((a, b) => a >= b, options.keepLatest ?? false);
  }

  static min(options: { keepLatest?: boolean } = {}): WindowedExtreme {
    return new WindowedExtreme((a, b) => a <= b, options.keepLatest ?? false);
  }

  update(value: number, at: number, window: number): void {
    this.expire(at, window);
    while (this.values.length > this.head && this.beats(value, this.values[this.values.length - 1]!)) {
      this.values.pop();
      this.at.pop();
    }
    this.values.push(value);
    this.at.push(at);
  }

  /** The extreme of the samples no older than `window` before `at` (and the latest one, with keepLatest). */
  get(at: number, window: number): number | undefined {
    this.expire(at, window);
    return this.head < this.values.length ? this.values[this.head] : undefined;
  }

  /** Forgets every sample. */
  reset(): void {
    this.values.length = 0;
    this.at.length = 0;
    this.head = 0;
  }

  private expire(at: number, window: number): void {
    const keep = this.keepLatest ? 1 : 0;
    while (this.head < this.values.length - keep && this.at[this.head]! < at - window) this.head++;
    if (this.head > 64 && this.head * 2 > this.values.length) {
      this.values.splice(0, this.head);
      this.at.splice(0, this.head);
      this.head = 0;
    }
  }
}
