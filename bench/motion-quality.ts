/**
 * Detection quality of the agent's motion detector on a clip, offline: the same decode, background model and
 * tracker the agent runs, fed the clip's frames at the analysis rate with capture times spaced as the clip's
 * frame rate says.
 */
import { BackgroundModel } from '../agent/motion/background-model.js';
import { MotionTracker } from '../agent/motion/motion-tracker.js';
import { decodeSmall } from '../agent/motion/small-decode.js';
import type { MotionSettings } from '../protocol/motion.js';
import type { Clip } from './motion-clips.js';

export interface ClipQuality {
  clip: string;
  /** Events the detector reported, as frame ranges [first moving frame it names, frame at which it ended). */
  events: Array<{ from: number; to: number }>;
  /** Motion intervals in the truth. */
  truth: Array<{ from: number; to: number }>;
  /** Reported events that overlap a true interval / all reported (1 when none were reported). */
  precision: number;
  /** True intervals with an overlapping event / all true intervals (1 when there are none). */
  recall: number;
  /** Capture time from the first moving frame to the frame that turned the event ON, ms (first interval). */
  delayMs: number | undefined;
  /** Highest per-frame score seen, percent. */
  peakScore: number;
}

function intervals(flags: boolean[]): Array<{ from: number; to: number }> {
  const out: Array<{ from: number; to: number }> = [];
  for (let i = 0; i < flags.length; i++) {
    if (flags[i] && !flags[i - 1]) out.push({ from: i, to: i + 1 });
    else if (flags[i]) out.at(-1)!.to = i + 1;
  }
  return out;
}

const overlaps = (a: { from: number; to: number }, b: { from: number; to: number }): boolean => a.from < b.to && b.from < a.to;

export async function evaluateClip(clip: Clip, settings: MotionSettings, analysisFps = 5): Promise<ClipQuality> {
  const settingsWithMask = { ...settings, mask: clip.spec.mask ?? settings.mask };
  const model = new BackgroundModel(settingsWithMask);
  const tracker = new MotionTracker(settingsWithMask);
  const frameMs = 1000 / clip.spec.fps;
  const step = Math.max(1, Math.round(clip.spec.fps / analysisFps));
  const events: Array<{ from: number; to: number }> = [];
  let onAt: number | undefined;
  let peakScore = 0;
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < clip.frames.length; i += step) {
    const atMs = t0 + i * frameMs;
    const image = await decodeSmall(clip.frames[i]!, atMs);
    const { score, box } = model.analyze(image);
    peakScore = Math.max(peakScore, score);
    const event = tracker.update({ score, box, seq: i, atMs });
    if (event?.phase === 'start') { events.push({ from: event.seq, to: clip.frames.length }); onAt ??= i; }
    if (event?.phase === 'end') events.at(-1)!.to = i;
  }
  const truth = intervals(clip.moving);
  const precision = events.length === 0 ? 1 : events.filter((e) => truth.some((t) => overlaps(e, t))).length / events.length;
  const recall = truth.length === 0 ? 1 : truth.filter((t) => events.some((e) => overlaps(e, t))).length / truth.length;
  const first = truth[0];
  const firstEvent = first && events.find((e) => overlaps(e, first));
  const delayMs = first && firstEvent && onAt !== undefined ? (onAt - first.from) * frameMs : undefined;
  return { clip: clip.spec.name, events, truth, precision, recall, delayMs, peakScore };
}
