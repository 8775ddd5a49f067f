import type { EncodeFigure } from './encode-settings.js';
import type { BenchResults, TargetCheck } from './results.js';

/** The targets of issue 8, checked against one run's figures. */

function check(target: string, scope: string, value: number, sense: '>=' | '<=', limit: number): TargetCheck {
  const pass = Number.isFinite(value) && (sense === '>=' ? value >= limit : value <= limit);
  return { target, scope, value, limit, sense, pass };
}

/** The fastest setting whose output is within 5% of the default's size, as a speed-up over the default. */
export function bestEncodeSpeedup(figures: readonly EncodeFigure[], resolution: string, quality: number): { setting: string; speedup: number } | undefined {
  const same = figures.filter((f) => f.resolution === resolution && f.quality === quality);
  const base = same.find((f) => f.setting === 'default');
  if (!base) return undefined;
  const eligible = same.filter((f) => f.setting !== 'default' && Math.abs(f.bytesMean / base.bytesMean - 1) <= 0.05);
  if (eligible.length === 0) return undefined;
  const best = eligible.reduce((a, b) => (b.wallMsMean < a.wallMsMean ? b : a));
  return { setting: best.setting, speedup: base.wallMsMean / best.wallMsMean };
}

export function checkTargets(results: Pick<BenchResults, 'transport' | 'encode' | 'settings'>): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const { resolution, contenders } of results.transport) {
    const ceiling = contenders.find((c) => c.contender === 'ceiling');
    const picam = contenders.find((c) => c.contender === 'picam');
    if (!ceiling || !picam) continue;
    checks.push(check('throughput / ceiling', resolution, picam.throughput.fps / ceiling.throughput.fps, '>=', 0.8));
    checks.push(check('sender CPU per frame / ceiling', resolution, picam.throughput.senderCpuMsPerFrame / ceiling.throughput.senderCpuMsPerFrame, '<=', 1.5));
    checks.push(check('receiver CPU per frame / ceiling', resolution, picam.throughput.receiverCpuMsPerFrame / ceiling.throughput.receiverCpuMsPerFrame, '<=', 1.5));
    checks.push(check('wire bytes / JPEG bytes', resolution, picam.latency.wireOverJpeg, '<=', 1.01));
    if (resolution === '1080p') {
      checks.push(check(`latency p99 ms (ceiling p99 + 2 ms)`, `${resolution} @ ${results.settings.pacedFps} fps`, picam.latency.p99Ms, '<=', ceiling.latency.p99Ms + 2));
    }
  }
  const resolutions = [...new Set(results.encode.map((f) => f.resolution))];
  for (const resolution of resolutions) {
    const best = bestEncodeSpeedup(results.encode, resolution, 80);
    if (best) checks.push(check(`sharp encode speed-up, size within 5% (${best.setting})`, `${resolution} q80`, best.speedup, '>=', 2));
  }
  return checks;
}
