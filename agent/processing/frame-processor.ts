import sharp from 'sharp';
import type { Logger } from '../../common/logger.js';
import type { CapturedFrame } from '../capture/frame-source.js';
import { readJpegSize, type JpegSize } from './jpeg-size.js';
import { blendOverlay, OverlayRenderer, overlayText, type OverlayPosition } from './overlay.js';
import { describePlan, needsWork, outputSizeOf, planProcessing, type ProcessingPlan, type ProcessingRequest } from './processing-plan.js';

export interface OverlaySettings {
  /** Template with {id}, {date}, {time}; see overlay.ts. */
  template: string;
  cameraId: string;
  position: OverlayPosition;
}

export type ProcessingDrop = 'processing-busy' | 'bad-frame';

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
    if (this.stopped) return;
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

  /** Frames processed and the mean time per frame since the last call (for the stats message). */
  takeWindow(): { frames: number; meanMs: number } {
    const { frames, ms } = this.window;
    this.window = { frames: 0, ms: 0 };
    return { frames, meanMs: frames > 0 ? Math.round((ms / frames) * 10) / 10 : 0 };
  }

  /** Stops taking frames and waits for the one being processed (it is not sent on). Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.waiting) { this.options.onDrop('processing-busy', this.waiting.frame); this.waiting = undefined; }
    await this.busy;
  }

  private launch(job: Job): void {
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
      if (!this.stopped) this.emit({ data, capturedAtUs: frame.capturedAtUs }, out);
    } catch (error) {
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
    const out = outputSizeOf(plan, size);
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
    const turned = wanted.rotation === 90 || wanted.rotation === 270;
    const asked = turned ? { width: wanted.height, height: wanted.width } : wanted;
    const key = `${size.width}x${size.height}`;
    // Bounded: a camera spewing broken headers must not grow memory one warning at a time.
    if ((size.width === asked.width && size.height === asked.height) || this.sizeWarnings.has(key) || this.sizeWarnings.size >= 16) return;
    this.sizeWarnings.add(key);
    this.options.logger.warn(`the camera gives ${key} frames, not the ${asked.width}x${asked.height} asked for; they go out as they are (set --width and --height yourself to have the agent resize)`);
  }
}
