import fs from 'node:fs';
import path from 'node:path';

/**
 * V8 CPU profiles of the benchmark's processes (`npm run bench -- --cpu-prof DIR`) and a summary of where
 * their time went: `node dist/bench/profile.js DIR-or-FILES...` prints the functions with the most self time.
 */

export function profileArgs(dir: string | undefined, name: string): string[] {
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  where: string;
  selfMs: number;
  share: number;
}

/** Self time per function (summed over every place it appears in the call tree), largest first. */
export function hotSpots(profile: CpuProfile, top = 15): { totalMs: number; idleMs: number; spots: HotSpot[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<string, { name: string; where: string; us: number }>();
  let totalUs = 0;
  let idleUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') { idleUs += dt; continue; }
    totalUs += dt;
    const where = url ? `${url.replace(/^file:\/\//, '').replace(/.*node_modules\//, '').replace(/.*\/dist\//, 'dist/')}:${lineNumber + 1}` : '';
    const key = `${functionName}@${where}`;
    const entry = selfUs.get(key) ?? { name: functionName || '(anonymous)', where, us: 0 };
    entry.us += dt;
    selfUs.set(key, entry);
  }
  const spots = [...selfUs.values()].sort((a, b) => b.us - a.us).slice(0, top)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, share: totalUs > 0 ? e.us / totalUs : 0 }));
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, spots };
}

function main(args: string[]): void {
  const files = args.flatMap((a) => (fs.statSync(a).isDirectory() ? fs.readdirSync(a).filter((f) => f.endsWith('.cpuprofile')).sort().map((f) => path.join(a, f)) : [a]));
  for (const file of files) {
    const { totalMs, idleMs, spots } = hotSpots(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile);
    process.stdout.write(`\n${path.basename(file)}: ${totalMs.toFixed(0)} ms busy, ${idleMs.toFixed(0)} ms idle\n`);
    for (const s of spots) process.stdout.write(`  ${(s.share * 100).toFixed(1).padStart(5)}%  ${s.selfMs.toFixed(1).padStart(8)} ms  ${s.name}  ${s.where}\n`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname) main(process.argv.slice(2));
