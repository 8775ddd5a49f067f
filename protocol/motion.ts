/**
 * Motion detection messages (protocol v1 extension, docs/PROTOCOL.md §9): the retained state on
 * `<prefix>/<cameraId>/motion`, the event documents on `<prefix>/<cameraId>/event`, and the live settings a
 * `set` request may carry under `"motion"`. Pure parsing and validation, shared by the agent and the viewer.
 */

/** Payloads of the retained `motion` topic (UTF-8, no quotes): Home Assistant's binary_sensor defaults. */
export type MotionState = 'ON' | 'OFF';

export function parseMotionState(payload: Uint8Array): MotionState | undefined {
  const text = Buffer.from(payload).toString('utf8');
  return text === 'ON' || text === 'OFF' ? text : undefined;
}

/** A rectangle in relative coordinates of the picture: 0,0 is the top left corner, 1,1 the bottom right. */
export interface Zone {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Most mask zones; more would only slow building the mask. */
export const MAX_ZONES = 16;

/** Why a zone is not one, or undefined when it is. */
export function zoneProblem(zone: readonly number[]): string | undefined {
  if (zone.length !== 4 || zone.some((n) => typeof n !== 'number' || !Number.isFinite(n))) return 'a zone is four numbers x,y,w,h';
  const [x, y, w, h] = zone as [number, number, number, number];
  if (x < 0 || y < 0 || x >= 1 || y >= 1) return `zone ${zone.join(',')}: x and y must be from 0 to below 1 (fractions of the picture)`;
  if (w <= 0 || h <= 0 || x + w > 1.000001 || y + h > 1.000001) return `zone ${zone.join(',')}: w and h must be above 0 and keep the zone inside the picture (x+w and y+h at most 1)`;
  return undefined;
}

/**
 * Parses the text form of mask zones: zones separated by `;` or spaces, each `x,y,w,h` in fractions of the
 * picture, e.g. `0,0,1,0.2; 0.7,0.5,0.3,0.5`. Empty text is no zone.
 */
export function parseZones(text: string): { zones: Zone[] } | { error: string } {
  const parts = text.split(/[;\s]+/).filter((p) => p.length > 0);
  if (parts.length > MAX_ZONES) return { error: `at most ${MAX_ZONES} zones` };
  const zones: Zone[] = [];
  for (const part of parts) {
    const numbers = part.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
    const problem = zoneProblem(numbers);
    if (problem) return { error: `${problem} (got "${part.slice(0, 40)}")` };
    const [x, y, w, h] = numbers as [number, number, number, number];
    zones.push({ x, y, w, h });
  }
  return { zones };
}

/** The settings of the detector a `set` request may change live, and their bounds (the agent's options use the same). */
export interface MotionSettings {
  /** How much a pixel's brightness must differ from the background (0–255 scale) to count as changed. */
  threshold: number;
  /** Percent of the watched picture that must change for a frame to count as motion. */
  minArea: number;
  /** Seconds motion must last before `ON`. */
  minDuration: number;
  /** Seconds without motion before `OFF`. */
  hold: number;
  /** Parts of the picture ignored. */
  mask: Zone[];
}

export const MOTION_LIMITS = {
  threshold: [1, 255],
  minArea: [0.01, 100],
  minDuration: [0, 60],
  hold: [0, 3600],
} as const;

export type MotionChanges = Partial<MotionSettings>;

/** Validates the `"motion"` object of a `set` request. */
export function parseMotionChanges(value: unknown): { changes: MotionChanges } | { error: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: '"motion" must be an object' };
  const v = value as Record<string, unknown>;
  const known = [...Object.keys(MOTION_LIMITS), 'mask'];
  const unknown = Object.keys(v).filter((k) => !known.includes(k));
  if (unknown.length > 0) return { error: `unknown motion field "${unknown[0]}"; allowed: ${known.join(', ')}` };
  const changes: MotionChanges = {};
  for (const [key, [min, max]] of Object.entries(MOTION_LIMITS) as Array<[keyof typeof MOTION_LIMITS, readonly [number, number]]>) {
    const x = v[key];
    if (x === undefined) continue;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < min || x > max || (key === 'threshold' && !Number.isInteger(x))) {
      return { error: `"motion.${key}" must be ${key === 'threshold' ? 'a whole number' : 'a number'} from ${min} to ${max}` };
    }
    changes[key] = x;
  }
  if (v.mask !== undefined) {
    if (!Array.isArray(v.mask) || v.mask.length > MAX_ZONES) return { error: `"motion.mask" must be a list of at most ${MAX_ZONES} zones [x,y,w,h]` };
    const zones: Zone[] = [];
    for (const zone of v.mask) {
      if (!Array.isArray(zone)) return { error: '"motion.mask": each zone is a list [x,y,w,h]' };
      const problem = zoneProblem(zone as number[]);
      if (problem) return { error: `"motion.mask": ${problem}` };
      const [x, y, w, h] = zone as [number, number, number, number];
      zones.push({ x, y, w, h });
    }
    changes.mask = zones;
  }
  if (Object.keys(changes).length === 0) return { error: '"motion" changes nothing: give threshold, minArea, minDuration, hold or mask' };
  return { changes };
}

/** The `motion` field of the agent's stats (PROTOCOL.md §11). */
export interface MotionStats {
  state: MotionState;
  /** Changed area of the latest analysed frame, percent of the watched picture. */
  score: number;
  /** Highest score since the previous stats. */
  peak: number;
  /** Frames analysed, and frames let go because an analysis was still running (newest wins), since start. */
  analysed: number;
  skipped: number;
  /** Frames the analysis could not decode. */
  failed: number;
  /** Mean time of one analysis (decode of the small copy, scoring), ms, since the previous stats. */
  analysisMs: number;
  /** Share of the wall-clock time an analysis was running since the previous stats, percent (of one core at most). */
  busyPct: number;
  events: number;
}

/** The changed area's bounding box, relative coordinates as a Zone. */
export type Box = Zone;

/**
 * A document on the `event` topic (not retained). `start` is sent when `motion` turns ON, `end` when it turns
 * OFF; both carry what is known so far. Times are ISO 8601 (UTC) from the capture time of frames.
 */
export interface MotionEvent {
  type: 'motion';
  phase: 'start' | 'end';
  /** Stream-unique number of the event (counts from 1 at agent start). */
  id: number;
  /** Capture time of the first frame with motion. */
  start: string;
  /** `seq` of that frame on the `frame` topic. */
  seq: number;
  /** Capture time of the last frame with motion (end only). */
  end?: string;
  /** Largest changed area seen, percent of the watched picture. */
  peak: number;
  /** Bounding box of all change seen in the event. */
  box: Box;
}

/** Largest `event` document a receiver reads; real ones are about 250 bytes. */
export const MAX_EVENT_BYTES = 2048;

const fraction = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
const isoTime = (v: unknown): v is string => typeof v === 'string' && v.length <= 40 && !Number.isNaN(Date.parse(v));

/** Validates an `event` payload; a new object with only the documented fields, or undefined. */
export function parseMotionEvent(payload: Uint8Array): MotionEvent | undefined {
  if (payload.length > MAX_EVENT_BYTES) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const e = v as Record<string, unknown>;
  if (e.type !== 'motion' || (e.phase !== 'start' && e.phase !== 'end')) return undefined;
  if (!Number.isSafeInteger(e.id) || (e.id as number) < 0 || !Number.isSafeInteger(e.seq) || (e.seq as number) < 0 || (e.seq as number) > 0xffffffff) return undefined;
  if (!isoTime(e.start) || (e.end !== undefined && !isoTime(e.end))) return undefined;
  if (typeof e.peak !== 'number' || !Number.isFinite(e.peak) || e.peak < 0 || e.peak > 100) return undefined;
  const b = e.box as Record<string, unknown> | undefined;
  if (typeof b !== 'object' || b === null || !fraction(b.x) || !fraction(b.y) || !fraction(b.w) || !fraction(b.h)) return undefined;
  const event: MotionEvent = { type: 'motion', phase: e.phase, id: e.id as number, start: e.start, seq: e.seq as number, peak: e.peak, box: { x: b.x, y: b.y, w: b.w, h: b.h } };
  if (typeof e.end === 'string') event.end = e.end;
  return event;
}
