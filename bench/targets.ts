import type { EncodeFigure } from './encode-settings.js';
import type { BenchResults, TargetCheck } from './results.js';

/** The targets of issue 8, checked against one run's figures. */

function check(target: string, scope: string, value: number, sense: '>=' | '<=', limit: number): TargetCheck {
  const pass = Number.isFinite(value) && (sense === '>=' ? value >= limit : value <= limit);
  return { target, scope, value, limit, sense, pass };
}

/** The setting the benchmark recommends against sharp's defaults: speed-up (median wall time) and size change. */
export function encodeGain(figures: readonly EncodeFigure[], resolution: string, quality: number, setting = 'fast'): { speedup: number; sizeChange: number } | undefined {
  const base = figures.find((f) => f.resolution === resolution && f.quality === quality && f.setting === 'default');
  const fast = figures.find((f) => f.resolution === resolution && f.quality === quality && f.setting === setting);
  if (!base || !fast) return undefined;
  return { speedup: base.wallMsP50 / fast.wallMsP50, sizeChange: fast.bytesMean / base.bytesMean - 1 };
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
    const gain = encodeGain(results.encode, resolution, 80);
    if (!gain) continue;
    checks.push(check("sharp encode speed-up of 'fast' over defaults", `${resolution} q80`, gain.speedup, '>=', 2));
    checks.push(check("sharp 'fast' output size change", `${resolution} q80`, gain.sizeChange, '<=', 0.05));
  }
  return checks;
}
