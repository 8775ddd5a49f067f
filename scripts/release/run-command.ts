import { spawn } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) after this long; the error says so. Default 10 minutes. */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  ms: number;
}

/** A command that could not be started, failed, or ran out of time. Carries what is needed to act on it. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderr: string,
    reason: string,
  ) {
    super(`${command}: ${reason}${stderr.trim() ? `\n${tail(stderr, 2000)}` : ''}`);
    this.name = 'CommandError';
  }
}

function tail(text: string, max: number): string {
  return text.length > max ? '…' + text.slice(-max) : text.trimEnd();
}

export function describeCommand(command: string, args: readonly string[]): string {
  return [command, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** Runs a program to completion and collects its output; rejects with CommandError unless it exits 0. */
export function runCommand(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const text = describeCommand(command, args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; if (stderr.length > 200_000) stderr = stderr.slice(-100_000); });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, options.timeoutMs ?? 600_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new CommandError(text, null, null, stderr, `cannot start (${(error as NodeJS.ErrnoException).code ?? error.message})`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      if (timedOut) reject(new CommandError(text, code, signal, stderr, `killed after ${options.timeoutMs ?? 600_000} ms`));
      else if (code !== 0) reject(new CommandError(text, code, signal, stderr, signal ? `killed by ${signal}` : `exited with code ${code}`));
      else resolve({ stdout, stderr, ms });
    });
  });
}
