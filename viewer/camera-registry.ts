import type { CompleteFrame, SourceCounters } from '../protocol/reassembler.js';
import type { CameraInfo, CameraStats, CameraStatus } from '../protocol/messages.js';
import type { CameraSummary, LinkSummary } from './page/contract.js';
import type { MotionState } from '../protocol/motion.js';
import { RateMeter } from './rate-meter.js';

export type { CameraSummary };

/** What the viewer knows about one camera. */
export interface CameraState {
  /** `<prefix>/<cameraId>`, unique across prefixes. */
  key: string;
  cameraId: string;
  info?: CameraInfo;
  status?: CameraStatus;
  agentStats?: CameraStats;
  /** The retained `motion` state, for cameras that detect motion. */
  motion?: MotionState;
  /** When the last `stats` arrived (this computer's clock): a stall's age grows from there. */
  agentStatsAtMs?: number;
  /** The newest frame's bytes, while the budget for newest frames (LatestFrames) lets it keep them. */
  latest?: { frame: CompleteFrame; receivedAtMs: number };
  /** When the newest frame arrived and its number; kept when its bytes are let go. */
  lastFrameAtMs?: number;
  lastSeq?: number;
  readonly meter: RateMeter;
  /** Capture-to-receipt latency of the last frame, ms (negative or huge when clocks are skewed). */
  latencyMs?: number;
  /** It sent a valid status, info or stats, or a whole frame: a real camera, not only chunk headers. */
  proven: boolean;
  /** When its last valid message arrived (this computer's clock). */
  seenAtMs: number;
}

/**
 * What a camera's first valid message says about it, for a full registry. `online`: a status `online` or a
 * `stats` (only a running agent sends one); `quiet`: a status `offline` or an `info` (retained, and say nothing
 * of a camera running now); `chunk`: a chunk whose header passed the checks (a frame may follow).
 */
export type Claim = 'online' | 'quiet' | 'chunk';

/** A camera that is not online and has given no frame for this long is "gone": it may make room for others. */
export const GONE_AFTER_MS = 60_000;

const numberOrUndefined = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const stringList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * All cameras seen, at most maxCameras, so junk topics cannot grow memory. A camera takes a place only with
 * a message that passed validation. When every place is taken, a newcomer may replace, oldest first, a
 * camera that never proved real (chunk headers only, no frame, no valid status, info or stats), and, unless
 * it only says it is quiet, a camera that is gone (not online, no frame for GONE_AFTER_MS). A camera that is
 * online or gave a frame lately is never replaced, so junk cannot lock real cameras out, and old retained
 * cameras do not push each other out in turn.
 */
export class CameraRegistry {
  private readonly cameras = new Map<string, CameraState>();

  constructor(private readonly maxCameras: number, private readonly now: () => number = Date.now) {}

  /**
   * The camera for a key; a newcomer is admitted as `claim` says. Returns the camera and the one it replaced,
   * or undefined when there is no room.
   */
  admit(key: string, cameraId: string, claim: Claim): { camera: CameraState; replaced?: CameraState } | undefined {
    const known = this.cameras.get(key);
    if (known) return { camera: known };
    let replaced: CameraState | undefined;
    if (this.cameras.size >= this.maxCameras) {
      replaced = this.replaceable(claim);
      if (!replaced) return undefined;
      this.cameras.delete(replaced.key);
    }
    const camera: CameraState = { key, cameraId, meter: new RateMeter(), proven: false, seenAtMs: this.now() };
    this.cameras.set(key, camera);
    return { camera, replaced };
  }

  /** Notes a valid message from a camera: it proves the camera real, and keeps it from being replaced. */
  seen(camera: CameraState, proven = true): void {
    camera.seenAtMs = this.now();
    if (proven) camera.proven = true;
  }

  private replaceable(claim: Claim): CameraState | undefined {
    const now = this.now();
    let best: CameraState | undefined;
    let bestRank = Infinity;
    for (const camera of this.cameras.values()) {
      const rank = !camera.proven ? 0 : claim !== 'quiet' && this.isGone(camera, now) ? 1 : Infinity;
      if (rank < bestRank || (rank === bestRank && rank !== Infinity && camera.seenAtMs < best!.seenAtMs)) {
        best = camera;
        bestRank = rank;
      }
    }
    return bestRank === Infinity ? undefined : best;
  }

  private isGone(camera: CameraState, now: number): boolean {
    return camera.status !== 'online' && (camera.lastFrameAtMs === undefined || now - camera.lastFrameAtMs > GONE_AFTER_MS);
  }

  get capacity(): number {
    return this.maxCameras;
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
      lastFrameAgeMs: state.lastFrameAtMs === undefined ? undefined : now - state.lastFrameAtMs,
      lastSeq: state.lastSeq,
      counters,
      agent: state.agentStats
        ? {
            fps: state.agentStats.fps,
            framesDropped: state.agentStats.framesDropped,
            framesSent: state.agentStats.framesSent,
            quality: numberOrUndefined(state.agentStats.quality),
            adaptiveLevel: numberOrUndefined(state.agentStats.adaptiveLevel),
            link: linkOf(state.agentStats.link),
            ...this.stall(state, now),
          }
        : undefined,
      control: state.info?.control === true ? { adjustable: stringList(state.info.adjustable), quality: numberOrUndefined(state.info.quality) } : undefined,
      processing: Array.isArray(state.info?.processing) ? stringList(state.info.processing) : undefined,
    };
  }
}

/** The `link` field of an agent's stats, numbers only (a field that is not one is left out). */
function linkOf(value: unknown): LinkSummary | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  return { rttMs: numberOrUndefined(v.rttMs), kbps: numberOrUndefined(v.kbps), queueMs: numberOrUndefined(v.queueMs) };
}
