import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ProbeSample } from './process-probe.js';
import { ROOT } from './processes.js';

export type { ProbeSample };

/**
 * Environment that makes a node program write probe samples (see process-probe.ts) to a new temp file;
 * `gc` makes each sample follow a full garbage collection (live memory, not the collector's sawtooth).
 */
export function probeEnv(name: string, intervalMs = 1000, gc = false): { env: NodeJS.ProcessEnv; samples: () => ProbeSample[]; file: string } {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'picam-probe-')), `${name}.jsonl`);
  const probe = pathToFileURL(path.join(ROOT, 'dist/test/helpers/process-probe.js')).href;
  return {
    file,
    env: { NODE_OPTIONS: `${gc ? '--expose-gc ' : ''}--import=${probe}`, PICAM_PROBE_FILE: file, PICAM_PROBE_INTERVAL_MS: String(intervalMs), PICAM_PROBE_GC: gc ? '1' : '0' },
    samples: () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as ProbeSample) : []),
  };
}

/** Resident set size of a process from /proc, in bytes (0 once it is gone). */
export function rssOf(pid: number): number {
  return statusField(pid, 'VmRSS');
}

/** The highest resident set size the process ever had (the kernel's high-water mark), in bytes. */
export function peakRssOf(pid: number): number {
  return statusField(pid, 'VmHWM');
}

function statusField(pid: number, field: string): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
    return kb ? Number(kb[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

/** Live memory of a sample: JS heap plus Buffers (frames live there). */
export const liveBytes = (s: ProbeSample): number => s.heapUsed + s.arrayBuffers;

/** Largest value of `pick` over the samples taken in [from, to). */
export function maxIn(samples: ProbeSample[], from: number, to: number, pick: (s: ProbeSample) => number): number {
  const inWindow = samples.filter((s) => s.t >= from && s.t < to).map(pick);
  if (inWindow.length === 0) throw new Error(`no probe samples between ${from} and ${to}`);
  return Math.max(...inWindow);
}
