import { spawn } from 'node:child_process';
import systemdNotify from 'systemd-notify';
import type { Logger } from '../common/logger.js';
import type { LifecycleReporter } from './lifecycle.js';

/**
 * Tells systemd how the agent is doing over the sd_notify protocol: READY=1 once frames really go out, STATUS=
 * with a live summary, STOPPING=1 on shutdown, and WATCHDOG=1 only while frames keep being sent, so a stalled
 * camera or a wedged event loop gets the service restarted. Without NOTIFY_SOCKET (not started by systemd as
 * Type=notify) every call is a silent no-op.
 *
 * How a message reaches systemd, and why this way:
 * - Node has no AF_UNIX datagram sockets (core dropped them in 0.5 and never brought them back) and the Pi has
 *   no compiler for a native addon, so nothing in-process can write to NOTIFY_SOCKET. Every message is sent by
 *   the `systemd-notify` binary, one short-lived child per message: READY/STATUS through the `systemd-notify`
 *   npm package (which adds --pid=<our pid>), STOPPING=1 and WATCHDOG=1 by spawning the same binary ourselves,
 *   because the package has no call for them.
 * - The sender is our child, not the unit's main PID, so the unit needs NotifyAccess=all.
 * - The race this implies: PID 1 attributes a datagram to a unit by looking up the sender's PID when it reads
 *   it; a sender that already exited cannot be attributed and its message is dropped. systemd-notify (since
 *   systemd 246) closes the race by default: after the message it sends BARRIER=1 with a pipe and blocks (at most
 *   5 s) until the manager has processed everything before it, so the child is still alive when its message is
 *   attributed. Hence never --no-block. Running as root it could also forge its credentials to our PID; as the
 *   agent's unprivileged user it falls back to its own PID, which the barrier keeps valid.
 * - Messages go one at a time and in order (READY before later STATUS, STOPPING last). A STATUS waiting behind
 *   another one is replaced by the newer text; a watchdog ping is never queued twice.
 * - With NotifyAccess=all every process of the unit may notify, so children that are not ours to trust (camera
 *   programs) should be started without NOTIFY_SOCKET in their environment.
 */

/** One sd_notify message, as fields. */
export interface NotifyMessage {
  ready?: boolean;
  status?: string;
  stopping?: boolean;
  watchdog?: boolean;
}

/** Delivers one message to the service manager; resolves once it was handed over, rejects with NotifyError. */
export interface NotifyTransport {
  send(message: NotifyMessage): Promise<void>;
}

/** A notification that could not be delivered, with the fields it carried. */
export class NotifyError extends Error {
  readonly fields: string;
  constructor(fields: string, reason: string, options?: { cause?: unknown }) {
    super(`systemd notification ${fields} failed: ${reason}`, options);
    this.name = 'NotifyError';
    this.fields = fields;
  }
}

/** The message as the KEY=VALUE lines systemd receives, joined by spaces for logs. */
export function describeMessage(message: NotifyMessage): string {
  return notifyFields(message).join(' ');
}

function notifyFields(message: NotifyMessage): string[] {
  const fields: string[] = [];
  if (message.ready) fields.push('READY=1');
  if (message.stopping) fields.push('STOPPING=1');
  if (message.watchdog) fields.push('WATCHDOG=1');
  if (message.status !== undefined) fields.push(`STATUS=${message.status}`);
  return fields;
}

const STDERR_LIMIT = 4096;

/** Sends through the systemd-notify binary found on PATH (see the module comment for why a child process). */
export class SystemdNotifyBinary implements NotifyTransport {
  /** systemd-notify waits at most 5 s for its barrier; this only catches a child that hangs beyond that. */
  constructor(private readonly timeoutMs = 10_000) {}

  async send(message: NotifyMessage): Promise<void> {
    const fields = describeMessage(message);
    if (message.stopping || message.watchdog) {
      await this.spawnBinary(fields, notifyFields(message));
      return;
    }
    const options: { ready?: boolean; status?: string } = {};
    if (message.ready) options.ready = true;
    if (message.status !== undefined) options.status = message.status;
    try {
      await systemdNotify(options);
    } catch (error) {
      // The package rejects with an Error when spawning fails and with the binary's stderr text otherwise.
      const reason = error instanceof Error ? error.message : String(error).trim() || 'systemd-notify exited non-zero';
      throw new NotifyError(fields, reason, { cause: error });
    }
  }

  private spawnBinary(fields: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let stderr = '';
      const child = spawn('systemd-notify', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      const settle = (error?: NotifyError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (text: string) => {
        if (stderr.length < STDERR_LIMIT) stderr += text;
      });
      child.once('error', (error) => settle(new NotifyError(fields, error.message, { cause: error })));
      child.once('close', (code, signal) => {
        if (code === 0) settle();
        else settle(new NotifyError(fields, stderr.trim() || (signal ? `systemd-notify killed by ${signal}` : `systemd-notify exited with code ${code}`)));
      });
    });
  }
}

export interface SystemdNotifierOptions {
  logger: Logger;
  /** How messages are delivered; the systemd-notify binary unless a test or another platform says otherwise. */
  transport?: NotifyTransport;
}

/** What was sent and withheld, for the agent's stats and for tests. */
export interface NotifierCounters {
  sent: number;
  failed: number;
  watchdogPings: number;
  /** Watchdog periods that ended without a frame sent, so no ping was sent. */
  watchdogWithheld: number;
}

interface Pending {
  message: NotifyMessage;
  done: Promise<void>;
  resolve: () => void;
}

const isStatusOnly = (m: NotifyMessage): boolean => m.status !== undefined && !m.ready && !m.stopping && !m.watchdog;

/** Smallest ping period we accept; a WATCHDOG_USEC below 2 ms is a configuration mistake, not a request. */
const MIN_PING_INTERVAL_MS = 1;

/**
 * The agent's side of systemd supervision. Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the
 * environment once, at construction; systemd-notify children inherit the same environment.
 */
export class SystemdNotifier implements LifecycleReporter {
  /** True when started by systemd with a notify socket. */
  readonly enabled: boolean;
  /** Milliseconds between watchdog checks (half of WatchdogSec), or undefined when the watchdog is off. */
  readonly watchdogIntervalMs: number | undefined;
  readonly counters: NotifierCounters = { sent: 0, failed: 0, watchdogPings: 0, watchdogWithheld: 0 };

  private readonly logger: Logger;
  private readonly transport: NotifyTransport;
  private readonly waiting: Pending[] = [];
  private pumping: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private framesSincePing = 0;
  private pinged = false;
  private stalled = false;
  private lastSendFailed = false;
  private started = false;
  private stoppingSent = false;
  private stopped: Promise<void> | undefined;

  constructor(options: SystemdNotifierOptions) {
    this.logger = options.logger;
    this.transport = options.transport ?? new SystemdNotifyBinary();
    const socket = process.env.NOTIFY_SOCKET;
    this.enabled = socket !== undefined && socket !== '';
    this.watchdogIntervalMs = this.enabled ? watchdogInterval(process.env, this.logger) : undefined;
  }

  /** Starts the watchdog timer when systemd asked for one. Idempotent. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    if (!this.enabled) {
      this.logger.debug('NOTIFY_SOCKET is not set: not supervised by systemd, notifications are off');
      return;
    }
    this.logger.info('systemd notifications on', {
      socket: process.env.NOTIFY_SOCKET,
      watchdogSec: this.watchdogIntervalMs === undefined ? 'off' : (this.watchdogIntervalMs * 2) / 1000,
    });
    if (this.watchdogIntervalMs !== undefined) this.timer = setInterval(() => this.watchdogTick(), this.watchdogIntervalMs);
  }

  /** READY=1 with a status line: call once the broker connection is up and the first frame went out. */
  ready(status: string): Promise<void> {
    if (!this.enabled || this.stopped || this.stoppingSent) return Promise.resolve();
    return this.enqueue({ ready: true, status });
  }

  /** STATUS= with a short live summary, e.g. "streaming 1280x720 @ 29.8 fps". */
  status(text: string): Promise<void> {
    if (!this.enabled || this.stopped) return Promise.resolve();
    return this.enqueue({ status: text });
  }

  /** Counts a frame that was really published; the next watchdog check pings only if this happened. */
  frameSent(): void {
    if (this.enabled && !this.stoppingSent) this.framesSincePing++;
  }

  /** STOPPING=1: shutdown has begun. Ends the watchdog pings. */
  stopping(status = 'stopping'): Promise<void> {
    if (!this.enabled || this.stopped || this.stoppingSent) return Promise.resolve();
    this.stoppingSent = true;
    this.clearTimer();
    return this.enqueue({ stopping: true, status });
  }

  /** Stops the timer and waits until messages already queued were delivered (or failed). Idempotent. */
  stop(): Promise<void> {
    if (!this.stopped) {
      this.clearTimer();
      this.stopped = (this.pumping ?? Promise.resolve()).then(() => undefined);
    }
    return this.stopped;
  }

  private clearTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private watchdogTick(): void {
    if (this.framesSincePing > 0) {
      this.framesSincePing = 0;
      this.pinged = true;
      if (this.stalled) this.logger.info('frames are going out again: watchdog pings resume');
      this.stalled = false;
      this.counters.watchdogPings++;
      void this.enqueue({ watchdog: true });
      return;
    }
    this.counters.watchdogWithheld++;
    if (this.pinged && !this.stalled) {
      this.stalled = true;
      this.logger.warn('no frame sent since the last watchdog ping: withholding WATCHDOG=1, so systemd restarts the agent if this lasts', {
        watchdogSec: (this.watchdogIntervalMs! * 2) / 1000,
      });
    }
  }

  private enqueue(message: NotifyMessage): Promise<void> {
    const last = this.waiting[this.waiting.length - 1];
    if (last && isStatusOnly(last.message) && isStatusOnly(message)) {
      last.message = message;
      return last.done;
    }
    if (message.watchdog) {
      const queued = this.waiting.find((p) => p.message.watchdog);
      if (queued) return queued.done;
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    this.waiting.push({ message, done, resolve });
    this.pumping ??= this.pump();
    return done;
  }

  private async pump(): Promise<void> {
    for (let next = this.waiting.shift(); next; next = this.waiting.shift()) {
      const fields = describeMessage(next.message);
      try {
        await this.transport.send(next.message);
        this.counters.sent++;
        if (this.lastSendFailed) this.logger.info('systemd notifications are delivered again', { fields });
        else this.logger.debug('notified systemd', { fields });
        this.lastSendFailed = false;
      } catch (error) {
        this.counters.failed++;
        // One warning per run of failures: a broken socket would otherwise log every watchdog period.
        if (!this.lastSendFailed) this.logger.warn((error as Error).message);
        else this.logger.debug((error as Error).message);
        this.lastSendFailed = true;
      }
      next.resolve();
    }
    this.pumping = undefined;
  }
}

/** Half of WATCHDOG_USEC in ms when the watchdog is meant for this process, else undefined. */
function watchdogInterval(env: NodeJS.ProcessEnv, logger: Logger): number | undefined {
  const usecText = env.WATCHDOG_USEC;
  if (usecText === undefined || usecText === '') return undefined;
  const pid = env.WATCHDOG_PID;
  if (pid !== undefined && pid !== '' && pid !== String(process.pid)) {
    // sd_watchdog_enabled() semantics: the variables were meant for another process (e.g. a wrapper) that exec'd us.
    logger.debug('WATCHDOG_PID names another process: watchdog is not ours to ping', { watchdogPid: pid, pid: process.pid });
    return undefined;
  }
  const usec = Number(usecText);
  if (!/^\d+$/.test(usecText) || !Number.isSafeInteger(usec) || usec <= 0) {
    logger.warn('WATCHDOG_USEC is not a positive whole number of microseconds: watchdog pings are off', { WATCHDOG_USEC: usecText });
    return undefined;
  }
  return Math.max(MIN_PING_INTERVAL_MS, Math.floor(usec / 2000));
}
