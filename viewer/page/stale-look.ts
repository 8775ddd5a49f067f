/// <reference lib="dom" />
// A tile's stale label, shown in advance from the moment its picture stops being live. The page judges its tiles
// in script (app.ts markStale, with tile-health.ts), but on a starved main thread the judging can run late, and
// a paint before it would show an old picture as live. An animation that starts at that moment is applied by
// the browser's style system at every paint after it, whatever the scripts are doing: the label, over a dark
// veil (style.css), covers the picture with the words the judging would give it; the judging that follows
// greys the picture itself and updates the words ("behind by 1.4 s").
//
// Only the label is animated. The same animation of the picture's filter, measured with `npm run bench:page`,
// cost the browser 20–50 % more CPU and an enlarged 720p30 camera about 10 of its 29 drawn frames a second
// (why was not pinned down); the label's costs nothing measurable.

const SHOWN: Keyframe = { visibility: 'visible' };

export class StaleLook {
  private animation: Animation | undefined;
  private atMs: number | undefined;
  private text = '';

  constructor(private readonly label: HTMLElement) {}

  /**
   * From `atMs` (Date.now() clock) on, shows the label with `text`, unless scheduled again or cleared first. Scheduling the same moment and text again changes nothing.
   */
  schedule(atMs: number, text: string): void {
    if (atMs === this.atMs && text === this.text) return;
    this.clear();
    this.atMs = atMs;
    this.text = text;
    // The label's words must be in place before it shows; while the tile is live nobody sees them.
    if (this.label.textContent !== text) this.label.textContent = text;
    const timing: KeyframeAnimationOptions = { delay: Math.max(0, atMs - Date.now()), duration: 1, fill: 'forwards' };
    this.animation = this.label.animate([SHOWN, SHOWN], timing);
  }

  /** Nothing scheduled (the tile is judged stale, so its class shows the label, or it has no picture yet). */
  clear(): void {
    this.animation?.cancel();
    this.animation = undefined;
    this.atMs = undefined;
    this.text = '';
  }
}
