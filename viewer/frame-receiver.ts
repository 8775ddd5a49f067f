import type { Logger } from '../common/logger.js';
import { parseControlResult, type ControlResult } from '../protocol/control.js';
import { parseInfo, parseStats, parseStatus } from '../protocol/messages.js';
import { Reassembler, type CompleteFrame, type ReassemblerOptions } from '../protocol/reassembler.js';
import { parseTopic } from '../protocol/topics.js';
import { CameraRegistry, type CameraState } from './camera-registry.js';

export type FrameListener = (camera: CameraState, frame: CompleteFrame) => void;
export type ResultListener = (camera: CameraState, result: ControlResult) => void;

/** Counts of messages that were not usable, by reason. Never grows beyond these keys. */
export interface MalformedCounts {
  topic: number;
  info: number;
  status: number;
  stats: number;
  result: number;
  tooManyCameras: number;
}

/**
 * Turns MQTT messages into camera state and verified frames. Bad messages of any kind are counted and
 * dropped; nothing here throws on input.
 */
export class FrameReceiver {
  readonly reassembler: Reassembler;
  readonly malformed: MalformedCounts = { topic: 0, info: 0, status: 0, stats: 0, result: 0, tooManyCameras: 0 };
  private readonly listeners = new Set<FrameListener>();
  private readonly resultListeners = new Set<ResultListener>();

  constructor(
    readonly registry: CameraRegistry,
    reassemblerOptions: ReassemblerOptions,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.reassembler = new Reassembler(reassemblerOptions);
  }

  onFrame(listener: FrameListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onResult(listener: ResultListener): () => void {
    this.resultListeners.add(listener);
    return () => this.resultListeners.delete(listener);
  }

  handle(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    if (!parsed) { this.malformed.topic++; return; }
    const camera = this.registry.get(parsed.base, parsed.cameraId);
    if (!camera) { this.malformed.tooManyCameras++; return; }
    switch (parsed.kind) {
      case 'frame': return this.handleChunk(camera, payload);
      case 'status': {
        if (payload.length === 0) { camera.status = undefined; return; } // retained message cleared
        const status = parseStatus(payload);
        if (!status) { this.malformed.status++; return; }
        if (status !== camera.status) this.logger.info(`camera ${status}`, { camera: camera.key });
        camera.status = status;
        return;
      }
      case 'info': {
        if (payload.length === 0) return;
        const info = parseInfo(payload);
        if (!info) { this.malformed.info++; return; }
        if (!camera.info) this.logger.info('camera found', { camera: camera.key, size: `${info.width}x${info.height}`, source: info.source });
        camera.info = info;
        return;
      }
      case 'stats': {
        const stats = parseStats(payload);
        if (!stats) { this.malformed.stats++; return; }
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
        for (const listener of this.resultListeners) listener(camera, result);
        return;
      }
      default:
        return; // set and snapshot are not subscribed to; anything else is not ours
    }
  }

  private handleChunk(camera: CameraState, payload: Buffer): void {
    const result = this.reassembler.push(camera.key, payload);
    if (result.kind !== 'frame') return;
    const { frame } = result;
    const now = this.now();
    camera.latest = { frame, receivedAtMs: now };
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
