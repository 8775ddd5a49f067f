import type { Logger } from '../common/logger.js';
import { parseControlResult, type ControlResult } from '../protocol/control.js';
import { parseInfo, parseStats, parseStatus } from '../protocol/messages.js';
import { parseMotionEvent, parseMotionState, type MotionEvent, type MotionState } from '../protocol/motion.js';
import { Reassembler, type CompleteFrame, type ReassemblerOptions } from '../protocol/reassembler.js';
import { decodeChunk } from '../protocol/header.js';
import { isJpegFrame } from '../protocol/jpeg-markers.js';
import { parseTopic, type ParsedTopic } from '../protocol/topics.js';
import { CameraRegistry, type CameraState, type Claim } from './camera-registry.js';
import { DEFAULT_MAX_LATEST_BYTES, LatestFrames } from './latest-frames.js';

export type FrameListener = (camera: CameraState, frame: CompleteFrame) => void;
export type ResultListener = (camera: CameraState, result: ControlResult) => void;
/** A camera's motion: its retained state changed (`state`), or an event document came (`event`). */
export type MotionListener = (camera: CameraState, change: { state: MotionState } | { event: MotionEvent }) => void;

/** Counts of messages that were not usable, by reason. Never grows beyond these keys. */
export interface MalformedCounts {
  topic: number;
  info: number;
  status: number;
  stats: number;
  result: number;
  motion: number;
  event: number;
  /** Messages of a camera for which the registry had no room. */
  tooManyCameras: number;
  /** Frames whose chunks and CRC-32 checked but whose bytes are not a JPEG (no SOI at the start or EOI at the end). */
  notJpeg: number;
}

export type ForgetListener = (camera: CameraState) => void;

export interface ReceiverOptions extends ReassemblerOptions {
  /** Bytes of newest frames kept across cameras (LatestFrames). Default 128 MiB. */
  maxLatestBytes?: number;
}

/** How often, at most, the registry's refusals are logged. */
const LIMIT_LOG_INTERVAL_MS = 60_000;

/**
 * Turns MQTT messages into camera state and verified frames. Bad messages of any kind are counted and
 * dropped; nothing here throws on input. A message is validated before its camera takes a place in the
 * registry, so junk on new camera ids costs nothing beyond its count.
 */
export class FrameReceiver {
  readonly reassembler: Reassembler;
  readonly latestFrames: LatestFrames;
  readonly malformed: MalformedCounts = { topic: 0, info: 0, status: 0, stats: 0, result: 0, motion: 0, event: 0, tooManyCameras: 0, notJpeg: 0 };
  /** Cameras replaced to make room for newcomers (never-proven ones, then gone ones). */
  camerasReplaced = 0;
  private readonly listeners = new Set<FrameListener>();
  private readonly resultListeners = new Set<ResultListener>();
  private readonly forgetListeners = new Set<ForgetListener>();
  private readonly motionListeners = new Set<MotionListener>();
  private limitLog = { atMs: -Infinity, refused: 0, replaced: 0 };

  constructor(
    readonly registry: CameraRegistry,
    options: ReceiverOptions,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.reassembler = new Reassembler(options);
    this.latestFrames = new LatestFrames(options.maxLatestBytes ?? DEFAULT_MAX_LATEST_BYTES);
  }

  onFrame(listener: FrameListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onResult(listener: ResultListener): () => void {
    this.resultListeners.add(listener);
    return () => this.resultListeners.delete(listener);
  }

  onMotion(listener: MotionListener): () => void {
    this.motionListeners.add(listener);
    return () => this.motionListeners.delete(listener);
  }

  /** Called when a camera leaves the registry to make room, so every holder of per-camera state lets it go. */
  onForget(listener: ForgetListener): () => void {
    this.forgetListeners.add(listener);
    return () => this.forgetListeners.delete(listener);
  }

  handle(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    if (!parsed) { this.malformed.topic++; return; }
    switch (parsed.kind) {
      case 'frame': return this.handleChunk(parsed, payload);
      case 'status': {
        if (payload.length === 0) { // retained message cleared: unknown
          const camera = this.registry.find(parsed.base);
          if (camera) camera.status = undefined;
          return;
        }
        const status = parseStatus(payload);
        if (!status) { this.malformed.status++; return; }
        const camera = this.admit(parsed, status === 'online' ? 'online' : 'quiet');
        if (!camera) return;
        if (status !== camera.status) this.logger.info(`camera ${status}`, { camera: camera.key });
        camera.status = status;
        return;
      }
      case 'info': {
        if (payload.length === 0) { // retained message cleared: what the stream is, is unknown now
          const camera = this.registry.find(parsed.base);
          if (camera) camera.info = undefined;
          return;
        }
        const info = parseInfo(payload);
        if (!info) { this.malformed.info++; return; }
        const camera = this.admit(parsed, 'quiet');
        if (!camera) return;
        if (!camera.info) this.logger.info('camera found', { camera: camera.key, size: `${info.width}x${info.height}`, source: info.source });
        camera.info = info;
        return;
      }
      case 'stats': {
        const stats = parseStats(payload);
        if (!stats) { this.malformed.stats++; return; }
        const camera = this.admit(parsed, 'online');
        if (!camera) return;
        const stalled = stats.stalled === true;
        if (stalled !== (camera.agentStats?.stalled === true)) {
          if (stalled) this.logger.warn('camera stalled: its agent reports no frame from the camera', { camera: camera.key, lastFrameAgeS: typeof stats.lastFrameAgeS === 'number' ? stats.lastFrameAgeS : undefined });
          else this.logger.info('camera frames resumed', { camera: camera.key });
        }
        camera.agentStats = stats;
        camera.agentStatsAtMs = this.now();
        return;
      }
      case 'result': {
        const result = parseControlResult(payload);
        if (!result) { this.malformed.result++; return; }
        // Only a camera asked something can answer: a result never makes a camera known.
        const camera = this.registry.find(parsed.base);
        if (!camera) return;
        for (const listener of this.resultListeners) listener(camera, result);
        return;
      }
      case 'motion': {
        if (payload.length === 0) { // retained message cleared
          const camera = this.registry.find(parsed.base);
          if (camera) camera.motion = undefined;
          return;
        }
        const state = parseMotionState(payload);
        if (!state) { this.malformed.motion++; return; }
        const camera = this.admit(parsed, 'quiet');
        if (!camera) return;
        if (camera.motion === state) return;
        camera.motion = state;
        return this.tellMotion(camera, { state });
      }
      case 'event': {
        const event = parseMotionEvent(payload);
        if (!event) { this.malformed.event++; return; }
        // Like a result, an event never makes a camera known: it matters only for a camera already shown.
        const camera = this.registry.find(parsed.base);
        if (!camera) return;
        return this.tellMotion(camera, { event });
      }
      default:
        return; // set and snapshot are not subscribed to; anything else is not ours
    }
  }

  private tellMotion(camera: CameraState, change: { state: MotionState } | { event: MotionEvent }): void {
    for (const listener of this.motionListeners) {
      try {
        listener(camera, change);
      } catch (error) {
        this.logger.error('motion listener failed', { error: (error as Error).message });
      }
    }
  }

  /** The camera of a valid message, admitted to the registry if new; undefined (counted, logged) when there is no room. */
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
      for (const listener of this.forgetListeners) listener(replaced);
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

  private handleChunk(topic: ParsedTopic, payload: Buffer): void {
    let camera = this.registry.find(topic.base);
    if (!camera) {
      // Counted by the reassembler by reason, without a place for a camera that sent nothing valid.
      if (!decodeChunk(payload).ok) { this.reassembler.push(topic.base, payload); return; }
      camera = this.admit(topic, 'chunk');
      if (!camera) return;
    }
    const result = this.reassembler.push(camera.key, payload);
    if (result.kind !== 'frame') return;
    const { frame } = result;
    // Never kept, saved, recorded nor served as image/jpeg: a camera account can send any bytes with a right CRC.
    if (!isJpegFrame(frame.data)) { this.malformed.notJpeg++; return; }
    const now = this.now();
    this.registry.seen(camera);
    this.latestFrames.keep(camera, frame, now);
    camera.lastFrameAtMs = now;
    camera.lastSeq = frame.seq;
    camera.latencyMs = now - frame.capturedAtUs / 1000;
    camera.meter.add(now, frame.data.length);
    for (const listener of this.listeners) {
      try {
        listener(camera, frame);
      } catch (error) {
        this.logger.error('frame listener failed', { error: (error as Error).message });
      }
    }
  }
}
