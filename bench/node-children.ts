import { spawn, type ChildProcess } from 'node:child_process';

// Node child processes of a benchmark (viewer, cameras), killed with it even when it dies: a benchmark that
// fails half-way must not leave 16 cameras streaming.
const running = new Set<ChildProcess>();
process.once('exit', () => { for (const child of running) child.kill('SIGKILL'); });

/**
 * Starts `node [nodeFlags] args`; resolves once its output (stdout or stderr) matches `readyLine`, rejects when it
 * exits first or is not ready in 60 s. `onOutput` sees everything it prints (for example --trace-gc lines).
 */
export function startNodeChild(args: string[], readyLine: RegExp, what: string, options: { nodeFlags?: string[]; onOutput?: (text: string) => void } = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} not ready in 60 s:\n${out.slice(-2000)}`)), 60_000);
    let ready = false;
    const onData = (d: Buffer): void => {
      const text = d.toString();
      options.onOutput?.(text);
      if (ready) return;
      out = (out + text).slice(-8000);
      if (readyLine.test(out)) { ready = true; clearTimeout(timer); resolve(child); }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited (${code}):\n${out.slice(-2000)}`)); });
  });
}

/** SIGTERM, then SIGKILL after 5 s; resolves once it exited. Does nothing for a child already gone. */
export async function stopNodeChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
