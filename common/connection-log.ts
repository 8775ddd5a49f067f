import type { Logger } from './logger.js';

/** A connection that closes sooner than this after the broker accepted it did not really work. */
const SHORT_LIVED_MS = 2000;
/**
 * Unexplained failures in a row before the log says so: one can be a broker restarting under the
 * attempt; three are a broker refusing this client.
 */
const WARN_AFTER = 3;

/**
 * What the log says about one broker connection's troubles: each distinct reason at warn level once per
 * outage (a broker that stays down must not flood the journal), including the refusals MQTT.js reports
 * with no error at all: a connection closed before the broker accepted it, or closed again and again soon
 * after it did.
 */
export class ConnectionLog {
  private readonly logged = new Set<string>();
  private connectedAt: number | undefined;
  /** The current connection has lasted: whatever goes wrong next starts a new outage. */
  private stable = false;
  private errorThisAttempt = false;
  private shortLivedInARow = 0;
  private closedUnacceptedInARow = 0;
  private timeoutsInARow = 0;

  constructor(
    private readonly logger: Logger,
    private readonly url: string,
    private readonly now: () => number = Date.now,
  ) {}

  connected(): void {
    this.connectedAt = this.now();
    this.stable = false;
    this.closedUnacceptedInARow = 0;
    this.timeoutsInARow = 0;
  }

  /** A failed attempt, with what to do about it (connectionHint). */
  error(error: Error, hint: string | undefined): void {
    this.checkStable();
    // A broker that closes a connection at once (max_connections) resets it instead when the CONNECT has already
    // arrived, as it often has on a busy machine: before the CONNACK that is the same unexplained refusal as a
    // plain close, and counted with those by closed().
    const code = (error as NodeJS.ErrnoException).code;
    if (this.connectedAt === undefined && (code === 'ECONNRESET' || code === 'EPIPE')) return;
    this.errorThisAttempt = true;
    this.warnOnce(error.message, { error: error.message, hint });
  }

  /** An attempt got no CONNACK within its time limit: one can be a loaded machine, several in a row are worth a line. */
  timedOut(limitMs: number): void {
    this.checkStable();
    this.errorThisAttempt = true;
    if (++this.timeoutsInARow === WARN_AFTER) {
      this.warnOnce('timed out', {
        error: `no answer from the broker within the connect timeout, ${WARN_AFTER} times in a row (the last one ${limitMs} ms)`,
        hint: 'the broker host or the network is down, or something swallows the connection (a firewall that drops instead of refusing); retrying with longer time limits',
      });
    }
  }

  /** Call on every close. Returns whether the connection had lasted, so the reconnect backoff may start over. */
  closed(): boolean {
    this.checkStable();
    const { connectedAt, stable: lasted, errorThisAttempt } = this;
    this.connectedAt = undefined;
    this.stable = false;
    this.errorThisAttempt = false;
    if (connectedAt === undefined) {
      if (!errorThisAttempt && ++this.closedUnacceptedInARow === WARN_AFTER) {
        this.warnOnce('closed before accepted', {
          error: `the connection was closed before the broker accepted it, ${WARN_AFTER} times in a row`,
          hint: 'the broker (or a proxy in front of it) refused this client without saying why: see its log (e.g. max_connections reached)',
        });
      }
      return false;
    }
    if (!lasted && ++this.shortLivedInARow === WARN_AFTER) {
      this.warnOnce('short-lived', {
        error: `the broker closed the connection within ${SHORT_LIVED_MS / 1000} s of accepting it, ${WARN_AFTER} times in a row`,
        hint: 'a message larger than its max_packet_size (over MQTT 3.1.1 a broker does not tell its limit: lower chunkSize, or use MQTT 5), or an ACL plugin that disconnects; see the broker log',
      });
    }
    return lasted;
  }

  private checkStable(): void {
    if (this.stable || this.connectedAt === undefined || this.now() - this.connectedAt < SHORT_LIVED_MS) return;
    this.stable = true;
    this.shortLivedInARow = 0;
    this.logged.clear();
  }

  private warnOnce(reason: string, fields: { error: string; hint: string | undefined }): void {
    if (this.logged.has(reason)) return;
    this.logged.add(reason);
    this.logger.warn('broker connection problem', { url: this.url, ...fields });
  }
}
