import type { CameraSettings } from './camera-settings.js';

/**
 * The seam between cameras and the rest of the agent. A source gives whole JPEG frames; it knows nothing
 * of chunks, topics or MQTT. Every backend (synthetic, file, rpicam, raspistill, v4l2) implements this.
 */

export interface CapturedFrame {
  /** One complete JPEG image (SOI .. EOI). */
  data: Buffer;
  /** When the frame was captured (or read), microseconds since the Unix epoch. */
  capturedAtUs: number;
}

export interface FrameSink {
  /** Called for every frame, in capture order. Must not throw; must return quickly. */
  frame(frame: CapturedFrame): void;
  /**
   * A problem the source could not recover from by itself (e.g. the camera program cannot be started).
   * Recoverable trouble (a restart, a skipped frame) is logged by the source, not reported here.
   */
  fatal(error: Error): void;
}

export interface FrameSource {
  /** Short name for logs and the `info` topic, e.g. "synthetic" or "rpicam". */
  readonly kind: string;
  /** The size of frames this source produces, as far as it knows before the first frame. */
  readonly width: number;
  readonly height: number;
  /**
   * Settings this source can change (live or by a restart). Absent means every camera setting: camera
   * backends take them as flags on restart. A file replay, whose bytes are fixed, lists only `fps`.
   */
  readonly adjustable?: readonly AdjustableSetting[];
  /**
   * Which of the wanted picture settings the camera itself applies; the agent's processing step (sharp) does
   * what is left. Absent means all of them (the frames come out as asked).
   */
  readonly applies?: CameraApplies;
  /**
   * Applies changed settings without a restart where the source can; returns false when it cannot, and
   * the agent then restarts it with the new settings.
   */
  update?(changes: Partial<Record<AdjustableSetting, number | boolean>>): boolean;
  /**
   * The part of the settings that reaches this camera (its program's flags, a file's pace): two settings with
   * equal parts need no camera change, what differs is the processing step's job. Absent means all of them.
   */
  settingsSeen?(settings: CameraSettings): Partial<CameraSettings>;
  /** Starts producing frames into the sink. Resolves once the source is running; rejects if it cannot start. */
  start(sink: FrameSink): Promise<void>;
  /** Stops producing frames and releases every resource (child processes, timers, files). Idempotent. */
  stop(): Promise<void>;
}

/** What a camera does itself of the settings in CameraSettings (see agent/processing/processing-plan.ts). */
export interface CameraApplies {
  /** The camera was asked for the size (it may still deliver another; the processing step checks each frame). */
  size: boolean;
  /** The camera encodes at the wanted JPEG quality. */
  quality: boolean;
  /** The camera rotates by the wanted rotation. */
  rotation: boolean;
  /** The camera mirrors as wanted (hflip, vflip). */
  flips: boolean;
}

export const APPLIES_ALL: CameraApplies = { size: true, quality: true, rotation: true, flips: true };
export const APPLIES_NONE: CameraApplies = { size: false, quality: false, rotation: false, flips: false };

export type AdjustableSetting = 'fps' | 'width' | 'height' | 'quality' | 'rotation' | 'hflip' | 'vflip';

export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
