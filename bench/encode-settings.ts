/**
 * sharp JPEG encoder settings the benchmark compares, for sources that do not give JPEG (raw frames encoded
 * on the Pi). `cache` and `concurrency` are process-wide in sharp, so each setting runs in its own process.
 */
export interface EncodeSetting {
  name: string;
  description: string;
  /** sharp.cache(false) when false; sharp's default (on) when undefined. */
  cache?: boolean;
  /** sharp.concurrency(n); sharp's default (one thread per core) when undefined. */
  concurrency?: number;
  optimiseCoding?: boolean;
  chromaSubsampling?: '4:2:0' | '4:4:4';
}

export const ENCODE_SETTINGS: readonly EncodeSetting[] = [
  { name: 'default', description: 'sharp defaults: jpeg({ quality })' },
  { name: 'no-optimise', description: 'optimiseCoding: false', optimiseCoding: false },
  { name: 'fast', description: 'optimiseCoding: false, cache(false), concurrency(1)', optimiseCoding: false, cache: false, concurrency: 1 },
  { name: 'fast-444', description: "as fast, chromaSubsampling '4:4:4'", optimiseCoding: false, cache: false, concurrency: 1, chromaSubsampling: '4:4:4' },
];

export const ENCODE_QUALITIES = [60, 80, 95] as const;

export interface EncodeJob {
  setting: EncodeSetting;
  qualities: readonly number[];
  resolutions: readonly string[];
  frames: number;
  warmup: number;
}

export interface EncodeFigure {
  setting: string;
  resolution: string;
  quality: number;
  /** Wall time per encode, one frame at a time as the agent does it. */
  wallMsMean: number;
  wallMsP50: number;
  cpuMsPerFrame: number;
  bytesMean: number;
}
