/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

export function sum(samples: readonly number[]): number {
  let total = 0;
  for (const s of samples) total += s;
  return total;
}

export function mean(samples: readonly number[]): number {
  return samples.length === 0 ? NaN : sum(samples) / samples.length;
}
