import type { Logger } from '../../common/logger.js';
import type { CameraSettings } from './camera-settings.js';
import { nowUs, type CameraApplies, type FrameSink, type FrameSource } from './frame-source.js';
import { MjpegSplitter, type MjpegSplitterStats } from './mjpeg-splitter.js';
import { SupervisedProcess, type SupervisedProcessOptions } from './supervised-process.js';

/**
 * A frame source backed by a program that writes concatenated JPEGs to stdout (rpicam-vid, ffmpeg, raspistill):
 * supervised process -> MJPEG splitter -> sink. The camera's bytes are passed on untouched.
 */

export interface ProgramLaunch {
  /** Program name on PATH, or a path. */
  command: string;
  args: string[];
  /** Short program name for logs. */
  name: string;
  /** What the program applies of the settings, when only known once prepared (v4l2: passthrough or encode). */
  applies?: CameraApplies;
}

/** Supervision settings a backend chooses for its program. */
export type SupervisionSettings = Pick<
  SupervisedProcessOptions,
  'stallTimeoutMs' | 'startupTimeoutMs' | 'stopTimeoutMs' | 'backoff' | 'maxFailedStarts' | 'healthyAfterMs' | 'deathGuard' | 'env'
>;

export interface ProcessFrameSourceOptions {
  kind: string;
  width: number;
  height: number;
  logger: Logger;
  /** What the program applies of the wanted settings, as far as known before it is prepared. */
  applies: CameraApplies;
  /** The part of the settings the program is told (FrameSource.settingsSeen); absent: all of them. */
  settingsSeen?: (settings: CameraSettings) => Partial<CameraSettings>;
  /** Works out the command line when the source starts (may probe the system). */
  prepare: () => Promise<ProgramLaunch>;
  supervision: SupervisionSettings;
  maxFrameBytes?: number;
}

/** Capture timestamps that never go backwards and never repeat, even for frames split out of one read. */
export class MonotonicStamp {
  private last = 0;
  next(): number {
    this.last = Math.max(nowUs(), this.last + 1);
    return this.last;
  }
}

export class ProcessFrameSource implements FrameSource {
  readonly kind: string;
  readonly width: number;
  readonly height: number;
  private readonly options: ProcessFrameSourceOptions;
  private launched: ProgramLaunch | undefined;
  private process: SupervisedProcess | undefined;
  private splitter: MjpegSplitter | undefined;
  private stopped = false;
  private stopPromise: Promise<void> | undefined;

  constructor(options: ProcessFrameSourceOptions) {
    this.options = options;
    this.kind = options.kind;
    this.width = options.width;
    this.height = options.height;
  }

  get applies(): CameraApplies {
    return this.launched?.applies ?? this.options.applies;
  }

  settingsSeen(settings: CameraSettings): Partial<CameraSettings> {
    return this.options.settingsSeen?.(settings) ?? { ...settings };
  }

  /** Pid of the camera program while it runs (for diagnostics and tests). */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  get restarts(): number {
    return this.process?.restarts ?? 0;
  }

  get splitterStats(): MjpegSplitterStats | undefined {
    return this.splitter?.stats;
  }

  async start(sink: FrameSink): Promise<void> {
    if (this.process) throw new Error(`${this.kind} source already started`);
    const launch = await this.options.prepare();
    if (this.stopped) return;
    this.launched = launch;
    const stamp = new MonotonicStamp();
    const splitter = new MjpegSplitter({
      maxFrameBytes: this.options.maxFrameBytes,
      onFrame: (data) => {
        supervisor.noteProgress();
        sink.frame({ data, capturedAtUs: stamp.next() });
      },
    });
    const supervisor: SupervisedProcess = new SupervisedProcess({
      ...this.options.supervision,
      name: launch.name,
      command: launch.command,
      args: launch.args,
      logger: this.options.logger,
      onStdout: (chunk) => splitter.push(chunk),
      onSpawn: () => {
        const before = splitter.stats;
        splitter.reset();
        if (before.garbageBytes > 0) this.options.logger.debug('splitter', { ...before });
      },
      onFatal: (error) => sink.fatal(error),
    });
    this.splitter = splitter;
    this.process = supervisor;
    await supervisor.start();
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.stopPromise ??= (async () => {
      await this.process?.stop();
      const stats = this.splitter?.stats;
      if (stats && (stats.garbageBytes > 0 || stats.brokenFrames > 0 || stats.oversizeFrames > 0)) {
        this.options.logger.info('stream had junk', { ...stats });
      }
    })();
    return this.stopPromise;
  }
}
