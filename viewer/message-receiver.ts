import { Listeners } from '../common/listeners.js';
import type { Logger } from '../common/logger.js';
import type { ControlResult } from '../protocol/control.js';
import { Reassembler, type CompleteFrame, type ReassemblerOptions } from '../protocol/reassembler.js';
import { parseTopic, type ParsedTopic, type TopicKind } from '../protocol/topics.js';
import type { CameraRegistry, CameraState, Claim } from './camera-registry.js';
import type { MalformedCounts, MessageHandler, MotionChange, ReceiverContext } from './handlers/handler.js';
import { HANDLERS } from './handlers/index.js';
import { DEFAULT_MAX_LATEST_BYTES, LatestFrames } from './latest-frames.js';

export type { MalformedCounts } from './handlers/handler.js';
export type FrameListener = (camera: CameraState, frame: CompleteFrame) => void;
export type ResultListener = (camera: CameraState, result: ControlResult) => void;
export type MotionListener = (camera: CameraState, change: MotionChange) => void;
export type ForgetListener = (camera: CameraState) => void;

export interface ReceiverOptions extends ReassemblerOptions {
  /** Bytes of newest frames kept across cameras (LatestFrames). Default 128 MiB. */
  maxLatestBytes?: number;
}

/** How often, at most, the registry's refusals are logged. */
const LIMIT_LOG_INTERVAL_MS = 60_000;

/**
 * Turns MQTT messages of every kind into camera state and verified frames: each message goes to the handler of
 * its topic's kind (handlers/), which validates it before its camera takes a place in the registry. Bad messages
 * are counted and dropped; nothing here throws on input. Owns the registry's admissions (and the cameras it
 * forgets to make room) and the listeners of frames and control results.
 */
export class MessageReceiver {
  readonly reassembler: Reassembler;
  readonly latestFrames: LatestFrames;
  readonly malformed: MalformedCounts = { topic: 0, info: 0, status: 0, stats: 0, result: 0, motion: 0, event: 0, tooManyCameras: 0, notJpeg: 0 };
  /** Cameras replaced to make room for newcomers (never-proven ones, then gone ones). */
  camerasReplaced = 0;
  private readonly frameListeners: Listeners<Parameters<FrameListener>>;
  private readonly resultListeners: Listeners<Parameters<ResultListener>>;
  private readonly forgetListeners: Listeners<Parameters<ForgetListener>>;
  private readonly motionListeners: Listeners<Parameters<MotionListener>>;
  private limitLog = { atMs: -Infinity, refused: 0, replaced: 0 };
  private readonly context: ReceiverContext;

  constructor(
    readonly registry: CameraRegistry,
    options: ReceiverOptions,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.frameListeners = new Listeners(logger, 'frame listener');
    this.resultListeners = new Listeners(logger, 'result listener');
    this.forgetListeners = new Listeners(logger, 'forget listener');
    this.motionListeners = new Listeners(logger, 'motion listener');
    this.reassembler = new Reassembler(options);
    this.latestFrames = new LatestFrames(options.maxLatestBytes ?? DEFAULT_MAX_LATEST_BYTES);
    this.context = {
      registry, reassembler: this.reassembler, latestFrames: this.latestFrames, malformed: this.malformed, logger, now,
      admit: (topic, claim) => this.admit(topic, claim),
      frameReceived: (camera, frame) => this.frameListeners.emit(camera, frame),
      resultReceived: (camera, result) => this.resultListeners.emit(camera, result),
      motionReceived: (camera, change) => this.motionListeners.emit(camera, change),
    };
  }

  // Each returns the unsubscribe function. A listener that throws is logged; the others still hear the event.
  onFrame(listener: FrameListener): () => void {
    return this.frameListeners.add(listener);
  }

  onResult(listener: ResultListener): () => void {
    return this.resultListeners.add(listener);
  }

  onMotion(listener: MotionListener): () => void {
    return this.motionListeners.add(listener);
  }

  /** Called when a camera leaves the registry to make room, so every holder of per-camera state lets it go. */
  onForget(listener: ForgetListener): () => void {
    return this.forgetListeners.add(listener);
  }

  handle(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    if (!parsed) { this.malformed.topic++; return; }
    // No handler for set and snapshot: a viewer does not subscribe to them.
    const handler: MessageHandler | undefined = (HANDLERS as Partial<Record<TopicKind, MessageHandler>>)[parsed.kind];
    handler?.(this.context, parsed, payload);
  }

  private admit(topic: ParsedTopic, claim: Claim): CameraState | undefined {
    const admitted = this.registry.admit(topic.base, topic.cameraId, claim);
    if (!admitted) {
      this.malformed.tooManyCameras++;
      this.limitLog.refused++;
      this.logLimit(topic.base);
      return undefined;
    }
    const { camera, replaced } = admitted;
    if (replaced) {
      this.camerasReplaced++;
      this.limitLog.replaced++;
      this.reassembler.forget(replaced.key);
      this.latestFrames.forget(replaced);
      this.forgetListeners.emit(replaced);
      this.logger.debug('camera forgotten to make room', { camera: replaced.key, for: camera.key, proven: replaced.proven });
      this.logLimit(topic.base);
    }
    this.registry.seen(camera, claim !== 'chunk');
    return camera;
  }

  private logLimit(newcomer: string): void {
    const now = this.now();
    if (now - this.limitLog.atMs < LIMIT_LOG_INTERVAL_MS) return;
    this.logger.warn('camera limit reached: cameras that never proved real or are gone make room, the rest are refused; raise --max-cameras if these are real', {
      maxCameras: this.registry.capacity, newcomer, refused: this.limitLog.refused, replaced: this.limitLog.replaced,
    });
    this.limitLog = { atMs: now, refused: 0, replaced: 0 };
  }
}
