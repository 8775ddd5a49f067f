import type { Logger } from '../../common/logger.js';
import { UnknownSource } from './capture-errors.js';
import { detectCamera, type DetectedSource } from './auto-detect.js';
import { settingsFrameSize, type CameraSettings } from './camera-settings.js';
import type { DeathGuardKind } from './death-guard.js';
import type { AdjustableSetting, CameraApplies, FrameSink, FrameSource } from './frame-source.js';
import type { SupervisionSettings } from './process-frame-source.js';
import { RaspistillSource } from './raspistill-source.js';
import { createRpicamSource } from './rpicam-source.js';
import { createV4l2Source } from './v4l2-source.js';
import type { V4l2Paths } from './v4l2-devices.js';
import { FileSource } from './file-source.js';
import { SyntheticSource } from './synthetic-source.js';

/** What every backend may use of the configuration; each takes what applies to it. */
export interface CaptureSettings extends CameraSettings {
  /** file: source: start again from the first file after the last. */
  loop: boolean;
  /** Text the synthetic source draws, e.g. the camera id. */
  label: string;
}

/**
 * `--source` values to FrameSource objects. Each backend is one entry of BACKENDS, written `name` or
 * `name:argument`; a new backend is a new entry here.
 */

export interface SourceOptions {
  /** Environment of camera programs (PATH decides which are found). */
  env?: NodeJS.ProcessEnv;
  /** Parent-death guard for camera programs; detected when unset. */
  deathGuard?: DeathGuardKind;
  /** Overrides for supervision timings (tests). */
  supervision?: Partial<SupervisionSettings>;
  v4l2Paths?: V4l2Paths;
}

type Factory = (argument: string | undefined, settings: CaptureSettings, logger: Logger, options: SourceOptions) => FrameSource;

function supervision(options: SourceOptions): Partial<SupervisionSettings> {
  return { ...options.supervision, env: options.env ?? options.supervision?.env, deathGuard: options.deathGuard ?? options.supervision?.deathGuard };
}

const BACKENDS: Record<string, { argument: 'none' | 'optional' | 'required'; create: Factory; help: string }> = {
  auto: { argument: 'none', help: 'auto', create: (_a, settings, logger, options) => new AutoSource(settings, logger, options) },
  rpicam: { argument: 'none', help: 'rpicam', create: (_a, settings, logger, options) => createRpicamSource(settings, logger, { supervision: supervision(options) }) },
  raspistill: { argument: 'none', help: 'raspistill', create: (_a, settings, logger, options) => new RaspistillSource(settings, logger, { supervision: supervision(options) }) },
  synthetic: { argument: 'none', help: 'synthetic', create: (_a, settings, logger) => new SyntheticSource(settings, logger) },
  file: {
    argument: 'required',
    help: 'file:<dir-or-glob>',
    create: (pattern, settings, logger) => new FileSource({ pattern: pattern!, fps: settings.fps, loop: settings.loop }, logger),
  },
  v4l2: {
    argument: 'optional',
    help: 'v4l2[:DEVICE]',
    create: (device, settings, logger, options) =>
      createV4l2Source(device ? { ...settings, device } : settings, logger, { supervision: supervision(options), paths: options.v4l2Paths }),
  },
};

/** The accepted forms, for help texts and error messages. */
export function sourceSpecForms(): string[] {
  return Object.values(BACKENDS).map((b) => b.help);
}

/** Creates the source named by a `--source` value. A bad value is an UnknownSource, a setting the backend cannot do an UnsupportedSetting. */
export function createSource(spec: string, settings: CaptureSettings, logger: Logger, options: SourceOptions = {}): FrameSource {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const argument = colon < 0 ? undefined : spec.slice(colon + 1);
  const backend = Object.hasOwn(BACKENDS, name) ? BACKENDS[name] : undefined;
  if (!backend || (backend.argument === 'none' && argument !== undefined) || (backend.argument === 'required' && !argument) || argument === '') {
    throw new UnknownSource(spec, sourceSpecForms());
  }
  return backend.create(argument, settings, logger.child(name), options);
}

function specOf(detected: DetectedSource): string {
  return detected.kind === 'v4l2' ? `v4l2:${detected.device}` : detected.kind;
}

/** `--source auto`: finds the camera when started, then behaves as the chosen source. */
export class AutoSource implements FrameSource {
  private readonly settings: CaptureSettings;
  private readonly logger: Logger;
  private readonly options: SourceOptions;
  private chosen: FrameSource | undefined;
  private stopped = false;

  constructor(settings: CaptureSettings, logger: Logger, options: SourceOptions) {
    this.settings = settings;
    this.logger = logger;
    this.options = options;
  }

  get kind(): string {
    return this.chosen?.kind ?? 'auto';
  }

  get width(): number {
    return this.chosen?.width ?? settingsFrameSize(this.settings).width;
  }

  get height(): number {
    return this.chosen?.height ?? settingsFrameSize(this.settings).height;
  }

  get applies(): CameraApplies | undefined {
    return this.chosen?.applies;
  }

  get adjustable(): readonly AdjustableSetting[] | undefined {
    return this.chosen?.adjustable;
  }

  settingsSeen(settings: CameraSettings): Partial<CameraSettings> {
    return this.chosen?.settingsSeen?.(settings) ?? { ...settings };
  }

  /** The source auto-detection picked (after start). */
  get selected(): FrameSource | undefined {
    return this.chosen;
  }

  async start(sink: FrameSink): Promise<void> {
    const detection = await detectCamera({ env: this.options.env, v4l2Paths: this.options.v4l2Paths });
    for (const line of detection.skipped) this.logger.info('not using', { check: line });
    const spec = specOf(detection.source);
    this.logger.info(`using --source ${spec}`, { reason: detection.reason });
    if (this.stopped) return;
    this.chosen = createSource(spec, this.settings, this.logger, this.options);
    await this.chosen.start(sink);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.chosen?.stop();
  }
}
