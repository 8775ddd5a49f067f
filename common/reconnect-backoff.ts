/**
 * Shortest and longest wait before a reconnect attempt. The ceiling is low on purpose: a camera must be
 * streaming again within about 2 s of its broker or network coming back (the wait after the last failed
 * attempt is at most the ceiling), and one connection attempt a second per camera is no load for a broker.
 */
export const RECONNECT_MIN_MS = 200;
export const RECONNECT_MAX_MS = 1000;

/**
 * Delays between reconnect attempts: exponential from `minMs` to `maxMs`, each multiplied by a random
 * factor in [0.5, 1] so that many cameras do not hit a restarted broker in the same instant.
 */
export class ReconnectBackoff {
  private attempt = 0;

  constructor(
    private readonly minMs = RECONNECT_MIN_MS,
    private readonly maxMs = RECONNECT_MAX_MS,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const ceiling = Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(ceiling * (0.5 + this.random() / 2));
  }

  reset(): void {
    this.attempt = 0;
  }
}
