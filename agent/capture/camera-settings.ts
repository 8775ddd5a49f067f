import { UnsupportedSetting } from './capture-errors.js';

/**
 * What a user sets about the picture, and how each backend's program is told. This file is the one place that
 * knows the camera programs' flags; sources call it and never build flags themselves.
 *
 * Ask the camera for the final size, quality and orientation: the camera's JPEG bytes then go out untouched,
 * at no CPU cost in the agent. What a camera cannot do (rpicam-vid cannot rotate by 90 or 270) is left to the
 * agent's processing step (agent/processing), which re-encodes each frame with sharp; each backend says which
 * settings its camera applies (`...Applies` below).
 *
 * Orientation is defined once for every backend: the flips mirror the picture as the camera sees it, then the
 * rotation turns the result clockwise (sharp and our ffmpeg filter order both do it this way round). raspistill
 * is told both and applies them in its firmware's order, unverified for 90/270 with a flip (docs/CAMERAS.md).
 */

export type Rotation = 0 | 90 | 180 | 270;

export interface CameraSettings {
  width: number;
  height: number;
  fps: number;
  /** JPEG quality 1-100. */
  quality: number;
  rotation: Rotation;
  hflip: boolean;
  vflip: boolean;
  /** Exposure mode/profile in the backend's words (aliases below map common ones). */
  exposure?: string;
  /** White balance mode in the backend's words (aliases below map common ones). */
  awb?: string;
  /** Exposure compensation in stops. */
  ev?: number;
  /** V4L2 device for the v4l2 source, e.g. /dev/video0; the first capture device when unset. */
  device?: string;
}

export const DEFAULT_CAMERA_SETTINGS: CameraSettings = {
  width: 1280,
  height: 720,
  fps: 15,
  quality: 80,
  rotation: 0,
  hflip: false,
  vflip: false,
};

/** A setting the chosen backend cannot honour; the source logs it instead of failing. */
export interface IgnoredSetting {
  field: string;
  reason: string;
}

function fail(field: string, problem: string): never {
  throw new UnsupportedSetting(field, problem);
}

function pick(field: string, value: string, allowed: readonly string[], aliases: Record<string, string>, backend: string): string {
  const lower = value.toLowerCase();
  const mapped = aliases[lower] ?? lower;
  if (allowed.includes(mapped)) return mapped;
  return fail(field, `'${value}' is not a ${backend} mode; use one of ${allowed.join(', ')}`);
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 1000) / 1000);
}

// ---------------------------------------------------------------------------------------------------------------
// rpicam-vid / libcamera-vid (rpicam-apps documentation: common and video options)

export const RPICAM_EXPOSURE = ['normal', 'sport', 'long', 'custom'] as const;
export const RPICAM_AWB = ['auto', 'incandescent', 'tungsten', 'fluorescent', 'indoor', 'daylight', 'cloudy', 'custom'] as const;
const RPICAM_EXPOSURE_ALIASES: Record<string, string> = { auto: 'normal', sports: 'sport', night: 'long' };
const RPICAM_AWB_ALIASES: Record<string, string> = { sun: 'daylight', cloud: 'cloudy' };

/**
 * `rpicam-vid -t 0 -n --codec mjpeg -q Q --width W --height H --framerate F --flush -o -` plus orientation and
 * exposure flags. `--flush` makes rpicam-vid fflush stdout after every frame; without it stdio keeps each
 * frame's last few KiB in its buffer until the next frame, adding a frame of latency.
 *
 * rpicam-vid rotates by 0 or 180 only (libcamera cannot transpose); for 90 and 270 the camera is not told and
 * the agent rotates (rpicamApplies).
 */
export function rpicamArgs(s: CameraSettings): string[] {
  const args = ['-t', '0', '-n', '--codec', 'mjpeg', '-q', String(s.quality), '--width', String(s.width), '--height', String(s.height),
    '--framerate', formatNumber(s.fps), '--flush'];
  if (s.rotation === 180) args.push('--rotation', '180');
  if (s.hflip) args.push('--hflip');
  if (s.vflip) args.push('--vflip');
  if (s.exposure) args.push('--exposure', pick('exposure', s.exposure, RPICAM_EXPOSURE, RPICAM_EXPOSURE_ALIASES, 'rpicam'));
  if (s.awb) args.push('--awb', pick('awb', s.awb, RPICAM_AWB, RPICAM_AWB_ALIASES, 'rpicam'));
  if (s.ev !== undefined && s.ev !== 0) {
    if (s.ev < -10 || s.ev > 10) fail('ev', 'rpicam accepts -10 to 10 stops');
    args.push('--ev', formatNumber(s.ev));
  }
  args.push('-o', '-');
  return args;
}

// ---------------------------------------------------------------------------------------------------------------
// raspistill (legacy camera stack), driven through node-raspistill's option names

export const RASPISTILL_EXPOSURE = ['off', 'auto', 'night', 'nightpreview', 'backlight', 'spotlight', 'sports', 'snow', 'beach', 'verylong', 'fixedfps', 'antishake', 'fireworks'] as const;
export const RASPISTILL_AWB = ['off', 'auto', 'sun', 'cloud', 'shade', 'tungsten', 'fluorescent', 'incandescent', 'flash', 'horizon', 'greyworld'] as const;
const RASPISTILL_EXPOSURE_ALIASES: Record<string, string> = { normal: 'auto', sport: 'sports', long: 'verylong' };
const RASPISTILL_AWB_ALIASES: Record<string, string> = { daylight: 'sun', cloudy: 'cloud' };

/** The subset of node-raspistill's ICameraOptions this agent sets (kept structural to avoid a type dependency). */
export interface RaspistillCameraOptions {
  noFileSave: true;
  noPreview: true;
  encoding: 'jpg';
  width: number;
  height: number;
  quality: number;
  thumb: 'none';
  rotation?: number;
  horizontalFlip: boolean;
  verticalFlip: boolean;
  awb?: string;
  exposure?: string;
}

export interface RaspistillPlan {
  options: RaspistillCameraOptions;
  /** Flags node-raspistill has no option for, appended by our executor. */
  extraArgs: string[];
  /** Timelapse interval (-tl) for the wanted fps. */
  intervalMs: number;
}

/**
 * Timelapse to stdout: `raspistill -n -e jpg -w W -h H -q Q -th none -t 0 -tl MS -o -`. `-th none` drops the EXIF
 * thumbnail (bytes nobody uses); `-t 0` with `-tl` runs until stopped. raspistill waits about a second for the
 * camera to settle before the first capture and enforces a short pause between captures, so high fps values
 * are not reached; use rpicam on systems that have it.
 */
export function raspistillPlan(s: CameraSettings): RaspistillPlan {
  const options: RaspistillCameraOptions = {
    noFileSave: true,
    noPreview: true,
    encoding: 'jpg',
    width: s.width,
    height: s.height,
    quality: s.quality,
    thumb: 'none',
    horizontalFlip: s.hflip,
    verticalFlip: s.vflip,
  };
  if (s.rotation !== 0) options.rotation = s.rotation;
  if (s.awb) options.awb = pick('awb', s.awb, RASPISTILL_AWB, RASPISTILL_AWB_ALIASES, 'raspistill');
  if (s.exposure) options.exposure = pick('exposure', s.exposure, RASPISTILL_EXPOSURE, RASPISTILL_EXPOSURE_ALIASES, 'raspistill');
  const extraArgs: string[] = [];
  if (s.ev !== undefined && s.ev !== 0) {
    // raspistill takes EV compensation in steps of 1/6 stop, documented range -10..10.
    const steps = Math.round(s.ev * 6);
    if (steps < -10 || steps > 10) fail('ev', 'raspistill accepts -1.67 to 1.67 stops (-10..10 steps of 1/6 stop)');
    extraArgs.push('-ev', String(steps));
  }
  return { options, extraArgs, intervalMs: Math.max(1, Math.round(1000 / s.fps)) };
}

// ---------------------------------------------------------------------------------------------------------------
// V4L2 through ffmpeg

/** Where ffmpeg reads from: a V4L2 device, or (tests, diagnostics) any ffmpeg input given as arguments. */
export type V4l2Input =
  | { kind: 'device'; path: string }
  | { kind: 'ffmpeg'; args: string[] };

/** passthrough: the camera's MJPEG is copied; encode: raw frames (e.g. YUYV) are encoded to JPEG by ffmpeg. */
export type V4l2Mode = { kind: 'passthrough' } | { kind: 'encode'; rawFormat?: string };

export interface V4l2Plan {
  args: string[];
  mode: V4l2Mode;
  ignored: IgnoredSetting[];
}

/** ffmpeg's mjpeg encoder takes -q:v 2 (best) .. 31; map quality 100..1 onto it. */
export function qualityToQscale(quality: number): number {
  return Math.round(2 + ((100 - quality) * 29) / 99);
}

/** Flips first, then the rotation (the order defined at the top of this file). */
function orientationFilter(s: CameraSettings): string | undefined {
  const filters: string[] = [];
  if (s.hflip) filters.push('hflip');
  if (s.vflip) filters.push('vflip');
  if (s.rotation === 90) filters.push('transpose=clock');
  if (s.rotation === 180) filters.push('hflip', 'vflip');
  if (s.rotation === 270) filters.push('transpose=cclock');
  return filters.length > 0 ? filters.join(',') : undefined;
}

/**
 * Passthrough: `ffmpeg -f v4l2 -input_format mjpeg -video_size WxH -framerate F -i DEV -c:v copy -bsf:v mjpeg2jpeg
 * -f mjpeg pipe:1`. mjpeg2jpeg adds the standard Huffman tables that many webcams leave out of their frames
 * (browsers and sharp cannot decode such frames). Rotation or flips need pixels, so they switch to encoding.
 */
export function ffmpegV4l2Plan(s: CameraSettings, input: V4l2Input, wanted: V4l2Mode): V4l2Plan {
  const ignored: IgnoredSetting[] = [];
  for (const field of ['exposure', 'awb', 'ev'] as const) {
    if (s[field] !== undefined && !(field === 'ev' && s.ev === 0)) {
      ignored.push({ field, reason: 'the v4l2 source cannot set it through ffmpeg; set it with v4l2-ctl' });
    }
  }
  const filter = orientationFilter(s);
  let mode = wanted;
  if (mode.kind === 'passthrough' && filter) {
    mode = { kind: 'encode' };
    ignored.push({ field: 'rotation', reason: 'rotation/flip re-encodes every frame with ffmpeg (costs CPU)' });
  }
  // yuvj420p, the pixel format ffmpeg's JPEG encoder needs, makes swscale print a deprecation warning on every
  // start, so when encoding only errors are worth a log line.
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', mode.kind === 'encode' ? 'error' : 'warning'];
  if (input.kind === 'device') {
    args.push('-f', 'v4l2', '-input_format', mode.kind === 'passthrough' ? 'mjpeg' : (mode.rawFormat ?? 'yuyv422'),
      '-video_size', `${s.width}x${s.height}`, '-framerate', formatNumber(s.fps), '-i', input.path);
  } else {
    args.push(...input.args);
  }
  args.push('-map', '0:v:0', '-an');
  if (mode.kind === 'passthrough') {
    args.push('-c:v', 'copy', '-bsf:v', 'mjpeg2jpeg');
  } else {
    if (filter) args.push('-vf', filter);
    args.push('-pix_fmt', 'yuvj420p', '-c:v', 'mjpeg', '-q:v', String(qualityToQscale(s.quality)));
  }
  args.push('-f', 'mjpeg', 'pipe:1');
  return { args, mode, ignored };
}


export interface FrameSize {
  width: number;
  height: number;
}

/** A picture's size once turned by `rotation`: the one place the rule "90 and 270 swap width and height" is written. */
export function rotateSize(size: FrameSize, rotation: Rotation): FrameSize {
  return rotation === 90 || rotation === 270 ? { width: size.height, height: size.width } : { width: size.width, height: size.height };
}

/** The size of the frames the settings ask for: their width and height, turned by their rotation. */
export function settingsFrameSize(s: Pick<CameraSettings, 'width' | 'height' | 'rotation'>): FrameSize {
  return rotateSize(s, s.rotation);
}
