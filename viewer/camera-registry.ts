import type { CompleteFrame, SourceCounters } from '../protocol/reassembler.js';
import type { CameraInfo, CameraStats, CameraStatus } from '../protocol/messages.js';
import { RateMeter } from './rate-meter.js';

/** What the viewer knows about one camera. */
export interface CameraState {
  /** `<prefix>/<cameraId>`, unique across prefixes. */
  key: string;
  cameraId: string;
  info?: CameraInfo;
  status?: CameraStatus;
  agentStats?: CameraStats;
  /** When the last `stats` arrived (this computer's clock): a stall's age grows from there. */
  agentStatsAtMs?: number;
  latest?: { frame: CompleteFrame; receivedAtMs: number };
  readonly meter: RateMeter;
  /** Capture-to-receipt latency of the last frame, ms (negative or huge when clocks are skewed). */
  latencyMs?: number;
}

/** The summary sent to pages and `/api/cameras`. */
export interface CameraSummary {
  key: string;
  cameraId: string;
  status: CameraStatus | 'unknown';
  width?: number;
  height?: number;
  source?: string;
  /** The frame rate the agent is configured for (from info), so a page knows when a camera is late. */
  expectedFps?: number;
  fps: number;
  kbps: number;
  latencyMs?: number;
  lastFrameAgeMs?: number;
  lastSeq?: number;
  counters?: SourceCounters;
  agent?: {
    fps: number; framesDropped: number; framesSent: number; quality?: number; adaptiveLevel?: number;
    /** The agent is connected but its camera has given no frame for its stallTimeout (from its stats). */
    stalled?: boolean;
    /** Seconds since the agent's camera last gave a frame; while stalled, counted on to now from the stats' arrival. */
    lastFrameAgeS?: number;
    /** Stalls since the agent started. */
    stalls?: number;
  };
  /** Present when the camera accepts remote control: what it can change, and its current quality. */
  control?: { adjustable: string[]; quality?: number };
  /** What the agent does to the camera's frames before sending (info `processing`); [] when they go out untouched. */
  processing?: string[];
}

const numberOrUndefined = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const stringList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** All cameras seen, bounded so junk topics cannot grow memory. */
export class CameraRegistry {
  private readonly cameras = new Map<string, CameraState>();

  constructor(private readonly maxCameras: number) {}

  /** The camera for a key, created on first sight; undefined when the registry is full. */
  get(key: string, cameraId: string): CameraState | undefined {
    let state = this.cameras.get(key);
    if (!state) {
      if (this.cameras.size >= this.maxCameras) return undefined;
      state = { key, cameraId, meter: new RateMeter() };
      this.cameras.set(key, state);
    }
    return state;
  }

  find(key: string): CameraState | undefined {
    return this.cameras.get(key);
  }

  /** Looks a camera up by key or, when unambiguous, by bare camera id. */
  lookup(idOrKey: string): CameraState | undefined {
    const exact = this.cameras.get(idOrKey);
    if (exact) return exact;
    const matches = [...this.cameras.values()].filter((c) => c.cameraId === idOrKey);
    return matches.length === 1 ? matches[0] : undefined;
  }

  all(): CameraState[] {
    return [...this.cameras.values()].sort((a, b) => a.key.localeCompare(b.key));
  }

  get size(): number {
    return this.cameras.size;
  }

  /**
   * The agent's stall report. The agent sends stats at once when a stall starts or ends, so until the next
   * stats the stall is still on and its age grows with this computer's clock. An offline agent's last stats
   * say nothing about its camera now: no stall is reported then.
   */
  private stall(state: CameraState, now: number): { stalled?: boolean; lastFrameAgeS?: number; stalls?: number } {
    const stats = state.agentStats!;
    const stalled = typeof stats.stalled === 'boolean' ? stats.stalled && state.status !== 'offline' : undefined;
    let lastFrameAgeS = numberOrUndefined(stats.lastFrameAgeS);
    if (stalled && lastFrameAgeS !== undefined && state.agentStatsAtMs !== undefined) {
      lastFrameAgeS = Math.round((lastFrameAgeS + Math.max(0, now - state.agentStatsAtMs) / 1000) * 10) / 10;
    }
    return { stalled, lastFrameAgeS, stalls: numberOrUndefined(stats.stalls) };
  }

  summary(state: CameraState, now: number, counters: SourceCounters | undefined): CameraSummary {
    const rates = state.meter.rates(now);
    return {
      key: state.key,
      cameraId: state.cameraId,
      status: state.status ?? 'unknown',
      width: state.info?.width,
      height: state.info?.height,
      source: state.info?.source,
      expectedFps: state.info?.fps,
      fps: Math.round(rates.perSecond * 10) / 10,
      kbps: Math.round(rates.bitsPerSecond / 1000),
      latencyMs: state.latencyMs === undefined ? undefined : Math.round(state.latencyMs * 10) / 10,
      lastFrameAgeMs: state.latest ? now - state.latest.receivedAtMs : undefined,
      lastSeq: state.latest?.frame.seq,
      counters,
      agent: state.agentStats
        ? {
            fps: state.agentStats.fps,
            framesDropped: state.agentStats.framesDropped,
            framesSent: state.agentStats.framesSent,
            quality: numberOrUndefined(state.agentStats.quality),
            adaptiveLevel: numberOrUndefined(state.agentStats.adaptiveLevel),
            ...this.stall(state, now),
          }
        : undefined,
      control: state.info?.control === true ? { adjustable: stringList(state.info.adjustable), quality: numberOrUndefined(state.info.quality) } : undefined,
      processing: Array.isArray(state.info?.processing) ? stringList(state.info.processing) : undefined,
    };
  }
}
