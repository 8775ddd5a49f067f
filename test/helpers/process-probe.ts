import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

// Preloaded into a program under test with NODE_OPTIONS=--import=<this file> and PICAM_PROBE_FILE=<path>:
// appends one JSON line per interval with the process's memory and event-loop delay, so a test can watch
// a real picam-agent or picam-viewer process from outside without any hook in the product. With
// PICAM_PROBE_GC=1 (and --expose-gc) it collects garbage before each memory reading, so the figures are
// live memory rather than the garbage-collector's sawtooth.

const file = process.env.PICAM_PROBE_FILE;
if (file) {
  const intervalMs = Number(process.env.PICAM_PROBE_INTERVAL_MS ?? 1000);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const collect = process.env.PICAM_PROBE_GC === '1' ? (globalThis as { gc?: () => void }).gc : undefined;
  const timer = setInterval(() => {
    const elMeanMs = delay.mean / 1e6;
    const elP99Ms = delay.percentile(99) / 1e6;
    const elMaxMs = delay.max / 1e6;
    collect?.();
    const m = process.memoryUsage();
    const sample: ProbeSample = {
      t: Date.now(),
      rss: m.rss,
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      elMeanMs,
      elP99Ms,
      elMaxMs,
    };
    delay.reset();
    fs.appendFileSync(file, JSON.stringify(sample) + '\n');
  }, intervalMs);
  timer.unref();
}

export interface ProbeSample {
  t: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  elMeanMs: number;
  elP99Ms: number;
  elMaxMs: number;
}
