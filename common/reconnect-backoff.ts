/**
 * Delays between reconnect attempts: exponential from `minMs` to `maxMs`, each multiplied by a random
 * factor in [0.5, 1] so that many cameras do not hit a restarted broker in the same instant.
 */
export class ReconnectBackoff {
  private attempt = 0;

  constructor(private readonly minMs = 500, private readonly maxMs = 30_000, private readonly random: () => number = Math.random) {}

  next(): number {
    const ceiling = Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(ceiling * (0.5 + this.random() / 2));
  }

  reset(): void {
    this.attempt = 0;
  }
}
