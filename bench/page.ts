import { spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { opt } from '../common/options.js';
import type { CameraStates } from '../viewer/page/contract.js';
import { launchDevToolsChromium, type DevToolsPage } from '../harness/devtools-chromium.js';
import { freePort, startMosquitto, type RunningBroker } from '../harness/mosquitto.js';
import { benchCommandLine } from './command-line.js';
import { defaultCacheDir, ensureFrameCache } from './frames.js';
import { machineFacts } from './machine.js';
import { sleep, startNodeChild, stopNodeChild } from './node-children.js';
import { processCpuUs } from './proc-cpu.js';
import { percentile } from './stats.js';
import { fixed, markdownTable, textTable, type Column } from './table.js';

/**
 * `npm run bench:page`: the viewer's page at fleet scale. N cameras (picam agents replaying camera JPEGs) →
 * Mosquitto → picam-viewer (its own process) → one or two pages in a real headless Chromium at 1920x1080.
 * Every frame drawn is recorded from outside the page's own figures (a MutationObserver on the tile's
 * data-captured-at, set when a frame goes on the canvas): drawn fps per tile, capture → draw p50/p95, how
 * many tiles looked live while behind; plus the bytes queued between viewer and page (the viewer's WebSocket
 * buffers and both kernel socket queues, from `ss`) and the CPU of the viewer and of the whole browser.
 * Each case runs twice in the same run: flow `ack` (the page acknowledges frames: issue 20) and the plain
 * approach as baseline, flow `socket` (no acknowledgements: each frame goes as soon as the socket takes the
 * previous one, as before issue 20).
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const distRoot = fileURLToPath(new URL('..', import.meta.url));

interface PageCase { name: string; cameras: number; fps: number; resolution: string; pages: number; enlarged: boolean }

const CASES: readonly PageCase[] = [
  { name: 'grid-480p15', cameras: 16, fps: 15, resolution: '480p', pages: 1, enlarged: false },
  { name: 'enlarged-720p30', cameras: 16, fps: 30, resolution: '720p', pages: 1, enlarged: true },
  { name: 'grid-720p30', cameras: 16, fps: 30, resolution: '720p', pages: 1, enlarged: false },
  { name: 'two-pages-720p15', cameras: 16, fps: 15, resolution: '720p', pages: 2, enlarged: false },
];
const FLOWS = ['ack', 'socket'] as const;
type Flow = (typeof FLOWS)[number];

const benchOptions = {
  quick: opt.boolean({ description: 'Short windows (3 s warm-up, 6 s measured) instead of 5 s and 15 s.' }, false),
  cases: opt.list({ description: `Cases to run (default all): ${CASES.map((c) => c.name).join(', ')}.`, arg: 'LIST' }, CASES.map((c) => c.name)),
  flows: opt.list({ description: 'ack (the page acknowledges frames), socket (the plain approach: no flow control).', arg: 'LIST' }, [...FLOWS]),
  out: opt.string({ description: 'Folder for the JSON results.', arg: 'DIR' }, path.join(repoRoot, 'bench', 'results')),
  cache: opt.string({ description: 'Folder of the generated frames (made once, reused).', arg: 'DIR' }, defaultCacheDir()),
  markdown: opt.boolean({ description: 'Also print the table as Markdown (for docs/BENCHMARKS.md).' }, false),
  upstreamNice: opt.integer({
    description: 'Nice value of the cameras and the broker, which stand for the Pis: -10 puts them ahead of the viewer and the browser (Chromium runs its browser and GPU processes at -8), as if on machines of their own; 0 lets them share the cores as equals. Below 0 needs root; without it they stay at 0 and the report says so.',
    arg: 'N',
  }, -10),
};

/** Sets a process's nice value if allowed; returns the value it has. */
function renice(pid: number, nice: number): number {
  try { os.setPriority(pid, nice); } catch { /* not allowed: it keeps its own */ }
  return os.getPriority(pid);
}

interface CaseFigures {
  case: string;
  flow: Flow;
  /** Frames per second the viewer received per camera (what the cameras managed on this machine). */
  receivedFps: number;
  /** Drawn fps per tile on screen: mean, min, max (grid), or the enlarged tile's. */
  drawnFps: { mean: number; min: number; max: number };
  latencyMs: { p50: number; p95: number; max: number; samples: number };
  /**
   * Capture → receipt by the viewer (its summaries, sampled every 500 ms per camera on screen): the part of
   * capture → draw spent before the page, which the page cannot shorten.
   */
  viewerLatencyMs: { p50: number; p95: number };
  /** Samples (every 500 ms, per tile on screen) where the shown frame was behind but the tile looked live. */
  behindUnflagged: number;
  /** Samples where a tile was behind (its shown frame older than 1 s + one frame interval). */
  behindSamples: number;
  tileSamples: number;
  /** Bytes between the viewer and its pages: viewer WebSocket buffers + kernel send and receive queues. */
  backlogBytes: { mean: number; max: number };
  /** CPU share of one core over the measured window. */
  cpu: { viewer: number; browser: number };
  /** Stats summaries the page received per second (1 expected), and overlay refreshes per second (2 expected). */
  summariesPerS: number;
  overlayPerS: number;
}

/** Everything drawn, recorded inside the page from the tiles' attributes, for the bench to collect. */
const RECORDER = `
  window.__draws = [];
  new MutationObserver((records) => {
    const now = Date.now();
    for (const r of records) {
      const el = r.target;
      window.__draws.push([el.dataset.key, Number(el.dataset.capturedAt), now]);
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-captured-at'] });
`;

interface PageSample { tiles: Array<{ key: string; ageMs: number; looksLive: boolean; visible: boolean }>; summaries: number; overlays: number }

async function samplePage(page: DevToolsPage): Promise<PageSample> {
  return page.evaluate(() => {
    const now = Date.now();
    const tiles = Array.from(document.querySelectorAll<HTMLElement>('.tile')).map((el) => {
      // On screen as the page counts it: at least a quarter of the tile visible (smaller slivers get no frames).
      const r = el.getBoundingClientRect();
      const shown = Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0)) * Math.max(0, Math.min(r.right, innerWidth) - Math.max(r.left, 0));
      const visible = !el.hidden && r.width * r.height > 0 && shown / (r.width * r.height) >= 0.25;
      // What the next paint shows: whether the stale label covers the picture (judged, or scheduled in advance
      // by stale-look.ts), not the page's own state, which a starved main thread may set late.
      const label = el.querySelector('.stale');
      const looksLive = !label || getComputedStyle(label).visibility !== 'visible';
      return { key: el.dataset.key ?? '', ageMs: now - Number(el.dataset.capturedAt ?? 0), looksLive, visible };
    });
    return { tiles, summaries: Number(document.body.dataset.summaries ?? 0), overlays: Number(document.body.dataset.overlayUpdates ?? 0) };
  });
}

/** All processes under (and including) `root`, from /proc. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch { /* gone */ }
  }
  const out: number[] = [];
  const walk = (pid: number): void => { out.push(pid); for (const c of children.get(pid) ?? []) walk(c); };
  walk(root);
  return out;
}

const treeCpuUs = (pids: number[]): number => pids.reduce((t, pid) => t + (processCpuUs(pid) ?? 0), 0);

/** Bytes in the kernel between the viewer's page port and its pages: server send queues + client receive queues. */
function kernelBacklog(port: number): number {
  const out = spawnSync('ss', ['-tnH', 'state', 'established', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8' }).stdout ?? '';
  let bytes = 0;
  for (const line of out.trim().split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const [recvQ, sendQ, local] = [Number(f[0]), Number(f[1]), f[2]!];
    bytes += local.endsWith(`:${port}`) ? sendQ : recvQ;
  }
  return bytes;
}


async function runCase(c: PageCase, flow: Flow, viewerUrl: string, viewerPort: number, viewerPid: number, windows: { warmupMs: number; measureMs: number }): Promise<CaseFigures> {
  // Each page in a window of its own: two pages watched at once are two windows (a tab behind another gets
  // background priority and few animation frames from Chromium).
  const chromium = await launchDevToolsChromium();
  try {
    const pages: DevToolsPage[] = [];
    for (let i = 0; i < c.pages; i++) pages.push(await chromium.openWindow(`${viewerUrl}/?flow=${flow}`, { width: 1920, height: 1080 }, RECORDER));
    // Every camera has a tile; those on screen have drawn (the rest get no frames until scrolled to).
    for (const page of pages) await page.waitForFunction((n) => document.querySelectorAll('.tile').length >= n && document.querySelectorAll('.tile[data-seq]').length > 0, c.cameras, 60_000);
    const focus = 'bench/cam00';
    if (c.enlarged) await pages[0]!.evaluate((key) => document.querySelector<HTMLElement>(`.tile[data-key="${key}"] .picture`)!.click(), focus);
    await sleep(windows.warmupMs);

    const browserPids = processTree(chromium.pid);
    const api = async (): Promise<CameraStates> => (await (await fetch(`${viewerUrl}/api/cameras`)).json()) as CameraStates;
    const deliveredBefore = (await api()).cameras.reduce((t, cam) => t + (cam.counters?.framesDelivered ?? 0), 0);
    for (const page of pages) await page.evaluate(() => { (window as unknown as { __draws: unknown[] }).__draws.length = 0; });
    const cpuBefore = { viewer: processCpuUs(viewerPid) ?? 0, browser: treeCpuUs(browserPids), at: performance.now() };
    const first = await Promise.all(pages.map(samplePage));
    const backlog: number[] = [];
    const viewerLatencies: number[] = [];
    let behindSamples = 0;
    let behindUnflagged = 0;
    let tileSamples = 0;
    const interval = 1000 / Math.min(c.fps, c.enlarged ? c.fps : 5);
    const until = performance.now() + windows.measureMs;
    let lastSamples = first;
    while (performance.now() < until) {
      await sleep(500);
      const states = await api();
      backlog.push(kernelBacklog(viewerPort) + states.viewer.pageFeeds.reduce((t, f) => t + f.bufferedBytes, 0));
      for (const camera of states.cameras) {
        if (camera.latencyMs !== undefined && (!c.enlarged || camera.key === focus)) viewerLatencies.push(camera.latencyMs);
      }
      lastSamples = await Promise.all(pages.map(samplePage));
      for (const sample of lastSamples) {
        for (const tile of sample.tiles) {
          if (!tile.visible || (c.enlarged && tile.key !== focus)) continue;
          tileSamples++;
          if (tile.ageMs > 1000 + interval) {
            behindSamples++;
            if (tile.looksLive) behindUnflagged++;
          }
        }
      }
    }
    const seconds = (performance.now() - cpuBefore.at) / 1000;
    const cpu = { viewer: ((processCpuUs(viewerPid) ?? 0) - cpuBefore.viewer) / 1e6 / seconds, browser: (treeCpuUs(browserPids) - cpuBefore.browser) / 1e6 / seconds };
    const deliveredAfter = (await api()).cameras.reduce((t, cam) => t + (cam.counters?.framesDelivered ?? 0), 0);

    const draws = (await Promise.all(pages.map((p) => p.evaluate(() => (window as unknown as { __draws: Array<[string, number, number]> }).__draws)))).flat();
    const perTile = new Map<string, number>();
    const latencies: number[] = [];
    for (const [key, capturedAt, at] of draws) {
      if (c.enlarged && key !== focus) continue;
      perTile.set(key, (perTile.get(key) ?? 0) + 1);
      latencies.push(at - capturedAt);
    }
    const fpsList = [...perTile.values()].map((n) => n / seconds / (c.enlarged ? 1 : c.pages));
    const summaries = lastSamples.reduce((t, s, i) => t + s.summaries - first[i]!.summaries, 0) / pages.length / seconds;
    const overlays = lastSamples.reduce((t, s, i) => t + s.overlays - first[i]!.overlays, 0) / pages.length / seconds;
    return {
      case: c.name,
      flow,
      receivedFps: (deliveredAfter - deliveredBefore) / c.cameras / seconds,
      drawnFps: { mean: fpsList.reduce((a, b) => a + b, 0) / Math.max(1, fpsList.length), min: Math.min(...fpsList), max: Math.max(...fpsList) },
      latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: Math.max(...latencies), samples: latencies.length },
      viewerLatencyMs: { p50: percentile(viewerLatencies, 50), p95: percentile(viewerLatencies, 95) },
      behindUnflagged,
      behindSamples,
      tileSamples,
      backlogBytes: { mean: backlog.reduce((a, b) => a + b, 0) / Math.max(1, backlog.length), max: Math.max(0, ...backlog) },
      cpu,
      summariesPerS: summaries,
      overlayPerS: overlays,
    };
  } finally {
    await chromium.close();
  }
}

interface TargetResult { target: string; met: boolean; figure: string }

function targets(results: CaseFigures[]): TargetResult[] {
  const out: TargetResult[] = [];
  const ack = (name: string): CaseFigures | undefined => results.find((r) => r.case === name && r.flow === 'ack');
  const grid = ack('grid-480p15');
  if (grid) {
    out.push({ target: 'grid 16 × 15 fps 480p: thumbnails 5.0 ± 0.3 fps', met: Math.abs(grid.drawnFps.mean - 5) <= 0.3 && grid.drawnFps.min >= 4.7 && grid.drawnFps.max <= 5.3, figure: `mean ${fixed(grid.drawnFps.mean, 2)}, tiles ${fixed(grid.drawnFps.min, 2)}–${fixed(grid.drawnFps.max, 2)}` });
    out.push({ target: 'grid 16 × 15 fps 480p: capture → draw p95 ≤ 100 ms', met: grid.latencyMs.p95 <= 100, figure: `p95 ${fixed(grid.latencyMs.p95, 0)} ms` });
  }
  const enlarged = ack('enlarged-720p30');
  if (enlarged) {
    out.push({ target: 'enlarged 720p30, 16 streaming: ≥ 29 fps drawn', met: enlarged.drawnFps.mean >= 29, figure: `${fixed(enlarged.drawnFps.mean, 1)} fps (viewer received ${fixed(enlarged.receivedFps, 1)})` });
    out.push({ target: 'enlarged 720p30, 16 streaming: p95 ≤ 60 ms', met: enlarged.latencyMs.p95 <= 60, figure: `p95 ${fixed(enlarged.latencyMs.p95, 0)} ms` });
  }
  for (const name of ['grid-720p30', 'two-pages-720p15']) {
    const saturated = ack(name);
    if (!saturated) continue;
    out.push({ target: `saturated ${name}: p95 ≤ 500 ms`, met: saturated.latencyMs.p95 <= 500, figure: `p95 ${fixed(saturated.latencyMs.p95, 0)} ms` });
    out.push({ target: `saturated ${name}: every tile behind says so`, met: saturated.behindUnflagged === 0, figure: `${saturated.behindUnflagged} of ${saturated.behindSamples} behind samples looked live` });
  }
  return out;
}

const COLUMNS: Array<Column & { value: (r: CaseFigures) => string }> = [
  { title: 'case', value: (r) => r.case, align: 'left' },
  { title: 'flow', value: (r) => (r.flow === 'ack' ? 'ack (picam)' : 'socket (plain)'), align: 'left' },
  { title: 'received fps/cam', value: (r) => fixed(r.receivedFps, 1) },
  { title: 'drawn fps/tile mean (min–max)', value: (r) => `${fixed(r.drawnFps.mean, 1)} (${fixed(r.drawnFps.min, 1)}–${fixed(r.drawnFps.max, 1)})` },
  { title: 'capture→draw p50 / p95 ms', value: (r) => `${fixed(r.latencyMs.p50, 0)} / ${fixed(r.latencyMs.p95, 0)}` },
  { title: 'of which capture→viewer p50 / p95 ms', value: (r) => `${fixed(r.viewerLatencyMs.p50, 0)} / ${fixed(r.viewerLatencyMs.p95, 0)}` },
  { title: 'behind: samples / looked live', value: (r) => `${r.behindSamples} / ${r.behindUnflagged}` },
  { title: 'socket backlog mean / max KiB', value: (r) => `${fixed(r.backlogBytes.mean / 1024, 0)} / ${fixed(r.backlogBytes.max / 1024, 0)}` },
  { title: 'CPU viewer / browser %', value: (r) => `${fixed(r.cpu.viewer * 100, 0)} / ${fixed(r.cpu.browser * 100, 0)}` },
  { title: 'summaries/s · overlay/s', value: (r) => `${fixed(r.summariesPerS, 1)} · ${fixed(r.overlayPerS, 1)}` },
];

async function main(): Promise<number> {
  const options = benchCommandLine(benchOptions, 'bench:page', 'PICAM_BENCH_PAGE_');
  if (typeof options === 'number') return options;
  const unknown = options.cases.filter((n) => !CASES.some((c) => c.name === n));
  if (unknown.length > 0) { process.stderr.write(`picam bench:page: --cases: unknown ${unknown.join(', ')}; use ${CASES.map((c) => c.name).join(', ')}\n`); return 2; }
  const flows = options.flows.filter((f): f is Flow => (FLOWS as readonly string[]).includes(f));
  if (flows.length !== options.flows.length || flows.length === 0) { process.stderr.write('picam bench:page: --flows: use ack and/or socket\n'); return 2; }
  const windows = options.quick ? { warmupMs: 3000, measureMs: 6000 } : { warmupMs: 5000, measureMs: 15_000 };
  const machine = machineFacts();
  const log = (line: string): void => { process.stderr.write(`bench:page: ${line}\n`); };
  // A bound on the whole run, so a wedged browser can never make the benchmark hang.
  setTimeout(() => { process.stderr.write('picam bench:page failed: not finished after 20 minutes\n'); process.exit(1); }, 20 * 60_000).unref();
  const frameDirs = await ensureFrameCache(options.cache, log);
  const results: CaseFigures[] = [];
  let broker: RunningBroker | undefined;
  const upstreamNice = new Set<number>();
  try {
    broker = await startMosquitto();
    upstreamNice.add(renice(broker.process.pid!, options.upstreamNice));
    for (const c of CASES.filter((x) => options.cases.includes(x.name))) {
      let cameras: ChildProcess | undefined;
      let viewer: ChildProcess | undefined;
      try {
        const port = await freePort();
        viewer = await startNodeChild([`${distRoot}/viewer/cli.js`, '--broker', broker.url, '--prefix', 'bench', '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'], /^/, 'viewer');
        await sleep(500);
        cameras = await startNodeChild([`${distRoot}/bench/page-cameras.js`, broker.url, 'bench', String(c.cameras), String(c.fps), frameDirs[c.resolution]!], /ready/, 'cameras');
        upstreamNice.add(renice(cameras.pid!, options.upstreamNice));
        // The cameras' own start (JIT, each agent's link pacing finding its rate) must not land in the first
        // flow's row only: in one run, grid-480p15's first row had a p95 of 119 ms, and 94 ms when run second.
        await sleep(windows.warmupMs);
        for (const flow of flows) {
          log(`${c.name} flow ${flow}: ${c.cameras} cameras × ${c.fps} fps ${c.resolution}, ${c.pages} page(s)${c.enlarged ? ', one enlarged' : ''}`);
          const figures = await runCase(c, flow, `http://127.0.0.1:${port}`, port, viewer.pid!, windows);
          results.push(figures);
          log(`  drawn ${fixed(figures.drawnFps.mean, 1)} fps/tile, p95 ${fixed(figures.latencyMs.p95, 0)} ms, backlog max ${fixed(figures.backlogBytes.max / 1024, 0)} KiB`);
        }
      } finally {
        await stopNodeChild(cameras);
        await stopNodeChild(viewer);
      }
    }
  } finally {
    await broker?.stop();
  }
  const checks = targets(results);
  const head = `picam-mqtt page benchmark (${options.quick ? 'quick' : 'full'}), ${machine.cpus} CPUs ${machine.cpuModel}, load ${machine.loadAverage1m.toFixed(1)} at start, Node ${machine.node}, ${spawnSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? 'chromium'}, window 1920x1080, ${windows.measureMs / 1000} s measured per row, cameras and broker at nice ${[...upstreamNice].join(' and ')}${upstreamNice.has(options.upstreamNice) ? '' : ` (asked for ${options.upstreamNice}: not allowed)`}`;
  process.stdout.write(`\n${head}\n\n${textTable(COLUMNS, results.map((r) => COLUMNS.map((c) => c.value(r))))}\n\nTargets (flow ack):\n${checks.map((t) => `  ${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.figure}`).join('\n')}\n`);
  if (options.markdown) process.stdout.write(`\n${markdownTable(COLUMNS, results.map((r) => COLUMNS.map((c) => c.value(r))))}\n`);
  fs.mkdirSync(options.out, { recursive: true });
  const file = path.join(options.out, `page-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ machine, windows, upstreamNice: [...upstreamNice], results, targets: checks }, null, 2) + '\n');
  process.stdout.write(`\nresults: ${path.relative(repoRoot, file)}\n`);
  return 0;
}

process.exitCode = await main();
