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

/**
 * Shortest and longest time one connection attempt may take, from opening the socket to the broker's
 * CONNACK. A short first limit matters under load: a SYN the loaded machine drops is retried by the kernel
 * only after 1 s, then 3 s and 7 s, so an attempt could hang for seconds (or MQTT.js's whole connect timeout)
 * while a fresh attempt would get through at once. Each attempt that runs out doubles the limit, so a slow
 * link (a long round trip, a slow TLS handshake) still connects on a later attempt.
 */
export const CONNECT_TIMEOUT_MIN_MS = 1000;
export const CONNECT_TIMEOUT_MAX_MS = 5000;

/** The time limit of the next connection attempt: doubles after each attempt that ran out, back to the minimum on success. */
export class ConnectTimeout {
  private current: number;

  constructor(private readonly minMs = CONNECT_TIMEOUT_MIN_MS, private readonly maxMs = CONNECT_TIMEOUT_MAX_MS) {
    this.current = minMs;
  }

  get ms(): number {
    return this.current;
  }

  ranOut(): void {
    this.current = Math.min(this.maxMs, this.current * 2);
  }

  reset(): void {
    this.current = this.minMs;
  }
}
