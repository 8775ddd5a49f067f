/**
 * Motion detection: what one analysis costs, and how well it detects.
 *
 * Cost: CPU time per frame of the agent's analysis (1/8-scale shrink-on-load decode + background model) at
 * 480p, 720p and 1080p, beside a full sharp decode of the same frames measured in the same run (the ratio holds
 * on a busy machine, where absolute figures do not). One call at a time, as the agent runs it.
 * Quality: per clip made in the project (bench/motion-clips.ts), events against the truth: precision, recall,
 * and the delay from the first moving frame to ON, at the default settings and 5 analyses a second.
 *
 * Usage: npm run bench:motion [-- FRAMES]
 */
import os from 'node:os';
import sharp from 'sharp';
import { BackgroundModel } from '../agent/motion/background-model.js';
import { decodeSmall } from '../agent/motion/small-decode.js';
import { agentOptions } from '../agent/config.js';
import type { MotionSettings } from '../protocol/motion.js';
import { ffmpegFrames } from '../harness/jpeg-tools.js';
import { clipSpecs, makeClip } from './motion-clips.js';
import { evaluateClip } from './motion-quality.js';

const frameCount = Number(process.argv[2] ?? 200);
const ANALYSIS_FPS = agentOptions.motionFps.default;
/** The target of issue 19: analysis at 5 fps costs at most 5 % of one core at 720p. */
const TARGET_PCT = 5;

sharp.cache(false);

type Work = (frame: Buffer, i: number) => Promise<unknown>;

/**
 * CPU ms per call of each kind of work, the kinds taking turns frame by frame, so a machine whose load
 * changes during the run weighs on all of them alike.
 */
async function cpuPerCall(frames: Buffer[], works: Work[]): Promise<number[]> {
  const totals = works.map(() => 0);
  for (let i = 0; i < frameCount + 5; i++) {
    for (const [k, work] of works.entries()) {
      const cpu = process.cpuUsage();
      await work(frames[i % frames.length]!, i);
      const used = process.cpuUsage(cpu);
      if (i >= 5) totals[k]! += (used.user + used.system) / 1000; // after 5 warm-up rounds
    }
  }
  return totals.map((t) => t / frameCount);
}

const defaults: MotionSettings = {
  threshold: agentOptions.motionThreshold.default,
  minArea: agentOptions.motionMinArea.default,
  minDuration: agentOptions.motionMinDuration.default,
  hold: agentOptions.motionHold.default,
  mask: [],
};

console.log(`node ${process.version}, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, load ${os.loadavg()[0]!.toFixed(2)}; ${frameCount} frames per case after 5 warm-up, one at a time, the kinds taking turns`);
console.log('\nAnalysis cost per frame (CPU time of this process, all threads)');
console.log(`${'size'.padEnd(10)} ${'KiB'.padStart(5)} ${'full decode'.padStart(12)} ${'analysis'.padStart(10)} ${'ratio'.padStart(7)} ${'model only'.padStart(11)} ${`% core @ ${ANALYSIS_FPS} fps`.padStart(16)}`);
const costs: Record<string, number> = {};
for (const [label, width, height] of [['480p', 640, 480], ['720p', 1280, 720], ['1080p', 1920, 1080]] as const) {
  // Camera-like frames (ffmpeg's test pattern with noise, as bench:processing uses).
  const frames = ffmpegFrames({ width, height, count: 10, qscale: 4 }).frames;
  const kib = frames.reduce((n, f) => n + f.length, 0) / frames.length / 1024;
  const model = new BackgroundModel({ threshold: defaults.threshold, mask: [] });
  const small = await Promise.all(frames.map((f, i) => decodeSmall(f, i * 200)));
  const modelOnlyModel = new BackgroundModel({ threshold: defaults.threshold, mask: [] });
  const [fullMs, analysisMs, modelMs] = await cpuPerCall(frames, [
    (f) => sharp(f).raw().toBuffer(),
    async (f, i) => model.analyze(await decodeSmall(f, i * 200)),
    // The model alone, on an already decoded small frame: the part that is our own JavaScript.
    async (_f, i) => modelOnlyModel.analyze({ ...small[i % small.length]!, atMs: i * 200 }),
  ]);
  const full = { cpuMs: fullMs! };
  const analysis = { cpuMs: analysisMs! };
  const modelOnly = { cpuMs: modelMs! };
  const pct = (analysis.cpuMs * ANALYSIS_FPS) / 10;
  costs[label] = pct;
  console.log(`${`${label} ${width}x${height}`.padEnd(10)} ${kib.toFixed(0).padStart(5)} ${`${full.cpuMs.toFixed(2)} ms`.padStart(12)} ${`${analysis.cpuMs.toFixed(2)} ms`.padStart(10)} ${`${((100 * analysis.cpuMs) / full.cpuMs).toFixed(0)} %`.padStart(7)} ${`${modelOnly.cpuMs.toFixed(3)} ms`.padStart(11)} ${`${pct.toFixed(2)} %`.padStart(16)}`);
}
console.log(`target: ${ANALYSIS_FPS} fps at 720p within ${TARGET_PCT} % of one core: ${costs['720p']! <= TARGET_PCT ? 'met' : 'NOT met'} (${costs['720p']!.toFixed(2)} %)`);

console.log(`\nDetection quality at the defaults (threshold ${defaults.threshold}, min area ${defaults.minArea} %, min duration ${defaults.minDuration} s, hold ${defaults.hold} s), ${ANALYSIS_FPS} analyses/s of 10 fps clips, 640x480`);
console.log(`${'clip'.padEnd(13)} ${'truth'.padStart(6)} ${'events'.padStart(7)} ${'precision'.padStart(10)} ${'recall'.padStart(7)} ${'delay to ON'.padStart(12)} ${'peak %'.padStart(7)}  what`);
for (const spec of clipSpecs()) {
  const q = await evaluateClip(await makeClip(spec), defaults, ANALYSIS_FPS);
  console.log(`${spec.name.padEnd(13)} ${String(q.truth.length).padStart(6)} ${String(q.events.length).padStart(7)} ${q.precision.toFixed(2).padStart(10)} ${q.recall.toFixed(2).padStart(7)} ${(q.delayMs === undefined ? '–' : `${q.delayMs} ms`).padStart(12)} ${q.peakScore.toFixed(2).padStart(7)}  ${spec.description}`);
}
