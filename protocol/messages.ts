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

/** Largest `info` or `stats` document a receiver reads. Real ones are well under 2 KiB; larger ones are refused unparsed. */
export const MAX_DOCUMENT_BYTES = 16 * 1024;
/** Longest text field, and most entries of a list field, kept from an `info`. */
const MAX_INFO_TEXT = 128;
const MAX_INFO_LIST = 32;

const shortText = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_INFO_TEXT;
const textList = (v: unknown): v is string[] => Array.isArray(v) && v.length <= MAX_INFO_LIST && v.every(shortText);

/**
 * Validates an `info` payload; undefined when it is not a v1 info document or a required field is out of
 * bounds. What comes back is a new object with the required fields and the documented optional ones
 * (quality, adjustable, control, processing) when they are well-formed: a receiver keeps it for as long as
 * the camera is known and shows it to every page, so nothing unbounded or unknown is kept.
 */
export function parseInfo(payload: Uint8Array): CameraInfo | undefined {
  if (payload.length > MAX_DOCUMENT_BYTES) return undefined;
  const v = parseJson(payload);
  if (!isObject(v)) return undefined;
  if (v.protocol !== PROTOCOL_VERSION || v.codec !== 'image/jpeg') return undefined;
  if (!shortText(v.cameraId) || !shortText(v.source) || !shortText(v.agentVersion) || !shortText(v.startedAt)) return undefined;
  for (const key of ['width', 'height', 'fps', 'chunkSize', 'streamId'] as const) if (!isCount(v[key])) return undefined;
  const info: CameraInfo = {
    protocol: PROTOCOL_VERSION,
    cameraId: v.cameraId,
    codec: 'image/jpeg',
    width: v.width as number,
    height: v.height as number,
    fps: v.fps as number,
    chunkSize: v.chunkSize as number,
    streamId: v.streamId as number,
    source: v.source,
    agentVersion: v.agentVersion,
    startedAt: v.startedAt,
  };
  if (isCount(v.quality)) info.quality = v.quality;
  if (typeof v.control === 'boolean') info.control = v.control;
  if (textList(v.adjustable)) info.adjustable = [...v.adjustable];
  if (textList(v.processing)) info.processing = [...v.processing];
  return info;
}

export function parseStats(payload: Uint8Array): CameraStats | undefined {
  if (payload.length > MAX_DOCUMENT_BYTES) return undefined;
  const v = parseJson(payload);
  if (!isObject(v)) return undefined;
  for (const key of ['streamId', 'uptimeS', 'fps', 'kbps', 'framesCaptured', 'framesSent', 'framesDropped', 'bytesSent'] as const) {
    if (!isCount(v[key])) return undefined;
  }
  return v as CameraStats;
}
