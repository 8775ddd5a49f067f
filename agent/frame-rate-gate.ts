/**
 * Lets through at most `limit` frames per second of a faster camera, evenly spaced, by capture time. Adaptive
 * quality lowers the frame rate with it instead of restarting the camera program at a lower rate: a camera
 * restart is a gap of a second or two in the picture, exactly when the link is already struggling.
 */
export class FrameRateGate {
  private intervalUs = 0;
  private nextDueUs = -Infinity;
  private lastAcceptedUs = -Infinity;
  private limitFps: number | undefined;

  /** The frame-rate limit, or undefined for none. */
  get limit(): number | undefined {
    return this.limitFps;
  }

  setLimit(fps: number | undefined): void {
    this.limitFps = fps;
    this.intervalUs = fps === undefined ? 0 : 1e6 / fps;
    // The next frame is due one new interval after the last one that went: a new limit never lets two frames
    // through in quick succession (the link, just found too slow, would queue the second behind the first).
    this.nextDueUs = this.lastAcceptedUs + this.intervalUs;
  }

  /** Whether the frame captured at this time goes on. */
  accept(capturedAtUs: number): boolean {
    if (this.limitFps === undefined) {
      this.lastAcceptedUs = capturedAtUs;
      return true;
    }
    // A frame a little early (camera timing jitter) still counts as on time.
    if (capturedAtUs < this.nextDueUs - this.intervalUs * 0.1) return false;
    // Due times advance by whole intervals, so the mean rate is the limit even when it does not divide the
    // camera's rate; after a pause (a stall) they restart from now rather than letting a burst through.
    this.nextDueUs = capturedAtUs - this.nextDueUs > this.intervalUs ? capturedAtUs + this.intervalUs : this.nextDueUs + this.intervalUs;
    this.lastAcceptedUs = capturedAtUs;
    return true;
  }
}
