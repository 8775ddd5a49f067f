import type { EncodeFigure } from './encode-settings.js';
import type { MachineFacts } from './machine.js';
import type { StepCost } from './protocol-cost.js';
import type { ContenderFigures } from './transport.js';

/** What one run of `npm run bench` found; written as JSON to bench/results/. */
export interface BenchResults {
  schema: 1;
  mode: 'full' | 'quick';
  command: string;
  startedAt: string;
  durationS: number;
  machine: MachineFacts;
  /** 1-minute load average at the end; with machine.loadAverage1m it shows how busy the machine was. */
  loadAverageAfter1m: number;
  settings: {
    defaultChunkSize: number;
    throughputRounds: number;
    warmupMs: number;
    measureMs: number;
    pacedRounds: number;
    pacedFps: number;
    pacedFrames: number;
    pacedSkip: number;
    stepBatches: number;
    encodeFrames: number;
    noDelay: boolean;
  };
  /** Per resolution: mean JPEG size of its frames and every contender's figures. */
  transport: Array<{ resolution: string; jpegBytes: number; contenders: ContenderFigures[] }>;
  sweep?: { resolution: string; jpegBytes: number; ceiling: ContenderFigures | undefined; sizes: ContenderFigures[] };
  /** µs per frame of each protocol step, in process (best batch). */
  steps: StepCost[];
  encode: EncodeFigure[];
  targets: TargetCheck[];
}

export interface TargetCheck {
  target: string;
  scope: string;
  value: number;
  limit: number;
  /** How value compares with limit for a pass. */
  sense: '>=' | '<=';
  pass: boolean;
}
