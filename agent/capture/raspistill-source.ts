import { Raspistill, type ICameraOptions, type IRaspistillExecutor } from 'node-raspistill';
import type { Logger } from '../../common/logger.js';
import { CameraProcessError } from './capture-errors.js';
import { settingsFrameSize, raspistillPlan, type CameraSettings } from './camera-settings.js';
import type { FrameSink, FrameSource } from './frame-source.js';
import { MjpegSplitter } from './mjpeg-splitter.js';
import { MonotonicStamp, type SupervisionSettings } from './process-frame-source.js';
import { SupervisedProcess } from './supervised-process.js';

/**
 * The legacy camera stack (Raspberry Pi OS Buster, 32-bit Bullseye with the legacy camera enabled): raspistill
 * in timelapse mode writing each JPEG to stdout, driven through node-raspistill.
 *
 * node-raspistill builds raspistill's command line from its option names; its own process handling is replaced
 * by an injected executor, because its timelapse reader starts a new image whenever a stdout chunk merely looks
 * like one (chunk boundaries are arbitrary on a pipe) and it never restarts a failed camera. The executor runs
 * raspistill under SupervisedProcess and cuts stdout with the MJPEG splitter, which also walks past the EXIF
 * segment raspistill writes into every image.
 */

interface ExecutorHooks {
  logger: Logger;
  supervision: SupervisionSettings;
  extraArgs: string[];
  command: string;
  onFatal: (error: CameraProcessError) => void;
}

export class SupervisedRaspistillExecutor implements IRaspistillExecutor {
  private readonly hooks: ExecutorHooks;
  private supervisor: SupervisedProcess | undefined;
  private finish: (() => void) | undefined;
  /** Settles when raspistill produced its first image (or failed for good). */
  started: Promise<void> | undefined;

  constructor(hooks: ExecutorHooks) {
    this.hooks = hooks;
  }

  get pid(): number | undefined {
    return this.supervisor?.pid;
  }

  get restarts(): number {
    return this.supervisor?.restarts ?? 0;
  }

  exec(): Promise<Buffer> {
    return Promise.reject(new Error('file output is not used by picam-agent'));
  }

  spawnAndGetImage(): Promise<Buffer> {
    return Promise.reject(new Error('single stills are not used by picam-agent'));
  }

  /** Runs raspistill with node-raspistill's arguments until stop(); resolves then. */
  spawnAndGetImages(args: string[], cb: (image: Buffer) => unknown): Promise<void> {
    if (this.supervisor) return Promise.reject(new Error('raspistill is already running'));
    const splitter = new MjpegSplitter({
      onFrame: (image) => {
        supervisor.noteProgress();
        cb(image);
      },
    });
    const supervisor = new SupervisedProcess({
      ...this.hooks.supervision,
      name: 'raspistill',
      command: this.hooks.command,
      args: [...args, ...this.hooks.extraArgs],
      logger: this.hooks.logger,
      onStdout: (chunk) => splitter.push(chunk),
      onSpawn: () => splitter.reset(),
      onFatal: (error) => {
        this.hooks.onFatal(error);
        this.finish?.();
      },
    });
    this.supervisor = supervisor;
    this.started = supervisor.start();
    return new Promise<void>((resolve) => {
      this.finish = resolve;
      this.started!.catch(() => resolve());
    });
  }

  killProcess(): void {
    void this.stop();
  }

  async stop(): Promise<void> {
    await this.supervisor?.stop();
    this.finish?.();
  }
}

export interface RaspistillSourceOptions {
  supervision?: Partial<SupervisionSettings>;
  /** Program to run; raspistill on PATH by default. */
  command?: string;
}

export class RaspistillSource implements FrameSource {
  readonly kind = 'raspistill';
  readonly width: number;
  readonly height: number;
  private readonly logger: Logger;
  private readonly cameraOptions: ICameraOptions;
  private readonly intervalMs: number;
  private readonly extraArgs: string[];
  private readonly options: RaspistillSourceOptions;
  private executor: SupervisedRaspistillExecutor | undefined;
  private stopPromise: Promise<void> | undefined;

  constructor(settings: CameraSettings, logger: Logger, options: RaspistillSourceOptions = {}) {
    const plan = raspistillPlan(settings); // bad settings fail here, at configuration time
    // node-raspistill's exposure type lacks 'off', which raspistill documents; the option mapper passes any string.
    this.cameraOptions = plan.options as ICameraOptions;
    this.intervalMs = plan.intervalMs;
    this.extraArgs = plan.extraArgs;
    this.logger = logger;
    this.options = options;
    ({ width: this.width, height: this.height } = settingsFrameSize(settings));
  }

  get pid(): number | undefined {
    return this.executor?.pid;
  }

  get restarts(): number {
    return this.executor?.restarts ?? 0;
  }

  async start(sink: FrameSink): Promise<void> {
    if (this.executor) throw new Error('raspistill source already started');
    if (this.stopPromise) return;
    const stamp = new MonotonicStamp();
    const executor = new SupervisedRaspistillExecutor({
      logger: this.logger,
      command: this.options.command ?? 'raspistill',
      extraArgs: this.extraArgs,
      supervision: {
        // raspistill waits a second for the camera to settle before its first capture.
        startupTimeoutMs: 10_000 + this.intervalMs,
        stallTimeoutMs: Math.max(5000, 3 * this.intervalMs + 2000),
        stopTimeoutMs: 3000,
        ...this.options.supervision,
      },
      onFatal: (error) => sink.fatal(error),
    });
    this.executor = executor;
    const camera = new Raspistill(this.cameraOptions, undefined, executor);
    // execTimeMs 0 becomes `-t 0`: with -tl, raspistill then captures until it is stopped.
    camera.timelapse(this.intervalMs, 0, (image) => sink.frame({ data: image, capturedAtUs: stamp.next() })).catch((error: unknown) => {
      this.logger.debug('node-raspistill timelapse ended', { error: String(error) });
    });
    await executor.started;
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.executor?.stop() ?? Promise.resolve();
    return this.stopPromise;
  }
}
