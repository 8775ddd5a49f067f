import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../../common/logger.js';
import { CameraProcessError } from './capture-errors.js';
import { deathGuardOfKind, detectDeathGuard, type DeathGuard, type DeathGuardKind, type Watchdog } from './death-guard.js';
import { findExecutable } from './find-executable.js';
import { StderrLines } from './stderr-lines.js';

/**
 * Keeps one camera program running for as long as the agent runs: the single place where capture backends
 * spawn children.
 *
 * - Spawned with an argument array (no shell, nothing to quote), stdin closed, stdout to the caller, stderr as
 *   log lines.
 * - Restarted when it exits, or when it stalls: the caller reports progress (a frame) with noteProgress(); no
 *   progress for `stallTimeoutMs` (or `startupTimeoutMs` before a run's first frame) counts as a hang.
 * - Restart delays grow exponentially with jitter (so several agents on one host do not retry in lock step) and
 *   reset once a run has been healthy for a while.
 * - A program that never produces a frame `maxFailedStarts` times in a row is given up on (missing camera,
 *   wrong flags, no permission): start() rejects, or onFatal is called if start() already resolved.
 * - stop(): SIGTERM, then SIGKILL after `stopTimeoutMs`; idempotent; nothing is restarted once stopping began.
 * - The child dies with the agent even if the agent is SIGKILLed (see death-guard.ts).
 */

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export interface SupervisedProcessOptions {
  /** For logs and errors, e.g. "rpicam-vid". */
  name: string;
  /** Program name (searched on PATH) or path. */
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  onStdout: (chunk: Buffer) => void;
  /** Each (re)start, before any of the new run's output arrives. */
  onSpawn?: (pid: number) => void;
  /** The supervisor gave up after start() had resolved. */
  onFatal?: (error: CameraProcessError) => void;
  stallTimeoutMs: number;
  /** Allowance for a run's first frame (camera start-up); defaults to stallTimeoutMs. */
  startupTimeoutMs?: number;
  stopTimeoutMs?: number;
  backoff?: Partial<BackoffPolicy>;
  maxFailedStarts?: number;
  /** A run that produced frames for this long resets the backoff. */
  healthyAfterMs?: number;
  deathGuard?: DeathGuard | DeathGuardKind;
  /** Jitter source, replaceable in tests. */
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, factor: 2 };

interface Run {
  child: ChildProcess;
  startedAt: number;
  lastProgressAt: number;
  progressed: boolean;
  stalled: boolean;
  ended: boolean;
  stderr: StderrLines;
  watchdog?: Watchdog;
  killTimer?: NodeJS.Timeout;
  endWaiters: Array<() => void>;
}

export class SupervisedProcess {
  private readonly options: SupervisedProcessOptions;
  private readonly logger: Logger;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private executable = '';
  private guard: DeathGuard | undefined;
  private run: Run | undefined;
  private stopping = false;
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  private settleStart: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;
  private failedStarts = 0;
  private restartCount = 0;
  private lastTail: string[] = [];

  constructor(options: SupervisedProcessOptions) {
    this.options = options;
    this.logger = options.logger;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.random = options.random ?? Math.random;
  }

  /** Pid of the running child (the camera program itself, also under setpriv, which execs it). */
  get pid(): number | undefined {
    return this.run && !this.run.ended ? this.run.child.pid : undefined;
  }

  /** How many times the program was started again after the first start. */
  get restarts(): number {
    return this.restartCount;
  }

  get guardKind(): DeathGuardKind | undefined {
    return this.guard?.kind;
  }

  /** Spawns the program. Resolves at the first progress report; rejects if the program cannot be run. */
  start(): Promise<void> {
    this.startPromise ??= new Promise<void>((resolve, reject) => {
      this.settleStart = { resolve, reject };
      void this.begin();
    });
    return this.startPromise;
  }

  /** The caller saw output that proves the program works (a frame). */
  noteProgress(): void {
    const run = this.run;
    if (!run || run.ended) return;
    run.lastProgressAt = Date.now();
    if (run.progressed) return;
    run.progressed = true;
    this.failedStarts = 0;
    if (this.restartCount > 0) this.logger.info('producing frames again', { name: this.options.name, pid: run.child.pid, restarts: this.restartCount });
    this.settleStart?.resolve();
    this.settleStart = undefined;
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.shutdown();
    return this.stopPromise;
  }

  private async begin(): Promise<void> {
    try {
      const found = await findExecutable(this.options.command, this.options.env?.PATH ?? process.env.PATH);
      if (!found) throw new CameraProcessError(`${this.options.command} not found on PATH`, this.options.command);
      this.executable = found;
      const guard = this.options.deathGuard;
      this.guard = typeof guard === 'object' ? guard : guard ? await deathGuardOfKind(guard) : await detectDeathGuard();
    } catch (error) {
      this.giveUp(error instanceof CameraProcessError ? error : new CameraProcessError(String((error as Error).message ?? error), this.options.command, [], { cause: error }));
      return;
    }
    if (this.stopping) return;
    this.logger.debug('parent-death guard', { name: this.options.name, guard: this.guard.kind });
    const checkEvery = Math.max(50, Math.min(1000, Math.floor(this.options.stallTimeoutMs / 4)));
    this.stallTimer = setInterval(() => this.checkStall(), checkEvery);
    this.stallTimer.unref();
    this.spawnRun();
  }

  private spawnRun(): void {
    this.restartTimer = undefined;
    if (this.stopping || !this.guard) return;
    const { command, args } = this.guard.wrap(this.executable, this.options.args);
    // The unit has NotifyAccess=all for systemd-notify; a camera program must not be able to speak for us.
    const { NOTIFY_SOCKET: _notify, WATCHDOG_USEC: _usec, WATCHDOG_PID: _pid, ...env } = this.options.env ?? process.env;
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const now = Date.now();
    const run: Run = {
      child,
      startedAt: now,
      lastProgressAt: now,
      progressed: false,
      stalled: false,
      ended: false,
      stderr: new StderrLines({ logger: this.logger, fields: { name: this.options.name, pid: child.pid ?? 0 } }),
      endWaiters: [],
    };
    this.run = run;
    child.on('error', (error) => this.endRun(run, null, null, error));
    child.on('close', (code, signal) => this.endRun(run, code, signal));
    if (child.pid === undefined) return; // 'error' follows
    this.logger.info('started', { name: this.options.name, pid: child.pid, args: this.options.args.join(' ') });
    run.watchdog = this.guard.attach(child);
    child.stderr!.on('data', (chunk: Buffer) => run.stderr.push(chunk));
    this.options.onSpawn?.(child.pid);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (!run.ended) this.options.onStdout(chunk);
    });
  }

  private endRun(run: Run, code: number | null, signal: NodeJS.Signals | null, error?: Error): void {
    if (run.ended) return;
    run.ended = true;
    if (run.killTimer) clearTimeout(run.killTimer);
    run.watchdog?.release();
    run.stderr.flush();
    this.lastTail = run.stderr.tail();
    for (const waiter of run.endWaiters) waiter();
    if (this.stopping) return;

    const how = error ? `could not be run: ${error.message}` : run.stalled ? 'stalled (no frames)' : signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const ranMs = Date.now() - run.startedAt;
    if (!run.progressed) this.failedStarts += 1;
    if (run.progressed && ranMs >= (this.options.healthyAfterMs ?? 10_000)) this.consecutiveFailures = 0;
    this.consecutiveFailures += 1;
    const maxFailedStarts = this.options.maxFailedStarts ?? 5;
    if (this.failedStarts >= maxFailedStarts) {
      this.giveUp(new CameraProcessError(`${this.options.name} ${how}; no frame in ${this.failedStarts} attempts, giving up`, this.options.command, this.lastTail));
      return;
    }
    const delay = this.backoffDelay(this.consecutiveFailures);
    this.logger.warn(`${this.options.name} ${how}; restarting`, { pid: run.child.pid, inMs: delay, attempt: this.consecutiveFailures });
    this.restartCount += 1;
    this.restartTimer = setTimeout(() => this.spawnRun(), delay);
  }

  /** Exponential delay with "equal jitter": half fixed, half random, so retries spread but never collapse to 0. */
  private backoffDelay(failures: number): number {
    const { initialMs, maxMs, factor } = this.backoff;
    const base = Math.min(maxMs, initialMs * factor ** Math.max(0, failures - 1));
    return Math.round(base / 2 + this.random() * (base / 2));
  }

  private checkStall(): void {
    const run = this.run;
    if (!run || run.ended || run.stalled || this.stopping) return;
    const limit = run.progressed ? this.options.stallTimeoutMs : (this.options.startupTimeoutMs ?? this.options.stallTimeoutMs);
    const silentMs = Date.now() - run.lastProgressAt;
    if (silentMs <= limit) return;
    run.stalled = true;
    this.logger.warn(`${this.options.name} produced no frame for ${silentMs} ms; killing it`, { pid: run.child.pid });
    this.kill(run);
  }

  /** SIGTERM, then SIGKILL if it is still there after the grace period. Resolves when the run has ended. */
  private kill(run: Run): Promise<void> {
    if (run.ended) return Promise.resolve();
    const ended = new Promise<void>((resolve) => run.endWaiters.push(resolve));
    if (!run.killTimer) {
      run.child.kill('SIGTERM');
      run.killTimer = setTimeout(() => {
        if (!run.ended) {
          this.logger.warn(`${this.options.name} ignored SIGTERM; sending SIGKILL`, { pid: run.child.pid });
          run.child.kill('SIGKILL');
        }
      }, this.options.stopTimeoutMs ?? 3000);
    }
    return ended;
  }

  private giveUp(error: CameraProcessError): void {
    this.stopping = true;
    this.clearTimers();
    if (this.settleStart) {
      this.settleStart.reject(error);
      this.settleStart = undefined;
    } else {
      this.logger.error(error.message, { name: this.options.name });
      this.options.onFatal?.(error);
    }
  }

  private clearTimers(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.restartTimer = undefined;
    this.stallTimer = undefined;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.clearTimers();
    // Someone waiting for start() asked to stop meanwhile: that is not a failure.
    this.settleStart?.resolve();
    this.settleStart = undefined;
    const run = this.run;
    if (run && !run.ended) {
      await this.kill(run);
      this.logger.info('stopped', { name: this.options.name, pid: run.child.pid });
    }
  }
}
