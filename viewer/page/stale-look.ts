/// <reference lib="dom" />
// A tile's grey look, set in advance for the moment its picture stops being live. The page judges its tiles in
// script (app.ts markStale, with tile-health.ts), but on a starved main thread the judging can run late, and a
// paint before it would show an old picture as live. An animation that starts at that moment is applied by
// the browser's style system at every paint after it, whatever the scripts are doing; the judging that
// follows only confirms it and sets the exact words ("behind by 1.4 s"). style.css gives the same look to a
// tile judged stale (.is-stale), so the two agree.

/** The grey of a picture that is not live (style.css `.tile.is-stale canvas`). */
const GREY: Keyframe = { filter: 'grayscale(1) brightness(.45)' };
const SHOWN: Keyframe = { visibility: 'visible' };

export class StaleLook {
  private animations: Animation[] = [];
  private atMs: number | undefined;
  private text = '';

  constructor(private readonly picture: HTMLElement, private readonly label: HTMLElement) {}

  /**
   * From `atMs` (Date.now() clock) on, greys the picture and shows `text`, unless scheduled again or cleared
   * first. Scheduling the same moment and text again changes nothing.
   */
  schedule(atMs: number, text: string): void {
    if (atMs === this.atMs && text === this.text) return;
    this.clear();
    this.atMs = atMs;
    this.text = text;
    // The label's words must be in place before it shows; while the tile is live nobody sees them.
    if (this.label.textContent !== text) this.label.textContent = text;
    const timing: KeyframeAnimationOptions = { delay: Math.max(0, atMs - Date.now()), duration: 1, fill: 'forwards' };
    this.animations = [this.picture.animate([GREY, GREY], timing), this.label.animate([SHOWN, SHOWN], timing)];
  }

  /** Nothing scheduled (the tile is judged stale, so its class greys it, or it has no picture yet). */
  clear(): void {
    for (const animation of this.animations) animation.cancel();
    this.animations = [];
    this.atMs = undefined;
    this.text = '';
  }
}
