import type { Logger } from '../common/logger.js';
import type { CameraControl } from './camera-control.js';
import type { CapturedFrame } from './capture/frame-source.js';
import { FramePublisher, type FramePublisherOptions, type PublishLink } from './frame-publisher.js';
import { FrameRateGate } from './frame-rate-gate.js';
import { Listeners } from '../common/listeners.js';
import { FrameProcessor, type OverlaySettings } from './processing/frame-processor.js';
import { StallWatch, type StallChange } from './stall-watch.js';
import type { StreamStats } from './stream-stats.js';

export interface PipelineOptions {
  /** The source stage: the running camera and its settings. */
  camera: CameraControl;
  /** The one counter every stage reports to. */
  counts: StreamStats;
  link: PublishLink;
  publisher: FramePublisherOptions;
  overlay: OverlaySettings | undefined;
  /** No frame from the camera for this many seconds means stalled. */
  stallTimeoutS: number;
  /** The camera cannot go on (already logged here): the agent stops. */
  onFatal: (error: Error) => void;
  logger: Logger;
}

/**
 * The way of a frame through the agent, in one place:
 *
 *   camera (CameraControl's source) → tap → rate gate → processor → publisher → MQTT link
 *
 * - tap: counts the frame `captured` (the only place that does), feeds the stall watch, and hands the frame to
 *   whoever subscribed with `onCaptured` (after the frame has gone on, so a subscriber never delays the stream);
 * - rate gate: adaptive quality's frame-rate limit (`limitRate`); a frame it lets pass by is dropped `rate-limit`;
 * - processor: what the camera could not do itself (sharp), one frame at a time, newest wins (`processing-busy`,
 *   `bad-frame`); its output goes to the publisher, then to `onOutgoing` subscribers (the snapshot);
 * - publisher: chunks, paced to the path (`offline`, `busy`, `too-large`); a frame the broker has whole is `sent`.
 *
 * Every stage reports a frame it lets go, with its reason, to the one counter, so captured = sent + dropped +
 * `holding` at every instant, and captured = sent + dropped once stopped.
 */
export class Pipeline {
  readonly camera: CameraControl;
  readonly counts: StreamStats;
  readonly processor: FrameProcessor;
  readonly publisher: FramePublisher;
  readonly stall: StallWatch;
  private readonly gate = new FrameRateGate();
  private readonly captured: Listeners<[CapturedFrame]>;
  private readonly outgoing: Listeners<[CapturedFrame, number]>;
  private readonly sent: Listeners<[number]>;
  private readonly stallChanges: Listeners<[StallChange]>;
  private readonly changed: Listeners<[]>;
  private readonly logger: Logger;
  private readonly stallTimeoutS: number;
  private readonly onFatal: (error: Error) => void;

  constructor(options: PipelineOptions) {
    const { camera, counts, logger } = options;
    this.camera = camera;
    this.counts = counts;
    this.logger = logger;
    this.stallTimeoutS = options.stallTimeoutS;
    this.onFatal = options.onFatal;
    this.captured = new Listeners(logger, 'frame tap');
    this.outgoing = new Listeners(logger, 'outgoing frame tap');
    this.sent = new Listeners(logger, 'sent listener');
    this.stallChanges = new Listeners(logger, 'stall listener');
    this.changed = new Listeners(logger, 'output change listener');
    this.stall = new StallWatch({ timeoutMs: options.stallTimeoutS * 1000 }, (change) => this.stallChanged(change));
    this.publisher = new FramePublisher(options.link, options.publisher, counts, logger.child('publisher'), (seq) => this.sent.emit(seq));
    this.processor = new FrameProcessor({
      request: () => camera.processingRequest(options.overlay !== undefined),
      overlay: options.overlay,
      // The frame goes on first: a subscriber never delays it, and sees it counted inside the publisher.
      output: (frame) => {
        const seq = this.publisher.offer(frame);
        this.outgoing.emit(frame, seq);
      },
      onDrop: (reason) => counts.dropped(reason),
      onChange: () => this.changed.emit(),
      logger: logger.child('processing'),
    });
  }

  /** Every frame the camera gives, as it gives it. Must return quickly (keep the frame, work on it later). */
  onCaptured(listener: (frame: CapturedFrame) => void): () => void {
    return this.captured.add(listener);
  }

  /** Every frame as it goes to the publisher (processed, if the processing step had work), with its sequence number. */
  onOutgoing(listener: (frame: CapturedFrame, seq: number) => void): () => void {
    return this.outgoing.add(listener);
  }

  /** Each frame the broker has whole, with its sequence number. */
  onSent(listener: (seq: number) => void): () => void {
    return this.sent.add(listener);
  }

  /** The camera stalled or came back (already logged here). */
  onStallChange(listener: (change: StallChange) => void): () => void {
    return this.stallChanges.add(listener);
  }

  /** The processing steps or the size of the outgoing frames changed. */
  onOutputChange(listener: () => void): () => void {
    return this.changed.add(listener);
  }

  /** The rate gate's limit in frames per second (undefined: every frame goes on). */
  get rateLimit(): number | undefined {
    return this.gate.limit;
  }

  limitRate(fps: number | undefined): void {
    this.gate.setLimit(fps);
  }

  /** Frames inside the pipeline: captured, and neither sent nor dropped yet. */
  get holding(): number {
    return this.processor.holding + this.publisher.holding;
  }

  /** Starts the camera into the tap, and the stall watch. */
  async start(): Promise<void> {
    await this.camera.start({
      frame: (frame) => this.tap(frame),
      fatal: (error) => {
        this.logger.error('camera source failed', { source: this.camera.activeSource.kind, error: error.message });
        this.onFatal(error);
      },
    });
    this.stall.start();
  }

  /** Stops the camera, then each stage in the frame's order, so every frame taken is counted sent or dropped. */
  async stop(): Promise<void> {
    this.stall.stop();
    await this.camera.stop();
    await this.processor.stop();
    await this.publisher.stop();
  }

  private tap(frame: CapturedFrame): void {
    this.counts.captured(frame.data.length);
    this.stall.frameArrived();
    if (this.gate.accept(frame.capturedAtUs)) this.processor.offer(frame);
    else this.counts.dropped('rate-limit');
    this.captured.emit(frame);
  }

  private stallChanged(change: StallChange): void {
    const source = this.camera.activeSource.kind;
    if (change.stalled) {
      this.logger.warn('camera stalled: no frame from the source', { source, forS: round1(change.sinceLastFrameMs / 1000), stallTimeoutS: this.stallTimeoutS });
    } else {
      this.logger.info('camera frames resumed', { source, stalledForS: round1(change.stalledForMs / 1000) });
    }
    this.stallChanges.emit(change);
  }
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
