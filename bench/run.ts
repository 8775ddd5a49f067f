import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agentOptions } from '../agent/config.js';
import { createLogger, LOG_LEVELS } from '../common/logger.js';
import { opt } from '../common/options.js';
import { benchCommandLine } from './command-line.js';
import { startMosquitto, type RunningBroker } from '../harness/mosquitto.js';
import { measureEncoding } from './encode.js';
import { ENCODE_QUALITIES, ENCODE_SETTINGS } from './encode-settings.js';
import { defaultCacheDir, ensureFrameCache, FrameSet, RESOLUTIONS } from './frames.js';
import { machineFacts } from './machine.js';
import { measureStepCosts } from './protocol-cost.js';
import { renderReport } from './report.js';
import type { BenchResults } from './results.js';
import { checkTargets } from './targets.js';
import { measureChunkSizes, measureContenders, type TransportPlan } from './transport.js';

/** `npm run bench [-- --quick]`: one Mosquitto, three contenders, the chunk-size sweep, sharp encode cost. */

const PHASES = ['transport', 'sweep', 'steps', 'encode'] as const;
const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

const benchOptions = {
  quick: opt.boolean({ description: 'Short run (under a minute): one round, fewer frames, fewer chunk sizes and qualities.' }, false),
  phases: opt.list({ description: `Parts to run, comma-separated: ${PHASES.join(', ')}.`, arg: 'LIST', check: (v) => v.find((p) => !(PHASES as readonly string[]).includes(p)) && `use only ${PHASES.join(', ')}` || undefined }, [...PHASES]),
  resolutions: opt.list({ description: `Resolutions for the transport phase: ${RESOLUTIONS.map((r) => r.name).join(', ')}.`, arg: 'LIST', check: (v) => v.find((r) => !RESOLUTIONS.some((x) => x.name === r)) && `use only ${RESOLUTIONS.map((r) => r.name).join(', ')}` || undefined }, RESOLUTIONS.map((r) => r.name)),
  sweepResolution: opt.enum({ description: 'Resolution of the chunk-size sweep.', values: ['480p', '720p', '1080p'] as const }, '1080p'),
  out: opt.string({ description: 'Folder for the JSON results.', arg: 'DIR' }, path.join(repoRoot, 'bench', 'results')),
  cache: opt.string({ description: 'Folder of the generated frames (made once, reused).', arg: 'DIR' }, defaultCacheDir()),
  cpuProf: opt.optionalString({ description: 'Write a V8 CPU profile (node --cpu-prof) of every sender, receiver and encoder process into DIR.', arg: 'DIR' }),
  noDelay: opt.boolean({ description: "Disable Nagle's algorithm everywhere: set_tcp_nodelay true in Mosquitto and TCP_NODELAY on every client socket." }, false),
  markdown: opt.boolean({ description: 'Also print the tables as Markdown (for docs/BENCHMARKS.md).' }, false),
  logLevel: opt.enum({ description: 'Log level of progress lines (stderr).', values: LOG_LEVELS }, 'info'),
};

interface Preset {
  throughputRounds: number;
  warmupMs: number;
  measureMs: number;
  pacedRounds: number;
  pacedFrames: number;
  pacedSkip: number;
  sweepSizes: number[];
  sweepRounds: number;
  sweepMeasureMs: number;
  sweepPacedFrames: number;
  stepBatches: number;
  stepFrames: number;
  encodeFrames: number;
  encodeWarmup: number;
  encodeSettings: string[];
  encodeQualities: number[];
}

const KiB = 1024;
/** Larger than any frame: every frame goes as one chunk. */
const NO_CHUNKING = 16 * 1024 * KiB;

const PRESETS: Record<'full' | 'quick', Preset> = {
  full: {
    throughputRounds: 5, warmupMs: 300, measureMs: 1000,
    pacedRounds: 3, pacedFrames: 75, pacedSkip: 5,
    sweepSizes: [8 * KiB, 16 * KiB, 32 * KiB, 64 * KiB, 128 * KiB, 256 * KiB, 512 * KiB, 1024 * KiB, NO_CHUNKING],
    sweepRounds: 1, sweepMeasureMs: 1200, sweepPacedFrames: 60,
    stepBatches: 25, stepFrames: 10,
    encodeFrames: 10, encodeWarmup: 2, encodeSettings: ENCODE_SETTINGS.map((s) => s.name), encodeQualities: [...ENCODE_QUALITIES],
  },
  quick: {
    throughputRounds: 1, warmupMs: 200, measureMs: 600,
    pacedRounds: 1, pacedFrames: 30, pacedSkip: 3,
    sweepSizes: [16 * KiB, 128 * KiB, NO_CHUNKING],
    sweepRounds: 1, sweepMeasureMs: 500, sweepPacedFrames: 20,
    stepBatches: 8, stepFrames: 8,
    encodeFrames: 3, encodeWarmup: 1, encodeSettings: ['default', 'fast'], encodeQualities: [80],
  },
};

const elapsedS = (since: number): string => ((performance.now() - since) / 1000).toFixed(1);

async function main(): Promise<number> {
  const options = benchCommandLine(benchOptions, 'bench', 'PICAM_BENCH_');
  if (typeof options === 'number') return options;
  const logger = createLogger({ level: options.logLevel, component: 'bench' });
  const mode = options.quick ? 'quick' : 'full';
  const preset = PRESETS[mode];
  const phases = new Set(options.phases);
  const startedAt = new Date();
  const started = performance.now();
  const defaultChunkSize = agentOptions.chunkSize.default;
  const profileDir = options.cpuProf ? path.resolve(options.cpuProf) : undefined;

  const machine = machineFacts();
  logger.info('starting', { mode, cpus: machine.cpus, load1m: machine.loadAverage1m.toFixed(2), node: machine.node, mosquitto: machine.mosquitto });
  const frameDirs = await ensureFrameCache(options.cache, (line) => logger.info(line));
  const jpegBytes = (name: string): number => FrameSet.load(frameDirs[name]!).meanBytes;

  const transport: BenchResults['transport'] = [];
  let sweep: BenchResults['sweep'];
  let broker: RunningBroker | undefined;
  let stopping = false;
  // A bound on the whole run, so a wedged peer can never make `npm run bench` hang.
  const deadlineMin = mode === 'quick' ? 3 : 10;
  setTimeout(() => {
    process.stderr.write(`picam bench failed: not finished after ${deadlineMin} minutes; aborting\n`);
    process.exit(1);
  }, deadlineMin * 60_000).unref();
  try {
    if (phases.has('transport') || phases.has('sweep')) {
      broker = await startMosquitto({ extraConfig: options.noDelay ? ['set_tcp_nodelay true'] : [] });
      logger.info('broker started', { url: broker.url });
      // Without its broker every peer would wait for frames forever: say so and stop instead.
      const started = broker;
      started.process.once('exit', (code, signal) => {
        if (stopping) return;
        process.stderr.write(`picam bench failed: the bench's mosquitto exited (${signal ?? code}) mid-run\n${started.log().slice(-2000)}\n`);
        process.exit(1);
      });
    }
    const planFor = (resolution: string, overrides: Partial<TransportPlan> = {}): TransportPlan => ({
      brokerUrl: broker!.url, brokerPid: broker!.process.pid!, frameDir: frameDirs[resolution]!, jpegBytes: jpegBytes(resolution),
      rounds: preset.throughputRounds, pacedRounds: preset.pacedRounds, warmupMs: preset.warmupMs, measureMs: preset.measureMs,
      pacedFps: 30, pacedFrames: preset.pacedFrames, pacedSkip: preset.pacedSkip, chunkSize: defaultChunkSize, noDelay: options.noDelay, profileDir,
      ...overrides,
    });
    if (phases.has('transport')) {
      for (const resolution of options.resolutions) {
        const plan = planFor(resolution);
        const phaseStart = performance.now();
        transport.push({ resolution, jpegBytes: plan.jpegBytes, contenders: await measureContenders(plan, `bench-${resolution}`, logger) });
        logger.info('transport measured', { resolution, jpegKB: Math.round(plan.jpegBytes / 1024), seconds: elapsedS(phaseStart) });
      }
    }
    if (phases.has('sweep')) {
      const resolution = options.sweepResolution;
      const plan = planFor(resolution, { rounds: preset.sweepRounds, pacedRounds: preset.sweepRounds, measureMs: preset.sweepMeasureMs, pacedFrames: preset.sweepPacedFrames });
      const phaseStart = performance.now();
      const sizes = await measureChunkSizes(plan, preset.sweepSizes, `bench-sweep-${resolution}`);
      logger.info('chunk-size sweep measured', { resolution, sizes: preset.sweepSizes.length, seconds: elapsedS(phaseStart) });
      const ceiling = transport.find((t) => t.resolution === resolution)?.contenders.find((c) => c.contender === 'ceiling');
      sweep = { resolution, jpegBytes: plan.jpegBytes, ceiling, sizes };
    }
  } finally {
    stopping = true;
    await broker?.stop();
  }

  let steps: BenchResults['steps'] = [];
  if (phases.has('steps')) {
    const phaseStart = performance.now();
    steps = RESOLUTIONS.map((r) => measureStepCosts(r.name, FrameSet.load(frameDirs[r.name]!), defaultChunkSize, preset.stepBatches, preset.stepFrames));
    logger.info('protocol steps measured', { seconds: elapsedS(phaseStart) });
  }

  let encode: BenchResults['encode'] = [];
  if (phases.has('encode')) {
    const phaseStart = performance.now();
    encode = await measureEncoding(preset.encodeSettings, { qualities: preset.encodeQualities, resolutions: RESOLUTIONS.map((r) => r.name), frames: preset.encodeFrames, warmup: preset.encodeWarmup }, profileDir);
    logger.info('sharp encode measured', { frames: preset.encodeFrames, qualities: preset.encodeQualities.join(','), seconds: elapsedS(phaseStart) });
  }

  const partial: Omit<BenchResults, 'targets' | 'loadAverageAfter1m'> = {
    schema: 1,
    mode,
    command: `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
    startedAt: startedAt.toISOString(),
    durationS: 0,
    machine,
    settings: {
      defaultChunkSize, throughputRounds: preset.throughputRounds, warmupMs: preset.warmupMs, measureMs: preset.measureMs,
      pacedRounds: preset.pacedRounds, pacedFps: 30, pacedFrames: preset.pacedFrames, pacedSkip: preset.pacedSkip, stepBatches: preset.stepBatches, encodeFrames: preset.encodeFrames, noDelay: options.noDelay,
    },
    transport,
    sweep,
    steps,
    encode,
  };
  const results: BenchResults = { ...partial, durationS: (performance.now() - started) / 1000, loadAverageAfter1m: os.loadavg()[0]!, targets: checkTargets(partial) };

  fs.mkdirSync(options.out, { recursive: true });
  const file = path.join(options.out, `${mode}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(`\npicam-mqtt benchmark (${mode}), ${machine.cpus} CPUs ${machine.cpuModel}, Node ${machine.node}, Mosquitto ${machine.mosquitto}, ` +
    `${results.durationS.toFixed(0)} s, load average ${machine.loadAverage1m.toFixed(1)} before / ${results.loadAverageAfter1m.toFixed(1)} after\n\n`);
  process.stdout.write(renderReport(results));
  if (options.markdown) process.stdout.write('\n' + renderReport(results, true));
  process.stdout.write(`\nJSON: ${path.relative(process.cwd(), file)}\n`);
  return 0;
}

main().then(
  (code) => { process.exitCode = code; },
  (error: Error) => {
    process.stderr.write(`picam bench failed: ${error.stack ?? error.message}\n`);
    process.exitCode = 1;
  },
);
