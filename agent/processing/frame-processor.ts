import sharp from 'sharp';
import type { Logger } from '../../common/logger.js';
import { settingsFrameSize } from '../capture/camera-settings.js';
import type { CapturedFrame } from '../capture/frame-source.js';
import type { DropReason } from '../stream-stats.js';
import { readJpegSize, type JpegSize } from './jpeg-size.js';
import { blendOverlay, OverlayRenderer, overlayText } from './overlay.js';
import type { OverlayPosition } from './overlay-template.js';
import { describePlan, needsWork, processedSize, planProcessing, type ProcessingPlan, type ProcessingRequest } from './processing-plan.js';

export interface OverlaySettings {
  /** Template with {id}, {date}, {time}; see overlay.ts. */
  template: string;
  cameraId: string;
  position: OverlayPosition;
}

/** Why the processing step let a frame go: busy with an earlier one, undecodable, or stopped (the agent is going offline). */
export type ProcessingDrop = Extract<DropReason, 'processing-busy' | 'bad-frame' | 'offline'>;

export interface FrameProcessorOptions {
  /** The current request, read for every frame, so new settings or a new source apply from the next frame. */
  request: () => ProcessingRequest;
  overlay: OverlaySettings | undefined;
  /** Frames out, in order: the very same object when nothing was asked for, else a new JPEG. */
  output: (frame: CapturedFrame) => void;
  /** A frame that will not be sent (it never reaches `output`). */
  onDrop: (reason: ProcessingDrop, frame: CapturedFrame) => void;
  /** The steps or the size of the frames going out changed (the agent republishes its info). */
  onChange?: () => void;
  logger: Logger;
}

interface Job {
  frame: CapturedFrame;
  plan: ProcessingPlan;
  size: JpegSize | undefined;
}

const FAILURE_LOG_INTERVAL_MS = 10_000;

/**
 * The agent's processing step between the camera and the publisher: resize, flips, rotation, quality and the
 * overlay, with sharp, for what the camera could not do itself (see processing-plan.ts). When nothing is asked
 * for, a frame is handed on at once, untouched and uncopied.
 *
 * One frame is processed at a time and one more waits; a newer frame replaces the waiting one (newest wins),
 * so a camera faster than the CPU costs dropped frames, never memory or latency.
 */
export class FrameProcessor {
  private busy: Promise<void> | undefined;
  private waiting: Job | undefined;
  /** The frame being processed, until it is handed on or dropped. */
  private inProcess: CapturedFrame | undefined;
  private stopped = false;
  private readonly overlay: OverlayRenderer | undefined;
  private lastSteps: string | undefined;
  private announced = '';
  private readonly sizeWarnings = new Set<string>();
  private failures = { count: 0, loggedAt: -Infinity };
  private window = { frames: 0, ms: 0 };
  /** The steps taken on the latest frame ([] when it went out untouched). */
  steps: string[] = [];
  /** Size of the latest frame sent on. */
  lastSize: JpegSize | undefined;
  framesProcessed = 0;

  constructor(private readonly options: FrameProcessorOptions) {
    this.overlay = options.overlay ? new OverlayRenderer(options.overlay.position) : undefined;
    // A long-running encoder of ever-new frames gains nothing from libvips' operation cache but its memory.
    sharp.cache(false);
  }

  /** Takes a frame from the camera. Never throws and never blocks. */
  offer(frame: CapturedFrame): void {
    if (this.stopped) return this.options.onDrop('offline', frame);
    const request = this.options.request();
    const plan = planProcessing(request);
    const size = readJpegSize(frame.data);
    this.noteSteps(plan, size);
    const job = { frame, plan, size };
    if (this.busy) {
      // Even an untouched frame waits here, so frames never overtake one another.
      if (this.waiting) this.options.onDrop('processing-busy', this.waiting.frame);
      this.waiting = job;
      return;
    }
    if (!needsWork(plan, size)) {
      this.checkCameraSize(request, size);
      this.emit(frame, size);
      return;
    }
    this.launch(job);
  }

  /** Frames taken and not yet handed on or dropped: the one being processed and the one waiting. */
  get holding(): number {
    return (this.inProcess ? 1 : 0) + (this.waiting ? 1 : 0);
  }

  /** Frames processed and the mean time per frame since the last call (for the stats message). */
  takeWindow(): { frames: number; meanMs: number } {
    const { frames, ms } = this.window;
    this.window = { frames: 0, ms: 0 };
    return { frames, meanMs: frames > 0 ? Math.round((ms / frames) * 10) / 10 : 0 };
  }

  /** Stops taking frames and waits for the one being processed (it is not sent on: dropped as offline). Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.waiting) { this.options.onDrop('processing-busy', this.waiting.frame); this.waiting = undefined; }
    await this.busy;
  }

  private launch(job: Job): void {
    this.inProcess = job.frame;
    this.busy = this.run(job).finally(() => {
      this.busy = undefined;
      const next = this.waiting;
      this.waiting = undefined;
      if (!next || this.stopped) return;
      if (needsWork(next.plan, next.size)) this.launch(next);
      else this.emit(next.frame, next.size);
    });
  }

  private async run({ frame, plan, size }: Job): Promise<void> {
    const started = performance.now();
    try {
      const { data, out } = await this.process(frame, plan, size);
      this.framesProcessed++;
      this.window.frames++;
      this.window.ms += performance.now() - started;
      this.inProcess = undefined;
      if (this.stopped) this.options.onDrop('offline', frame);
      else this.emit({ data, capturedAtUs: frame.capturedAtUs }, out);
    } catch (error) {
      this.inProcess = undefined;
      this.options.onDrop('bad-frame', frame);
      this.failures.count++;
      const now = performance.now();
      if (now - this.failures.loggedAt >= FAILURE_LOG_INTERVAL_MS) {
        this.failures.loggedAt = now;
        this.options.logger.warn('a camera frame could not be processed; dropped', { error: (error as Error).message, droppedSoFar: this.failures.count });
      }
    }
  }

  private emit(frame: CapturedFrame, size: JpegSize | undefined): void {
    if (size) this.lastSize = size;
    this.options.output(frame);
    const key = `${this.steps.join(',')} ${size?.width}x${size?.height}`;
    if (key !== this.announced) {
      this.announced = key;
      this.options.onChange?.();
    }
  }

  private async process(frame: CapturedFrame, plan: ProcessingPlan, size: JpegSize | undefined): Promise<{ data: Buffer; out: JpegSize }> {
    if (!size) throw new Error('the frame has no readable JPEG frame header');
    // sharp mirrors before it rotates, whatever the call order: the orientation camera-settings.ts defines.
    let image = sharp(frame.data);
    if (plan.hflip) image = image.flop();
    if (plan.vflip) image = image.flip();
    if (plan.rotate !== 0) image = image.rotate(plan.rotate);
    const out = processedSize(plan, size);
    if (plan.size) image = image.resize(plan.size.width, plan.size.height, { fit: 'cover' });
    if (this.overlay && this.options.overlay) {
      const { template, cameraId } = this.options.overlay;
      const drawn = await this.overlay.render(overlayText(template, cameraId, frame.capturedAtUs), out);
      const { data: pixels, info } = await image.removeAlpha().raw().toBuffer({ resolveWithObject: true });
      blendOverlay(pixels, info.width, drawn);
      image = sharp(pixels, { raw: { width: info.width, height: info.height, channels: 3 } });
    }
    // Huffman optimisation would make frames about 7 % smaller at about twice the encode time (bench/).
    return { data: await image.jpeg({ quality: plan.quality, optimiseCoding: false }).toBuffer(), out };
  }

  private noteSteps(plan: ProcessingPlan, size: JpegSize | undefined): void {
    this.steps = describePlan(plan, size);
    const text = this.steps.join(', ');
    if (text === this.lastSteps) return;
    this.lastSteps = text;
    if (text) this.options.logger.info('frames are re-encoded with sharp (costs CPU)', { steps: text });
    else this.options.logger.info('frames go out as the camera gives them (no re-encode)');
  }

  private checkCameraSize({ wanted, applies, exact }: ProcessingRequest, size: JpegSize | undefined): void {
    if (!size || !applies.size || exact.size) return;
    const asked = settingsFrameSize(wanted);
    const key = `${size.width}x${size.height}`;
    // Bounded: a camera spewing broken headers must not grow memory one warning at a time.
    if ((size.width === asked.width && size.height === asked.height) || this.sizeWarnings.has(key) || this.sizeWarnings.size >= 16) return;
    this.sizeWarnings.add(key);
    this.options.logger.warn(`the camera gives ${key} frames, not the ${asked.width}x${asked.height} asked for; they go out as they are (set --width and --height yourself to have the agent resize)`);
  }
}
