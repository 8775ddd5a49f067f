import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { runCommand, type RunResult } from '../../scripts/release/run-command.js';

/**
 * Node.js of a foreign Debian root, run by qemu user-mode emulation without binfmt_misc:
 * `qemu-<arch>-static -cpu <model> -L ROOT ROOT/usr/bin/node ...`. With -L the emulated program's dynamic
 * loader, libraries and /etc come from ROOT (host paths are the fallback), so the release's native code meets
 * the target's glibc. Programs it starts are not emulated, which the agent's synthetic source does not need.
 */

export interface EmulationSpec {
  qemu: string;
  cpu: string;
  root: string;
}

export type QemuCheck = { ok: true; version: string } | { ok: false; reason: string };

/** Whether this machine can run the emulator at all; the only reason the arch test may skip. */
export async function checkQemu(binary: string): Promise<QemuCheck> {
  try {
    const { stdout } = await runCommand(binary, ['--version'], { timeoutMs: 10_000 });
    return { ok: true, version: stdout.split('\n')[0]!.trim() };
  } catch (error) {
    return { ok: false, reason: `${binary} cannot run here (${(error as Error).message.split('\n')[0]}); install qemu-user-static` };
  }
}

/** Environment for the emulated program: nothing of the host's but what a service would have. */
function guestEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', HOME: '/tmp', ...extra };
}

function qemuArgs(spec: EmulationSpec, nodeArgs: readonly string[]): string[] {
  return ['-cpu', spec.cpu, '-L', spec.root, path.join(spec.root, 'usr/bin/node'), ...nodeArgs];
}

export function runEmulatedNode(spec: EmulationSpec, nodeArgs: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return runCommand(spec.qemu, qemuArgs(spec, nodeArgs), { env: guestEnv(options.env ?? {}), timeoutMs: options.timeoutMs ?? 120_000 });
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StopResult extends ExitStatus {
  /** True when the program ignored the signal for graceMs and was killed. */
  forced: boolean;
}

/**
 * A long-running emulated Node program (the agent). qemu forwards signals to the guest, so SIGTERM reaches
 * the agent's own handler. stop() is idempotent and always leaves no process behind.
 */
export class EmulatedProcess {
  private child: ChildProcess | undefined;
  private exit: Promise<ExitStatus> | undefined;
  private outputText = '';

  constructor(private readonly spec: EmulationSpec, private readonly nodeArgs: readonly string[], private readonly env: NodeJS.ProcessEnv = {}) {}

  start(): void {
    if (this.child) throw new Error('EmulatedProcess already started');
    const child = spawn(this.spec.qemu, qemuArgs(this.spec, this.nodeArgs), { env: guestEnv(this.env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const collect = (text: string): void => {
      this.outputText += text;
      if (this.outputText.length > 1_000_000) this.outputText = this.outputText.slice(-500_000);
    };
    child.stdout!.setEncoding('utf8').on('data', collect);
    child.stderr!.setEncoding('utf8').on('data', collect);
    this.exit = new Promise((resolve) => {
      child.once('error', (error) => { collect(`\n[spawn error: ${error.message}]\n`); resolve({ code: null, signal: null }); });
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  output(): string {
    return this.outputText;
  }

  running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves when the program has exited. */
  exited(): Promise<ExitStatus> {
    if (!this.exit) throw new Error('EmulatedProcess not started');
    return this.exit;
  }

  /**
   * Sends a signal and waits up to graceMs for the exit, then SIGKILLs. Returns how it ended (undefined if
   * never started); a second call returns the same result without signalling again.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000): Promise<StopResult | undefined> {
    if (!this.child || !this.exit) return undefined;
    this.stopping ??= this.halt(this.child, this.exit, signal, graceMs);
    return this.stopping;
  }

  private stopping: Promise<StopResult> | undefined;

  private async halt(child: ChildProcess, exit: Promise<ExitStatus>, signal: NodeJS.Signals, graceMs: number): Promise<StopResult> {
    if (this.running()) child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), graceMs); });
    const first = await Promise.race([exit, timedOut]);
    clearTimeout(timer);
    if (first !== 'timeout') return { ...first, forced: false };
    child.kill('SIGKILL');
    return { ...(await exit), forced: true };
  }
}
