import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { opt } from '../common/options.js';
import type { CameraStates } from '../viewer/page/contract.js';
import { HEAP_GROWING_PERCENT } from '../viewer/heap-growth.js';
import { freePort, startMosquitto, type RunningBroker } from '../harness/mosquitto.js';
import { benchCommandLine } from './command-line.js';
import { defaultCacheDir, ensureFrameCache, RESOLUTIONS } from './frames.js';
import { machineFacts } from './machine.js';
import { sleep, startNodeChild, stopNodeChild } from './node-children.js';
import { processCpuUs } from './proc-cpu.js';
import { mean, percentile } from './stats.js';
import { fixed, markdownTable, textTable, type Column } from './table.js';

/**
 * `npm run bench:viewer`: what receiving costs the viewer, with no page open. N cameras (picam agents replaying
 * camera JPEGs, in one process) → Mosquitto → picam-viewer, which reassembles and keeps every frame. Each round
 * starts the viewer twice on the same stream: with V8's default heap growth (the baseline: `node
 * --heap-growing-percent=0`, which the viewer leaves alone) and with the viewer's own setting (heap-growth.ts).
 * Reported per run: the viewer's CPU, its full (mark-compact) and young (scavenge) collections a second from
 * `--trace-gc`, frames received per camera a second, capture → receipt p50/p95 from the viewer's summaries, and
 * its peak resident memory.
 * Whether a run of back-to-back full collections starts is a matter of chance, so the variants alternate over
 * several rounds and every run is shown.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const distRoot = fileURLToPath(new URL('..', import.meta.url));

const VARIANTS = [
  { name: 'V8 default', nodeFlags: ['--heap-growing-percent=0'] },
  { name: `picam (${HEAP_GROWING_PERCENT} %)`, nodeFlags: [] },
] as const;

const benchOptions = {
  quick: opt.boolean({ description: 'One round of 3 s warm-up and 8 s measured, instead of 3 rounds of 5 s and 15 s.' }, false),
  cameras: opt.integer({ description: 'Cameras streaming.', arg: 'N', min: 1, max: 64 }, 16),
  fps: opt.integer({ description: 'Frames per second of each camera.', arg: 'FPS', min: 1, max: 60 }, 30),
  resolution: opt.enum({ description: 'Size of the replayed frames.', values: ['480p', '720p', '1080p'] as const }, '720p'),
  out: opt.string({ description: 'Folder for the JSON results.', arg: 'DIR' }, path.join(repoRoot, 'bench', 'results')),
  cache: opt.string({ description: 'Folder of the generated frames (made once, reused).', arg: 'DIR' }, defaultCacheDir()),
  markdown: opt.boolean({ description: 'Also print the table as Markdown (for docs/BENCHMARKS.md).' }, false),
};

interface RunFigures {
  round: number;
  variant: string;
  /** Share of one core over the measured window. */
  viewerCpu: number;
  fullGcPerS: number;
  /** Wall time of the full collections' final pauses, ms per second (marking done in steps before them is not in it). */
  fullGcPauseMsPerS: number;
  youngGcPerS: number;
  receivedFps: number;
  latencyMs: { p50: number; p95: number };
  /** The viewer's peak resident memory (VmHWM) at the end of the run, MiB. */
  peakRssMiB: number;
}

/** Peak resident set size of a process, MiB, from /proc (NaN where unreadable). */
function peakRssMiB(pid: number): number {
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? Number.NaN : Number(kib) / 1024;
  } catch {
    return Number.NaN;
  }
}

async function measure(round: number, variant: (typeof VARIANTS)[number], brokerUrl: string, windows: { warmupMs: number; measureMs: number }): Promise<RunFigures> {
  const port = await freePort();
  let trace = '';
  let measuring = false;
  const viewer = await startNodeChild([`${distRoot}/viewer/cli.js`, '--broker', brokerUrl, '--prefix', 'bench', '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'], /open http/, 'viewer', {
    nodeFlags: ['--trace-gc', ...variant.nodeFlags],
    onOutput: (text) => { if (measuring) trace += text; },
  });
  try {
    const api = async (): Promise<CameraStates> => (await (await fetch(`http://127.0.0.1:${port}/api/cameras`)).json()) as CameraStates;
    const delivered = async (): Promise<number> => (await api()).cameras.reduce((t, c) => t + (c.counters?.framesDelivered ?? 0), 0);
    await sleep(windows.warmupMs);
    measuring = true;
    const cpuBefore = processCpuUs(viewer.pid!) ?? 0;
    const deliveredBefore = await delivered();
    const started = performance.now();
    const latencies: number[] = [];
    while (performance.now() - started < windows.measureMs) {
      await sleep(500);
      for (const camera of (await api()).cameras) if (camera.latencyMs !== undefined) latencies.push(camera.latencyMs);
    }
    const seconds = (performance.now() - started) / 1000;
    const deliveredAfter = await delivered();
    const cpu = ((processCpuUs(viewer.pid!) ?? 0) - cpuBefore) / 1e6 / seconds;
    measuring = false;
    const lines = trace.split('\n');
    const full = lines.filter((l) => l.includes('Mark-Compact'));
    const pauses = full.map((l) => Number(/MB, ([\d.]+) \//.exec(l)?.[1] ?? 0));
    const cameras = (await api()).cameras.length;
    return {
      round,
      variant: variant.name,
      viewerCpu: cpu,
      fullGcPerS: full.length / seconds,
      fullGcPauseMsPerS: pauses.reduce((a, b) => a + b, 0) / seconds,
      youngGcPerS: lines.filter((l) => l.includes('Scavenge')).length / seconds,
      receivedFps: (deliveredAfter - deliveredBefore) / Math.max(1, cameras) / seconds,
      latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95) },
      peakRssMiB: peakRssMiB(viewer.pid!),
    };
  } finally {
    await stopNodeChild(viewer);
  }
}

const COLUMNS: Array<Column & { value: (r: RunFigures) => string }> = [
  { title: 'round', value: (r) => String(r.round) },
  { title: 'heap growth', value: (r) => r.variant, align: 'left' },
  { title: 'viewer CPU %', value: (r) => fixed(r.viewerCpu * 100, 0) },
  { title: 'full GCs/s', value: (r) => fixed(r.fullGcPerS, 1) },
  { title: 'full GC pauses ms/s', value: (r) => fixed(r.fullGcPauseMsPerS, 0) },
  { title: 'young GCs/s', value: (r) => fixed(r.youngGcPerS, 1) },
  { title: 'received fps/cam', value: (r) => fixed(r.receivedFps, 1) },
  { title: 'capture→viewer p50 / p95 ms', value: (r) => `${fixed(r.latencyMs.p50, 0)} / ${fixed(r.latencyMs.p95, 0)}` },
  { title: 'peak RSS MiB', value: (r) => fixed(r.peakRssMiB, 0) },
];

async function main(): Promise<number> {
  const options = benchCommandLine(benchOptions, 'bench:viewer', 'PICAM_BENCH_VIEWER_');
  if (typeof options === 'number') return options;
  const windows = options.quick ? { warmupMs: 3000, measureMs: 8000 } : { warmupMs: 5000, measureMs: 15_000 };
  const rounds = options.quick ? 1 : 3;
  const machine = machineFacts();
  const log = (line: string): void => { process.stderr.write(`bench:viewer: ${line}\n`); };
  setTimeout(() => { process.stderr.write('picam bench:viewer failed: not finished after 10 minutes\n'); process.exit(1); }, 10 * 60_000).unref();
  const frameDirs = await ensureFrameCache(options.cache, log);
  const resolution = RESOLUTIONS.find((r) => r.name === options.resolution)!;
  const results: RunFigures[] = [];
  let broker: RunningBroker | undefined;
  let cameras;
  try {
    broker = await startMosquitto();
    cameras = await startNodeChild([`${distRoot}/bench/page-cameras.js`, broker.url, 'bench', String(options.cameras), String(options.fps), frameDirs[resolution.name]!], /ready/, 'cameras');
    for (let round = 1; round <= rounds; round++) {
      // Alternated, so neither variant always runs first (on a machine still settling, or warmer).
      const order = round % 2 === 1 ? VARIANTS : [...VARIANTS].reverse();
      for (const variant of order) {
        log(`round ${round}, ${variant.name}: ${options.cameras} cameras × ${options.fps} fps ${resolution.name}`);
        const figures = await measure(round, variant, broker.url, windows);
        results.push(figures);
        log(`  viewer CPU ${fixed(figures.viewerCpu * 100, 0)} %, ${fixed(figures.fullGcPerS, 1)} full GCs/s`);
      }
    }
  } finally {
    await stopNodeChild(cameras);
    await broker?.stop();
  }
  const summary = VARIANTS.map((v) => {
    const runs = results.filter((r) => r.variant === v.name);
    return `  ${v.name}: viewer CPU mean ${fixed(mean(runs.map((r) => r.viewerCpu * 100)), 0)} %, full GCs/s mean ${fixed(mean(runs.map((r) => r.fullGcPerS)), 1)}`;
  });
  const head = `picam-mqtt viewer receive benchmark (${options.quick ? 'quick' : 'full'}), ${machine.cpus} CPUs ${machine.cpuModel}, load ${machine.loadAverage1m.toFixed(1)} at start, Node ${machine.node}, ${options.cameras} cameras × ${options.fps} fps ${resolution.name}, no page, ${windows.measureMs / 1000} s measured per run`;
  const rows = results.map((r) => COLUMNS.map((c) => c.value(r)));
  process.stdout.write(`\n${head}\n\n${textTable(COLUMNS, rows)}\n\n${summary.join('\n')}\n`);
  if (options.markdown) process.stdout.write(`\n${markdownTable(COLUMNS, rows)}\n`);
  fs.mkdirSync(options.out, { recursive: true });
  const file = path.join(options.out, `viewer-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ machine, windows, cameras: options.cameras, fps: options.fps, resolution: resolution.name, results }, null, 2) + '\n');
  process.stdout.write(`\nresults: ${path.relative(repoRoot, file)}\n`);
  return 0;
}

process.exitCode = await main();
