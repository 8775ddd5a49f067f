// A tile's stats. By default one small line in the picture's bottom-right corner (cameras burn their time
// in at the top-left): what this page draws (fps), capture → draw latency, "thumbnail N fps" when the viewer
// limits the rate, and an error badge while frames are being lost. The full table shows on hover, on the
// enlarged camera, or for every tile with `I`. Figures the page measures itself are refreshed by the page,
// so the overlay keeps moving even when the viewer's summaries are slow to come.
import type { CameraSummary, LinkSummary } from './contract.js';
import type { DrawMeasures } from './frame-pipeline.js';
import { clocksSkewed } from './tile-health.js';

export interface OverlayFacts {
  camera?: CameraSummary;
  measures: DrawMeasures;
  /** Latency of the frame on screen, ms. */
  latencyMs?: number;
  thumbnailFps?: number;
  /** Frame size on the canvas, when a frame was drawn. */
  size?: { width: number; height: number };
  /** Frames lost lately (missed, incomplete or corrupt counters moved). */
  losing: boolean;
}

/** Text for innerHTML: some values come from agents' messages, which anyone with write access to the broker can send. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function stat(label: string, value: string, title = '', warn = false): string {
  const t = escapeHtml(title);
  return `<dt title="${t}">${escapeHtml(label)}</dt><dd class="${warn ? 'warn' : ''}" title="${t}">${escapeHtml(value)}</dd>`;
}

function latencyText(latencyMs: number | undefined): string {
  if (latencyMs === undefined) return '–';
  return `${Math.round(latencyMs)} ms${clocksSkewed(latencyMs) ? ' (clocks skewed?)' : ''}`;
}

export function lossCount(camera: CameraSummary | undefined): number {
  const c = camera?.counters;
  return c ? c.framesMissed + c.framesIncomplete + c.framesCorrupt : 0;
}

/** The one-line overlay, as HTML. */
export function overlayLine(facts: OverlayFacts): string {
  const parts = [`${facts.measures.drawnFps.toFixed(1)} fps`, facts.latencyMs === undefined ? '– ms' : latencyText(facts.latencyMs)];
  if (facts.thumbnailFps !== undefined) parts.push(`thumbnail ${facts.thumbnailFps} fps`);
  const badge = facts.losing ? ` <span class="loss" title="frames lost on the way: see the table (hover, or press I)">⚠ ${lossCount(facts.camera)}</span>` : '';
  return escapeHtml(parts.join(' · ')) + badge;
}

/** The full table, as HTML. */
export function overlayTable(facts: OverlayFacts): string {
  const camera = facts.camera;
  const c = camera?.counters;
  const stalled = camera?.agent?.stalled === true;
  const m = facts.measures;
  const p95 = m.latencyP95Ms === undefined ? '' : ` (p95 ${Math.round(m.latencyP95Ms)} ms)`;
  return (
    stat('drawn', `${m.drawnFps.toFixed(1)} fps${facts.thumbnailFps !== undefined ? ` (thumbnail ${facts.thumbnailFps} fps)` : ''}`, 'frames per second this page draws (over the last 2 s); thumbnails: the viewer sends this many to a page showing many cameras') +
    stat('fps', camera ? `${camera.fps.toFixed(1)}${camera.expectedFps ? ` / ${camera.expectedFps}` : ''}` : '–', 'frames per second the viewer receives / configured on the camera') +
    stat('latency', `${latencyText(facts.latencyMs)}${clocksSkewed(facts.latencyMs) ? '' : p95}`, 'capture (camera clock) to draw in this page (this computer\'s clock); exact only when both clocks use NTP', clocksSkewed(facts.latencyMs)) +
    stat('kbit/s', camera ? String(camera.kbps) : '–') +
    stat('size', facts.size ? `${facts.size.width}×${facts.size.height}` : camera?.width ? `${camera.width}×${camera.height}` : '–', 'resolution in pixels') +
    stat('missed', String(c?.framesMissed ?? 0), 'frames the camera sent or dropped that never arrived (sequence gaps)', (c?.framesMissed ?? 0) > 0) +
    stat('incomplete', String(c?.framesIncomplete ?? 0), 'frames that lost chunks on the way and were not shown', (c?.framesIncomplete ?? 0) > 0) +
    stat('corrupt', String(c?.framesCorrupt ?? 0), 'frames that failed the CRC-32 check and were not shown', (c?.framesCorrupt ?? 0) > 0) +
    stat('not drawn', String(m.dropped), 'frames this page received but replaced by a newer one before drawing (it was busy): it drops frames rather than lag') +
    stat('camera link', linkText(camera?.agent?.link), 'the camera\'s path to the broker as its agent measures it: round trip, the rate it sends at, and any queue standing in it', (camera?.agent?.link?.queueMs ?? 0) > 100) +
    stat('dropped at camera', String(camera?.agent?.framesDropped ?? '–'), 'frames the agent did not send (link busy, broker away, or skipped for a lower frame rate), from its stats') +
    stat('stalls', camera?.agent?.stalls === undefined ? '–' : `${camera.agent.stalls}${stalled ? ' (stalled now)' : ''}`, 'times the camera gave the agent no frame for its stall timeout, since the agent started (from its stats)', stalled) +
    stat('quality', camera?.agent?.quality === undefined ? '–' : `${camera.agent.quality}${camera.agent.adaptiveLevel ? ` (adapted, level ${camera.agent.adaptiveLevel})` : ''}`, 'JPEG quality; "adapted" when the camera stepped quality or frame rate down for a slow link', (camera?.agent?.adaptiveLevel ?? 0) > 0) +
    stat('processing', camera?.processing === undefined ? '–' : camera.processing.length === 0 ? 'none' : camera.processing.join(', '), 'what the agent does to the camera\'s JPEGs before sending them; "none": they go out as the camera made them, never re-encoded', (camera?.processing?.length ?? 0) > 0)
  );
}

function linkText(link: LinkSummary | undefined): string {
  if (link?.rttMs === undefined) return '–';
  const rate = link.kbps === undefined ? '' : ` · ${link.kbps >= 1000 ? `${(link.kbps / 1000).toFixed(1)} Mbit/s` : `${link.kbps} kbit/s`}`;
  const queue = (link.queueMs ?? 0) >= 10 ? ` · queue ${Math.round(link.queueMs!)} ms` : '';
  return `${Math.round(link.rttMs)} ms${rate}${queue}`;
}
