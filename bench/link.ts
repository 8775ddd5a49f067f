import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, LOG_LEVELS } from '../common/logger.js';
import { opt } from '../common/options.js';
import { benchCommandLine } from './command-line.js';
import { startMosquitto, type RunningBroker } from '../harness/mosquitto.js';
import { defaultCacheDir, ensureFrameCache } from './frames.js';
import { runLinkCase, type Contender, type LinkFigures, type LinkSource } from './link-case.js';
import { runScenario, type ScenarioFigures } from './link-scenario.js';
import { machineFacts } from './machine.js';
import { fmt, markdownTable, textTable, type Column } from './table.js';

/**
 * `npm run bench:link`: picam-mqtt over emulated wide-area links (round trip × uplink rate), next to the plain
 * approach (each JPEG published whole, QoS 0) in the same run, plus how fast the agent settles on a narrow
 * link and recovers when it widens. The link is a user-space TCP relay with per-direction delay, a rate limit
 * and a bounded queue (harness/link-emulator.ts), in front of a stock Mosquitto on loopback.
 */

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const SOURCES = ['file', 'synthetic'] as const;

const benchOptions = {
  quick: opt.boolean({ description: 'Short run (about 5 minutes): round trips 0, 100, 300 ms, links unlimited, 5 and 1 Mbit/s, shorter windows.' }, false),
  rtts: opt.list({ description: 'Round trips in ms (default 0,20,100,300).', arg: 'LIST' }),
  rates: opt.list({ description: 'Uplink rates in Mbit/s, "unlimited" for none (default unlimited,20,5,1).', arg: 'LIST' }),
  sources: opt.list({ description: 'Sources: file (720p camera JPEGs, quality fixed), synthetic (720p pattern, quality adjustable).', arg: 'LIST' }, [...SOURCES]),
  contenders: opt.list({ description: 'picam, plain (one whole JPEG per QoS 0 publish).', arg: 'LIST' }, ['picam', 'plain']),
  scenarios: opt.boolean({ description: 'Also measure settling on a narrow link and recovery when it widens.' }, true),
  fps: opt.number({ description: 'Camera frame rate.', min: 1, max: 60 }, 30),
  brokerNoDelay: opt.boolean({ description: "Run Mosquitto with set_tcp_nodelay true (its acknowledgements then never wait for Nagle's algorithm)." }, false),
  out: opt.string({ description: 'Folder for the JSON results.', arg: 'DIR' }, path.join(repoRoot, 'bench', 'results')),
  cache: opt.string({ description: 'Folder of the generated frames (made once, reused).', arg: 'DIR' }, defaultCacheDir()),
  markdown: opt.boolean({ description: 'Also print the tables as Markdown (for docs/BENCHMARKS.md).' }, false),
  logLevel: opt.enum({ description: 'Log level of progress lines (stderr).', values: LOG_LEVELS }, 'info'),
};

interface Preset { rtts: number[]; rates: Array<number | undefined>; settleMs: number; measureMs: number; narrowMs: number; wideMs: number; scenarioRates: number[] }

const PRESETS: Record<'full' | 'quick', Preset> = {
  full: { rtts: [0, 20, 100, 300], rates: [undefined, 20, 5, 1], settleMs: 8000, measureMs: 8000, narrowMs: 20_000, wideMs: 14_000, scenarioRates: [20, 5, 1] },
  quick: { rtts: [0, 100, 300], rates: [undefined, 5, 1], settleMs: 6000, measureMs: 5000, narrowMs: 16_000, wideMs: 12_000, scenarioRates: [1] },
};

export interface LinkBenchResults {
  schema: 1;
  mode: 'full' | 'quick';
  command: string;
  startedAt: string;
  durationS: number;
  machine: ReturnType<typeof machineFacts>;
  loadAverageAfter1m: number;
  settings: { fps: number; settleMs: number; measureMs: number; resolution: '1280x720'; brokerNoDelay: boolean };
  cases: LinkFigures[];
  scenarios: ScenarioFigures[];
}

const SCENARIO_RTT_MS = 100;

async function main(): Promise<number> {
  const options = benchCommandLine(benchOptions, 'bench:link', 'PICAM_BENCH_LINK_');
  if (typeof options === 'number') return options;
  const mode = options.quick ? 'quick' : 'full';
  const preset = PRESETS[mode];
  const problems: string[] = [];
  const rtts = options.rtts.length > 0 ? options.rtts.map(Number) : preset.rtts;
  if (rtts.some((r) => !Number.isFinite(r) || r < 0 || r > 2000)) problems.push('--rtts: use round trips in ms from 0 to 2000, e.g. 0,100,300');
  const rates = options.rates.length > 0 ? options.rates.map((r) => (r === 'unlimited' ? undefined : Number(r))) : preset.rates;
  if (rates.some((r) => r !== undefined && (!Number.isFinite(r) || r <= 0))) problems.push('--rates: use Mbit/s above 0 or "unlimited", e.g. unlimited,5,1');
  const sources = options.sources as LinkSource[];
  if (sources.some((s) => !(SOURCES as readonly string[]).includes(s))) problems.push(`--sources: use ${SOURCES.join(', ')}`);
  const contenders = options.contenders as Contender[];
  if (contenders.some((c) => c !== 'picam' && c !== 'plain')) problems.push('--contenders: use picam, plain');
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`picam bench:link: ${p}\n`);
    return 2;
  }
  const logger = createLogger({ level: options.logLevel, component: 'bench:link' });
  const startedAt = new Date();
  const started = performance.now();
  const machine = machineFacts();
  const deadlineMin = mode === 'quick' ? 15 : 45;
  setTimeout(() => {
    process.stderr.write(`picam bench:link failed: not finished after ${deadlineMin} minutes; aborting\n`);
    process.exit(1);
  }, deadlineMin * 60_000).unref();
  const frameDir = (await ensureFrameCache(options.cache, (line) => logger.info(line)))['720p']!;
  let broker: RunningBroker | undefined;
  const cases: LinkFigures[] = [];
  const scenarios: ScenarioFigures[] = [];
  let n = 0;
  try {
    broker = await startMosquitto({ extraConfig: options.brokerNoDelay ? ['set_tcp_nodelay true'] : [] });
    logger.info('broker started', { url: broker.url, mode });
    for (const source of sources) {
      for (const rttMs of rtts) {
        for (const mbit of rates) {
          for (const contender of contenders) {
            const figures = await runLinkCase({ brokerPort: broker.port, contender, source, frameDir, fps: options.fps, rttMs, mbit, settleMs: preset.settleMs, measureMs: preset.measureMs, cameraId: `case${n++}` });
            cases.push(figures);
            logger.info('case measured', { source, rttMs, link: mbit === undefined ? 'unlimited' : `${mbit} Mbit/s`, contender, fps: figures.fps.toFixed(1), p95Ms: figures.p95Ms.toFixed(0) });
          }
        }
      }
    }
    if (options.scenarios && contenders.includes('picam')) {
      for (const source of sources) {
        for (const mbit of preset.scenarioRates) {
          const figures = await runScenario({ brokerPort: broker.port, source, frameDir, fps: options.fps, rttMs: SCENARIO_RTT_MS, mbit, narrowMs: preset.narrowMs, wideMs: preset.wideMs, cameraId: `scenario${n++}` });
          scenarios.push(figures);
          logger.info('scenario measured', { source, mbit, settleS: figures.settleS, recoverS: figures.recoverS });
        }
      }
    }
  } finally {
    await broker?.stop();
  }
  const results: LinkBenchResults = {
    schema: 1, mode,
    command: `npm run bench:link${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
    startedAt: startedAt.toISOString(),
    durationS: (performance.now() - started) / 1000,
    machine,
    loadAverageAfter1m: os.loadavg()[0]!,
    settings: { fps: options.fps, settleMs: preset.settleMs, measureMs: preset.measureMs, resolution: '1280x720', brokerNoDelay: options.brokerNoDelay },
    cases, scenarios,
  };
  fs.mkdirSync(options.out, { recursive: true });
  const file = path.join(options.out, `link-${mode}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(`\npicam-mqtt link benchmark (${mode}), ${machine.cpus} CPUs ${machine.cpuModel}, Node ${machine.node}, Mosquitto ${machine.mosquitto}, ` +
    `${results.durationS.toFixed(0)} s, load average ${machine.loadAverage1m.toFixed(1)} before / ${results.loadAverageAfter1m.toFixed(1)} after\n\n`);
  process.stdout.write(renderLinkReport(results, textTable));
  if (options.markdown) process.stdout.write('\n' + renderLinkReport(results, markdownTable));
  process.stdout.write(`\nJSON: ${path.relative(process.cwd(), file)}\n`);
  return 0;
}

type Render = (columns: readonly Column[], rows: readonly (readonly string[])[]) => string;

const linkLabel = (mbit: number | null): string => (mbit === null ? 'unlimited' : `${mbit} Mbit/s`);
const ms = (v: number): string => (Number.isFinite(v) ? fmt(v) : 'n/a');

export function renderLinkReport(results: LinkBenchResults, render: Render): string {
  const columns: Column[] = [
    { title: 'source', align: 'left' }, { title: 'RTT ms' }, { title: 'link', align: 'left' }, { title: 'sender', align: 'left' },
    { title: 'fps' }, { title: 'quality', align: 'left' }, { title: 'frame KB' }, { title: 'carried / link' },
    { title: 'p50 ms' }, { title: 'p95 ms' }, { title: 'p95 target ms' }, { title: 'drops/s by reason', align: 'left' }, { title: 'sender RSS MB' },
  ];
  const measureS = results.settings.measureMs / 1000;
  const rows = results.cases.map((c) => [
    c.source, String(c.rttMs), linkLabel(c.mbit), c.contender === 'picam' ? 'picam-mqtt' : 'plain (1 msg/frame)',
    `${fmt(c.fps)} / ${c.cameraFps}`,
    c.quality === null ? 'camera\'s' : `q${c.quality}${c.targetFps !== null && c.targetFps < c.cameraFps ? ` @${fmt(c.targetFps)} fps` : ''}`,
    fmt(c.meanFrameKB),
    c.carriedShare === null ? `${fmt(c.carriedKbps / 1000)} Mbit/s` : c.carriedShare.toFixed(2),
    ms(c.p50Ms), ms(c.p95Ms),
    c.p95BoundMs === null ? '' : `${fmt(c.p95BoundMs)} ${c.p95Ms <= c.p95BoundMs ? '(met)' : '(missed)'}`,
    c.drops === null ? 'n/a (never drops)' : Object.entries(c.drops).map(([r, k]) => `${r} ${fmt(k / measureS)}`).join(', ') || 'none',
    fmt(c.senderPeakRssMb),
  ]);
  let out = `#### Streaming 1280x720 at ${results.settings.fps} fps over an emulated link (window of ${measureS} s after ${results.settings.settleMs / 1000} s to settle${results.settings.brokerNoDelay ? '; Mosquitto with set_tcp_nodelay true' : ''})\n`;
  out += render(columns, rows) + '\n';
  if (results.scenarios.length > 0) {
    const sc: Column[] = [
      { title: 'source', align: 'left' }, { title: 'RTT ms' }, { title: 'narrow link', align: 'left' }, { title: 'settled in s' },
      { title: 'settled at', align: 'left' }, { title: 'steps on it' }, { title: 'full quality and rate after widening, s' }, { title: 'steps after' },
    ];
    const scRows = results.scenarios.map((s) => [
      s.source, String(s.rttMs), linkLabel(s.mbit), s.settleS === null ? 'not settled' : fmt(s.settleS),
      `${s.settledQuality === null ? 'camera\'s quality' : `q${s.settledQuality}`} @${fmt(s.settledFps)} fps`, String(s.stepsNarrow),
      s.recoverS === null ? 'not within the phase' : fmt(s.recoverS), String(s.stepsWide),
    ]);
    out += `\n#### Settling on a narrow link from the first frame, then the link widens to no limit\n` + render(sc, scRows) + '\n';
  }
  return out;
}

// Ctrl-C or a kill ends the run through process.exit, so the 'exit' handlers stop the senders and the broker.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().then(
  (code) => { process.exitCode = code; },
  (error: Error) => {
    process.stderr.write(`picam bench:link failed: ${error.stack ?? error.message}\n`);
    process.exitCode = 1;
  },
);
