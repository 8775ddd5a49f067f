import fs from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ): 100 on every Linux architecture Node runs on. */
const USER_HZ = 100;

/** CPU time (user + system) another process has used so far, in µs; undefined when it cannot be read. */
export function processCpuUs(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after its closing parenthesis are plain.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1e6) / USER_HZ : undefined;
  } catch {
    return undefined;
  }
}
