import type { Logger } from '../../common/logger.js';
import type { FrameSource } from './frame-source.js';
import { FileSource } from './file-source.js';
import { SyntheticSource } from './synthetic-source.js';

/** What every backend may use of the configuration; each takes what applies to it. */
export interface CaptureSettings {
  width: number;
  height: number;
  fps: number;
  quality: number;
  loop: boolean;
  label: string;
  /** Clockwise degrees. */
  rotation: 0 | 90 | 180 | 270;
  hflip: boolean;
  vflip: boolean;
}

/** Builds the source a `--source` value names: `synthetic` or `file:<dir-or-glob>`. */
export function createSource(spec: string, settings: CaptureSettings, logger: Logger): FrameSource {
  if (spec === 'synthetic') return new SyntheticSource(settings, logger.child('synthetic'));
  if (spec.startsWith('file:')) return new FileSource({ pattern: spec.slice('file:'.length), fps: settings.fps, loop: settings.loop }, logger.child('file'));
  throw new Error(`unknown source "${spec}"`);
}
