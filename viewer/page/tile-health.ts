// Whether a tile may look live. A picture is greyed when nothing new was drawn for a while ("last frame N s
// ago", as before), and also when what it shows is old even though frames still trickle in ("behind by N s"):
// a still or late picture must never pass for a live one.

/** Nothing drawn for this long (or three frame intervals of a slow camera) greys the tile. */
export const SILENT_AFTER_MS = 3000;
/** A shown frame older than this plus one frame interval is behind. */
export const BEHIND_AFTER_MS = 1000;

export interface TileFacts {
  nowMs: number;
  /** When the shown frame was drawn (this computer's clock); undefined before the first. */
  drawnAtMs?: number;
  /** Its capture time (camera clock). */
  capturedAtMs?: number;
  /** The smallest capture → draw latency lately: tells whether the two clocks can be compared. */
  latencyMinMs?: number;
  expectedFps?: number;
  /** The thumbnail rate the viewer limits this tile to, if it does. */
  thumbnailFps?: number;
  offline: boolean;
}

export type TileHealth = { state: 'live' } | { state: 'silent' | 'behind'; text: string };

/**
 * Capture time comes from the camera's clock and draw time from this computer's: only NTP on both makes the
 * difference a latency. Negative or many seconds means the clocks disagree, and then "behind" cannot be told.
 */
export function clocksSkewed(latencyMs: number | undefined): boolean {
  return latencyMs !== undefined && (latencyMs < -50 || latencyMs > 10_000);
}

/** How long a tile may go without a new frame, and how old its frame may be, before it stops looking live. */
function limits(facts: TileFacts): { silentAfterMs: number; behindAfterMs: number; intervalMs: number } {
  const rate = Math.min(facts.expectedFps ?? Infinity, facts.thumbnailFps ?? Infinity);
  const intervalMs = Number.isFinite(rate) && rate > 0 ? 1000 / rate : 0;
  return { silentAfterMs: Math.max(SILENT_AFTER_MS, facts.expectedFps ? 3000 / facts.expectedFps : 0), behindAfterMs: BEHIND_AFTER_MS + intervalMs, intervalMs };
}

/**
 * When a live tile stops being live if nothing new is drawn (this computer's clock), so the page can judge it
 * again at that moment rather than at its next periodic check; undefined when no time alone changes it.
 */
export function liveUntil(facts: TileFacts): number | undefined {
  const { drawnAtMs, capturedAtMs } = facts;
  if (drawnAtMs === undefined) return undefined;
  const { silentAfterMs, behindAfterMs } = limits(facts);
  const silentAt = drawnAtMs + silentAfterMs;
  if (capturedAtMs === undefined || clocksSkewed(facts.latencyMinMs)) return silentAt;
  return Math.min(silentAt, capturedAtMs + behindAfterMs);
}

export function tileHealth(facts: TileFacts): TileHealth {
  const { nowMs, drawnAtMs, capturedAtMs } = facts;
  const { silentAfterMs, behindAfterMs, intervalMs } = limits(facts);
  const silentFor = drawnAtMs === undefined ? Infinity : nowMs - drawnAtMs;
  const silent = (): TileHealth => {
    const when = drawnAtMs === undefined ? 'no picture yet' : `last frame ${Math.round(silentFor / 1000)} s ago`;
    return { state: 'silent', text: facts.offline ? `offline · ${when}` : when };
  };
  if (silentFor > silentAfterMs) return silent();
  if (capturedAtMs === undefined || clocksSkewed(facts.latencyMinMs)) return { state: 'live' };
  const age = nowMs - capturedAtMs;
  if (age <= behindAfterMs) return { state: 'live' };
  // Old, and nothing drawn for a while either: the frames stopped (say so as when the clocks disagree).
  // Old although frames are still being drawn: they come late.
  if (silentFor > Math.max(BEHIND_AFTER_MS, 2 * intervalMs)) return silent();
  return { state: 'behind', text: `behind by ${age < 10_000 ? (age / 1000).toFixed(1) : Math.round(age / 1000)} s` };
}
