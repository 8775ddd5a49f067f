import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Runs dist/test/**/*.test.js (or those under the folders or files given), each file in its own `node --test`
// process, several at once: every file starts its own mosquitto on a free port, its own temp folders and its
// own processes, so files share nothing but the CPU. A file's output is printed whole when it ends (never
// interleaved), then a table of the slowest files and the totals.
//
//   node dist/scripts/run-tests.js [--jobs N] [--long] [FOLDER-OR-FILE ...]
//
// --long runs the long suite (npm run test:long) instead of the default one. --jobs (default: the number of
// CPUs, at least 2; or PICAM_TEST_JOBS) sets how many files run at once, a file in WAITING counting as half of
// one (with --jobs 1, one file at a time whatever it is); files in ALONE run afterwards, among themselves only.
// The files that took longest last time start first (dist/test-durations.json), so the run ends with short
// files rather than waiting on one long one.
// Node 20's runner has no glob support, hence this file.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'); // dist/scripts → the project

/**
 * The long suite: runs of minutes that prove endurance rather than behaviour the default suite lacks.
 * `npm run test:long` runs them, and so does .ci/run. Paths are relative to test/ and without the extension.
 */
const LONG: Readonly<Record<string, string>> = {
  'reliability/soak': 'streams at 30 fps for 2 minutes (PICAM_SOAK_SECONDS)',
  'security/fuzz-viewer': '100,000 malformed messages through a real broker',
};

/**
 * Files that measure rates, memory or timing against the wall clock: they run after the others, among
 * themselves only, so that the machine is as quiet as this suite can make it. Two at a time (with 2 CPUs or
 * more): each keeps a third of one CPU busy or less (measured alone: link-pacing 30 %, adaptive-quality 29 %,
 * slow-page-memory 39 %), so two leave a CPU free; those in WHOLE_MACHINE run by themselves.
 */
const ALONE: Readonly<Record<string, string>> = {
  'integration/link-pacing': 'frame rates through an emulated link',
  'integration/adaptive-quality': 'settings chosen from the rate a throttled link delivers',
  'viewer/slow-page-memory': "the viewer's memory over 15 s with a slow page",
  'security/memory-bounds': 'memory ceilings under floods',
};

/** Of ALONE, the files that use more than a CPU themselves: memory-bounds floods a broker and a viewer (143 %). */
const WHOLE_MACHINE: ReadonlySet<string> = new Set(['security/memory-bounds']);

/**
 * Files that spend most of their time waiting on what they test (outages, timeouts, backoff, windows with
 * nothing in them): measured alone, each kept a quarter to two thirds of one CPU busy. Each counts as half a
 * job, so that twice as many of them run at once. Their timings have room for a busy machine; what measures
 * rates is in ALONE.
 */
const WAITING: Readonly<Record<string, string>> = {
  'reliability/network-loss': 'a network cut, a half-open link until keepalive notices, a lost connection attempt',
  'reliability/broker-restart': 'a broker down for 3 s',
  'reliability/camera-stall': 'stall timeouts and windows with no watchdog ping',
  'integration/broker-refusals': 'refused connections and a 5 s window counting reconnects',
  'integration/bridge': 'the central broker down for 4 s, the bridge retrying',
  'integration/remote-control': 'frames counted over 2 s windows at 4 and 20 fps',
  'security/deploy-acl': 'barriers that let refused messages show, on an idle broker',
  'viewer/record-cli': 'segments of a recording at 8 fps',
  'capture/process-lifetime': 'camera programs dying with their owner, or not',
  'capture/raspistill-source': "the stand-in raspistill's 1 s settle and time-lapse intervals",
  'capture/rpicam-source': 'the stand-in rpicam-vid hanging until the supervisor restarts it',
};

/**
 * Files that each drive a headless Chromium (several hundred MB and a core or more of its own): one such file
 * runs at a time, beside files of other kinds.
 */
const ONE_AT_A_TIME = (name: string): string | undefined => (name.startsWith('browser/') ? 'chromium' : undefined);

interface Outcome { file: string; ms: number; code: number | null; pass: number; fail: number; skip: number; output: string; tailMs: number }

/**
 * A file whose process outlives its last test by more than this is named in the report: its after() hooks are
 * slow, or something it started (a timer, a socket, a child) still holds it open, which costs the run that long
 * for nothing.
 */
const TAIL_NOTE_MS = 3000;

const argv = process.argv.slice(2);
// One file per CPU, at least two: most of a file's time is spent waiting on brokers, processes and timers,
// but the tests that measure rates need the CPU they ask for.
let jobs = Number(process.env.PICAM_TEST_JOBS ?? Math.max(2, os.cpus().length));
let long = false;
const targets: string[] = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--jobs') jobs = Number(argv[++i]);
  else if (argv[i] === '--long') long = true;
  else targets.push(argv[i]!);
}
if (!Number.isInteger(jobs) || jobs < 1) {
  console.error(`--jobs (or PICAM_TEST_JOBS) must be a whole number of at least 1: got ${jobs}`);
  process.exit(2);
}

const testDir = path.join(root, 'dist', 'test');
const roots = targets.length > 0 ? targets.map((p) => path.resolve(testDir, p.replace(/^(dist\/)?test\//, ''))) : [testDir];

function find(dir: string): string[] {
  if (!fs.existsSync(dir)) return fs.existsSync(`${dir}.test.js`) ? [`${dir}.test.js`] : [];
  if (fs.statSync(dir).isFile()) return [dir];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return find(full);
    return entry.name.endsWith('.test.js') ? [full] : [];
  });
}

const nameOf = (file: string): string => path.relative(testDir, file).replace(/\.test\.js$/, '');
// A compiled test whose source is gone (renamed or deleted since the last build) is not run.
const hasSource = (file: string): boolean => fs.existsSync(path.join(root, 'test', path.relative(testDir, file)).replace(/\.js$/, '.ts'));
const named = [...new Set(roots.flatMap(find))].filter(hasSource).sort();
// Files named one by one run whatever suite they belong to; a folder gives its files of the chosen suite.
const explicit = new Set(targets.map((t) => path.resolve(testDir, t.replace(/^(dist\/)?test\//, ''))).flatMap((t) => [t, `${t}.test.js`]));
const files = named.filter((f) => explicit.has(f) || (nameOf(f) in LONG) === long);
for (const name of Object.keys({ ...LONG, ...ALONE, ...WAITING })) {
  if (!fs.existsSync(path.join(testDir, `${name}.test.js`))) {
    console.error(`scripts/run-tests.ts names test/${name}.test.ts, which does not exist: update LONG, ALONE or WAITING`);
    process.exit(2);
  }
}
// WHOLE_MACHINE names files of ALONE, so the check above covers them once this holds.
for (const name of WHOLE_MACHINE) {
  if (!(name in ALONE)) { console.error(`scripts/run-tests.ts: ${name} is in WHOLE_MACHINE but not in ALONE`); process.exit(2); }
}
if (files.length === 0) {
  console.error(`no ${long ? 'long ' : ''}test files under ${roots.join(', ')}`);
  process.exit(1);
}

/**
 * A file that has not ended after this long is stopped (it and everything it started) and counted as failed:
 * a test that fails half-way can leave a child process that keeps its file alive for ever.
 */
const FILE_LIMIT_S = Number(process.env.PICAM_TEST_FILE_LIMIT_S ?? 600);

const runningGroups = new Set<number>();
// The files run in process groups of their own, which Ctrl-C at the terminal does not reach: pass it on.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const pid of runningGroups) { try { process.kill(-pid, 'SIGKILL'); } catch { /* ended meanwhile */ } }
    process.exit(130);
  });
}

function runFile(file: string): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    // Its own process group, so that a file over its time limit can be ended with all it started.
    const child = spawn(process.execPath, ['--test', '--test-reporter=tap', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    // When the last top-level test ended: its TAP line ("ok 3 - …") is written as it ends.
    let lastTestAt = started;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (/^(not )?ok \d+ /m.test(chunk.toString('utf8'))) lastTestAt = performance.now();
    });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString('utf8'); });
    runningGroups.add(child.pid!);
    let overLimit = false;
    const limit = setTimeout(() => {
      overLimit = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* ended meanwhile */ }
    }, FILE_LIMIT_S * 1000);
    child.once('close', (exitCode) => {
      clearTimeout(limit);
      runningGroups.delete(child.pid!);
      if (overLimit) output += `\nrun-tests: stopped after ${FILE_LIMIT_S} s (PICAM_TEST_FILE_LIMIT_S), with every process it had started\n`;
      const code = overLimit ? 1 : exitCode;
      const count = (what: string): number => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(output)?.[1] ?? 0);
      const ended = performance.now();
      resolve({ file: nameOf(file), ms: ended - started, code, pass: count('pass'), fail: count('fail'), skip: count('skipped'), output, tailMs: ended - lastTestAt });
    });
  });
}

function report(o: Outcome): void {
  const ok = o.code === 0;
  const tail = o.tailMs > TAIL_NOTE_MS ? `; ended ${(o.tailMs / 1000).toFixed(1)} s after its last test: slow to clean up, or held open by something it started` : '';
  process.stdout.write(`${ok ? 'ok    ' : 'FAILED'} ${(o.ms / 1000).toFixed(1).padStart(6)} s  test/${o.file}  (${o.pass} passed${o.fail ? `, ${o.fail} failed` : ''}${o.skip ? `, ${o.skip} skipped` : ''}${tail})\n`);
  if (!ok) {
    process.stdout.write(o.output.replace(/^/gm, '    | ') + '\n');
    return;
  }
  // The figures tests print ("# ..." lines of their own), without the runner's summary lines.
  const figures = o.output.split('\n').filter((l) => /^\s*# /.test(l) && !/^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(l) && !/^\s*# Subtest:/.test(l));
  for (const line of figures) process.stdout.write(`         ${line.trim().replace(/^# \\#/, '#')}\n`);
}

/**
 * Runs the files `width` jobs at a time, a file taking `share` of a job (never more than the width); of the
 * files in one ONE_AT_A_TIME group, one at a time. The first file in the list that fits starts.
 */
async function pool(list: string[], width: number, shareOf: (name: string) => number): Promise<Outcome[]> {
  const queue = [...list];
  const done: Outcome[] = [];
  const busy = new Set<string>();
  const share = (file: string): number => Math.min(width, shareOf(nameOf(file)));
  let wake: () => void = () => {};
  let running = 0;
  let used = 0;
  await new Promise<void>((resolve) => {
    const next = (): void => {
      for (;;) {
        const index = queue.findIndex((file) => {
          const group = ONE_AT_A_TIME(nameOf(file));
          return (group === undefined || !busy.has(group)) && used + share(file) <= width;
        });
        if (index < 0) break;
        const file = queue.splice(index, 1)[0]!;
        const group = ONE_AT_A_TIME(nameOf(file));
        if (group) busy.add(group);
        running++;
        used += share(file);
        void runFile(file).then((outcome) => {
          report(outcome);
          done.push(outcome);
          if (group) busy.delete(group);
          running--;
          used -= share(file);
          wake();
        });
      }
      if (running === 0 && queue.length === 0) resolve();
    };
    wake = next;
    next();
  });
  return done;
}

const durationsFile = path.join(root, 'dist', 'test-durations.json');
const lastTime: Record<string, number> = (() => {
  try { return JSON.parse(fs.readFileSync(durationsFile, 'utf8')) as Record<string, number>; } catch { return {}; }
})();
// Longest first; a file never timed (new) counts as long, so it does not end the run alone.
files.sort((a, b) => (lastTime[nameOf(b)] ?? Infinity) - (lastTime[nameOf(a)] ?? Infinity) || a.localeCompare(b));

const started = performance.now();
const alone = files.filter((f) => nameOf(f) in ALONE);
const together = files.filter((f) => !(nameOf(f) in ALONE));
const quietWidth = Math.min(jobs, 2);
process.stdout.write(`${files.length} test files (${long ? 'long suite' : 'default suite'}), ${jobs} at a time${jobs > 1 ? ' (two of those that mostly wait to one)' : ''}${alone.length ? `, then ${alone.length} among themselves, ${quietWidth} at a time` : ''}; ${os.cpus().length} CPUs\n`);
const outcomes = [
  ...(await pool(together, jobs, (name) => (jobs > 1 && name in WAITING ? 0.5 : 1))),
  ...(await pool(alone, quietWidth, (name) => (WHOLE_MACHINE.has(name) ? Infinity : 1))),
];
const wall = (performance.now() - started) / 1000;
for (const o of outcomes) lastTime[o.file] = Math.round(o.ms);
fs.writeFileSync(durationsFile, JSON.stringify(lastTime, null, 1) + '\n');

const slowest = [...outcomes].sort((a, b) => b.ms - a.ms).slice(0, 10);
process.stdout.write(`\nslowest files:\n${slowest.map((o) => `  ${(o.ms / 1000).toFixed(1).padStart(6)} s  test/${o.file}`).join('\n')}\n`);
const failed = outcomes.filter((o) => o.code !== 0);
const sum = (key: 'pass' | 'fail' | 'skip'): number => outcomes.reduce((n, o) => n + o[key], 0);
process.stdout.write(`\n${outcomes.length} files, ${sum('pass')} tests passed, ${sum('fail')} failed, ${sum('skip')} skipped, in ${wall.toFixed(1)} s\n`);
if (failed.length > 0) process.stdout.write(`failed: ${failed.map((o) => `test/${o.file}`).join(', ')}\n`);
process.exit(failed.length > 0 ? 1 : 0);
