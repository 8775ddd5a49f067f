/**
 * How the agent tells its supervisor (systemd) what it is doing. The default does nothing, so the agent
 * runs the same outside systemd.
 */
export interface LifecycleReporter {
  /** Connected and the first frame is out. */
  ready(status: string): void;
  /** A short live summary, e.g. "streaming 1280x720 @ 29.8 fps". */
  status(text: string): void;
  /** A frame was fully written to the broker: proof of life for a watchdog. */
  frameSent(): void;
  stopping(): void;
  stop(): Promise<void>;
}

export const noLifecycle: LifecycleReporter = {
  ready: () => {},
  status: () => {},
  frameSent: () => {},
  stopping: () => {},
  stop: async () => {},
};
