import { PROTOCOL_VERSION } from './header.js';

/** Payloads of the retained `status` topic (UTF-8, no quotes, no newline). */
export type CameraStatus = 'online' | 'offline';

export function parseStatus(payload: Uint8Array): CameraStatus | undefined {
  const text = Buffer.from(payload).toString('utf8');
  return text === 'online' || text === 'offline' ? text : undefined;
}

/** The retained `info` document (JSON). */
export interface CameraInfo {
  protocol: number;
  cameraId: string;
  codec: 'image/jpeg';
  width: number;
  height: number;
  fps: number;
  /** Largest chunk message (header + payload) the agent sends, in bytes. */
  chunkSize: number;
  streamId: number;
  source: string;
  agentVersion: string;
  /** ISO 8601 time the stream started. */
  startedAt: string;
  /** Extra fields (e.g. quality, adjustable settings); receivers ignore what they do not know. */
  [extra: string]: unknown;
}

/** The periodic `stats` document (JSON, not retained). Counters are totals since the stream started. */
export interface CameraStats {
  streamId: number;
  uptimeS: number;
  fps: number;
  kbps: number;
  framesCaptured: number;
  framesSent: number;
  framesDropped: number;
  bytesSent: number;
  /** Extra fields an agent may add; receivers ignore what they do not know. */
  [extra: string]: unknown;
}

/** The agent's view of its path to the broker: the `link` field of `stats` (PROTOCOL.md §5). */
export interface CameraLinkStats {
  /** The path's round trip, ms; null until measured. */
  rttMs: number | null;
  /** Queue standing in the path now (the recent round trip above the path's own), ms. */
  queueMs: number;
  /** The delivery rate frames are paced at, kbit/s; null until measured. */
  kbps: number | null;
  /** Frames sent and not yet acknowledged by the broker. */
  inFlight: number;
  /** startup: finding the path's rate; drain: letting a queue go; probe: steady, probing for more now and then. */
  mode: 'startup' | 'drain' | 'probe';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

function parseJson(payload: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Validates an `info` payload; undefined when it is not a v1 info document. Unknown fields are kept. */
export function parseInfo(payload: Uint8Array): CameraInfo | undefined {
  const v = parseJson(payload);
  if (!isObject(v)) return undefined;
  if (v.protocol !== PROTOCOL_VERSION || v.codec !== 'image/jpeg') return undefined;
  if (typeof v.cameraId !== 'string' || typeof v.source !== 'string' || typeof v.agentVersion !== 'string') return undefined;
  if (typeof v.startedAt !== 'string') return undefined;
  for (const key of ['width', 'height', 'fps', 'chunkSize', 'streamId'] as const) if (!isCount(v[key])) return undefined;
  return v as unknown as CameraInfo;
}

export function parseStats(payload: Uint8Array): CameraStats | undefined {
  const v = parseJson(payload);
  if (!isObject(v)) return undefined;
  for (const key of ['streamId', 'uptimeS', 'fps', 'kbps', 'framesCaptured', 'framesSent', 'framesDropped', 'bytesSent'] as const) {
    if (!isCount(v[key])) return undefined;
  }
  return v as CameraStats;
}
