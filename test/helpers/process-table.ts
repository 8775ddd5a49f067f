import fs from 'node:fs';

/** Process-table helpers for tests that must prove no camera process outlives its owner. Linux /proc only. */

interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
}

function readStat(pid: number): ProcInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ..."; comm may contain spaces and parentheses, so split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, state: rest[0]!, ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

function allProcesses(): ProcInfo[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readStat(Number(name)))
    .filter((p): p is ProcInfo => p !== undefined);
}

/** Live (non-zombie) descendants of `pid`. */
export function descendants(pid: number): number[] {
  const procs = allProcesses();
  const children = new Map<number, ProcInfo[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: number[] = [];
  const walk = (parent: number): void => {
    for (const child of children.get(parent) ?? []) {
      if (child.state !== 'Z') out.push(child.pid);
      walk(child.pid);
    }
  };
  walk(pid);
  return out;
}

/** True while the process exists and is not a zombie (an orphan's zombie may linger if init does not reap). */
export function isAlive(pid: number): boolean {
  const info = readStat(pid);
  return info !== undefined && info.state !== 'Z';
}

export function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Live processes whose command line contains `needle` among the given pids. */
export function withCommand(pids: number[], needle: string): number[] {
  return pids.filter((pid) => commandLine(pid).includes(needle));
}
