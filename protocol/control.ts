/**
 * Remote control (protocol v1 extension): a JSON request on `<prefix>/<cameraId>/set`, answered on
 * `<prefix>/<cameraId>/result`. Pure validation; docs/PROTOCOL.md §8 is the description.
 */

import { parseMotionChanges, type MotionChanges } from './motion.js';

export const ROTATIONS = [0, 90, 180, 270] as const;
export type Rotation = (typeof ROTATIONS)[number];

/** What a request may change. Every field is optional; a request must carry at least one. */
export interface ControlChanges {
  fps?: number;
  width?: number;
  height?: number;
  quality?: number;
  rotation?: Rotation;
  hflip?: boolean;
  vflip?: boolean;
}

export interface ControlRequest {
  /** Echoed in the result, so a caller can match answers to requests. */
  id?: string;
  changes: ControlChanges;
  /** Publish the next frame whole on the `snapshot` topic. */
  snapshot: boolean;
  /** Motion detector settings to change live (motion.ts). */
  motion?: MotionChanges;
}

export interface ControlResult {
  id?: string;
  ok: boolean;
  /** The settings in force after the request (on success). */
  settings?: Record<string, unknown>;
  /** True when the camera had to be restarted to apply the change. */
  restarted?: boolean;
  /** Why the request was rejected; nothing was changed. */
  error?: string;
}

const LIMITS = {
  fps: [0.1, 120],
  width: [16, 7680],
  height: [16, 4320],
  quality: [1, 100],
} as const;

const KNOWN = new Set(['id', 'fps', 'width', 'height', 'quality', 'rotation', 'hflip', 'vflip', 'snapshot', 'motion']);

export type ParsedControl = { ok: true; request: ControlRequest } | { ok: false; id?: string; error: string };

export function parseControlRequest(payload: Uint8Array): ParsedControl {
  if (payload.length > 4096) return { ok: false, error: 'request larger than 4096 bytes' };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return { ok: false, error: 'request is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'request must be a JSON object' };
  const v = value as Record<string, unknown>;
  const id = typeof v.id === 'string' && v.id.length <= 64 ? v.id : undefined;
  const fail = (error: string): ParsedControl => ({ ok: false, id, error });
  if (v.id !== undefined && id === undefined) return fail('"id" must be text of at most 64 characters');
  const unknown = Object.keys(v).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) return fail(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; allowed: ${[...KNOWN].join(', ')}`);
  const changes: ControlChanges = {};
  for (const [key, [min, max]] of Object.entries(LIMITS) as Array<[keyof typeof LIMITS, readonly [number, number]]>) {
    const x = v[key];
    if (x === undefined) continue;
    if (typeof x !== 'number' || !Number.isFinite(x) || (key !== 'fps' && !Number.isInteger(x)) || x < min || x > max) {
      return fail(`"${key}" must be ${key === 'fps' ? 'a number' : 'a whole number'} from ${min} to ${max}`);
    }
    changes[key] = x;
  }
  if ((changes.width === undefined) !== (changes.height === undefined)) return fail('"width" and "height" must be given together');
  if (v.rotation !== undefined) {
    if (!ROTATIONS.includes(v.rotation as Rotation)) return fail(`"rotation" must be one of ${ROTATIONS.join(', ')}`);
    changes.rotation = v.rotation as Rotation;
  }
  for (const key of ['hflip', 'vflip'] as const) {
    if (v[key] === undefined) continue;
    if (typeof v[key] !== 'boolean') return fail(`"${key}" must be true or false`);
    changes[key] = v[key] as boolean;
  }
  if (v.snapshot !== undefined && v.snapshot !== true) return fail('"snapshot" may only be true');
  const snapshot = v.snapshot === true;
  let motion: MotionChanges | undefined;
  if (v.motion !== undefined) {
    const parsed = parseMotionChanges(v.motion);
    if ('error' in parsed) return fail(parsed.error);
    motion = parsed.changes;
  }
  if (Object.keys(changes).length === 0 && !snapshot && !motion) return fail('request changes nothing: give fps, width+height, quality, rotation, hflip, vflip, motion or snapshot');
  return { ok: true, request: { id, changes, snapshot, ...(motion ? { motion } : {}) } };
}

/** Largest `result` a receiver reads. Real answers are a few hundred bytes; the rest is refused unparsed. */
export const MAX_RESULT_BYTES = 16 * 1024;
/** Settings fields kept from a result, and the longest text value kept; more would only be shown, never used. */
const MAX_RESULT_SETTINGS = 32;
const MAX_RESULT_TEXT = 256;

/**
 * Validates a `result` payload; undefined when it is not one. What comes back is a new object with only the
 * documented fields, and `settings` only with flat values (numbers, booleans, short text): a camera account
 * may answer anything, and whatever is kept here is later turned back into JSON for the page.
 */
export function parseControlResult(payload: Uint8Array): ControlResult | undefined {
  if (payload.length > MAX_RESULT_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.ok !== 'boolean') return undefined;
  if (v.id !== undefined && (typeof v.id !== 'string' || v.id.length > 64)) return undefined;
  if (v.error !== undefined && typeof v.error !== 'string') return undefined;
  const result: ControlResult = { ok: v.ok };
  if (v.id !== undefined) result.id = v.id;
  if (typeof v.error === 'string') result.error = v.error.slice(0, 1000);
  if (typeof v.restarted === 'boolean') result.restarted = v.restarted;
  if (typeof v.settings === 'object' && v.settings !== null && !Array.isArray(v.settings)) result.settings = flatSettings(v.settings as Record<string, unknown>);
  return result;
}

function flatSettings(settings: Record<string, unknown>): Record<string, number | boolean | string> {
  const flat: Record<string, number | boolean | string> = {};
  for (const [key, x] of Object.entries(settings).slice(0, MAX_RESULT_SETTINGS)) {
    if (key.length > 64) continue;
    if ((typeof x === 'number' && Number.isFinite(x)) || typeof x === 'boolean') flat[key] = x;
    else if (typeof x === 'string') flat[key] = x.slice(0, MAX_RESULT_TEXT);
  }
  return flat;
}
