import { rotateSize, settingsFrameSize, type CameraSettings, type Rotation } from '../capture/camera-settings.js';
import type { CameraApplies } from '../capture/frame-source.js';
import type { JpegSize } from './jpeg-size.js';

/**
 * What the agent itself must do to a camera's frames, decided from what was asked and what the camera already
 * did. Pure, so every case is a unit test; the FrameProcessor carries it out with sharp.
 *
 * The rule is "processing only when asked": the defaults never cause a re-encode. Size and quality are only
 * requests to the camera unless the user set them (flag, environment, config file or remote control): then
 * they are exact, and a camera that gives something else (a webcam that lacks the size, a file replay, a
 * webcam's fixed MJPEG quality) has its frames resized or re-encoded. Orientation and the overlay are always
 * asked for when set.
 */

export type PictureSettings = Pick<CameraSettings, 'width' | 'height' | 'quality' | 'rotation' | 'hflip' | 'vflip'>;

export interface ProcessingRequest {
  wanted: PictureSettings;
  /** The user set the size / the quality, so frames must have it even if the camera cannot give it. */
  exact: { size: boolean; quality: boolean };
  /** An overlay is drawn on every frame. */
  overlay: boolean;
  /** What the camera applied itself. */
  applies: CameraApplies;
}

export interface ProcessingPlan {
  /** Clockwise rotation the agent applies (after the flips). */
  rotate: Rotation;
  /** Mirror top to bottom (sharp's flip). */
  vflip: boolean;
  /** Mirror left to right (sharp's flop). */
  hflip: boolean;
  /** Final size when exact; frames of another size are resized to it (cropping to keep the aspect ratio). */
  size: JpegSize | undefined;
  /** Re-encode even when nothing else changes, to reach the wanted quality. */
  requantise: boolean;
  overlay: boolean;
  /** Encoder quality whenever a frame is re-encoded. */
  quality: number;
}

export function planProcessing(request: ProcessingRequest): ProcessingPlan {
  const { wanted, exact, applies } = request;
  return {
    rotate: applies.rotation ? 0 : wanted.rotation,
    vflip: !applies.flips && wanted.vflip,
    hflip: !applies.flips && wanted.hflip,
    size: exact.size ? settingsFrameSize(wanted) : undefined,
    requantise: exact.quality && !applies.quality,
    overlay: request.overlay,
    quality: wanted.quality,
  };
}

/** Size of a frame after the plan's rotation (before any resize). */
export function rotatedSize(plan: ProcessingPlan, frame: JpegSize): JpegSize {
  return rotateSize(frame, plan.rotate);
}

/** The size frames leave the processing step at, given the size they arrive at. */
export function processedSize(plan: ProcessingPlan, frame: JpegSize): JpegSize {
  return plan.size ?? rotatedSize(plan, frame);
}

/** Whether this frame needs to be decoded and re-encoded. An unknown size is resized only if a size is exact. */
export function needsWork(plan: ProcessingPlan, frame: JpegSize | undefined): boolean {
  if (plan.rotate !== 0 || plan.vflip || plan.hflip || plan.requantise || plan.overlay) return true;
  if (!plan.size) return false;
  if (!frame) return true;
  const turned = rotatedSize(plan, frame);
  return turned.width !== plan.size.width || turned.height !== plan.size.height;
}

/**
 * The steps the plan takes on a frame of this size, in words for the log and the info message ([] when frames
 * go out untouched). An exact size the frame already has is no step.
 */
export function describePlan(plan: ProcessingPlan, frame: JpegSize | undefined): string[] {
  const steps: string[] = [];
  if (plan.hflip) steps.push('hflip');
  if (plan.vflip) steps.push('vflip');
  if (plan.rotate !== 0) steps.push(`rotate ${plan.rotate}`);
  if (plan.size) {
    const turned = frame && rotatedSize(plan, frame);
    if (!turned || turned.width !== plan.size.width || turned.height !== plan.size.height) steps.push(`resize ${plan.size.width}x${plan.size.height}`);
  }
  if (plan.requantise) steps.push(`quality ${plan.quality}`);
  if (plan.overlay) steps.push('overlay');
  return steps;
}
