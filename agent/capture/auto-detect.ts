import { execFile } from 'node:child_process';
import { NoCameraError } from './capture-errors.js';
import { findExecutable, findFirstExecutable } from './find-executable.js';
import { RPICAM_PROGRAMS } from './rpicam-source.js';
import { checkDeviceAccess, listV4l2Devices, SYSTEM_V4L2_PATHS, type V4l2Paths } from './v4l2-devices.js';

/**
 * `--source auto`: rpicam first (the current Raspberry Pi camera stack), then raspistill (legacy stack), then the
 * first V4L2 capture device (USB webcams). Each step says why it was or was not taken, for the log and for the
 * error when nothing is found. A synthetic source is never chosen here: a test pattern must be asked for.
 */

export type DetectedSource = { kind: 'rpicam' } | { kind: 'raspistill' } | { kind: 'v4l2'; device: string };

export interface Detection {
  source: DetectedSource;
  /** Why this source was chosen. */
  reason: string;
  /** What was checked before, and why it was passed over. */
  skipped: string[];
}

export interface DetectOptions {
  /** Environment for the probing programs (PATH decides which tools exist). */
  env?: NodeJS.ProcessEnv;
  v4l2Paths?: V4l2Paths;
  timeoutMs?: number;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: timeoutMs }, (error, stdout, stderr) => resolve({ ok: !error, output: `${stdout}\n${stderr}` }));
  });
}

export interface ListedCamera {
  index: number;
  model: string;
  id: string;
}

/** Parses `rpicam-vid --list-cameras` ("0 : imx219 [3280x2464 10-bit RGGB] (/base/soc/i2c0mux/i2c@1/imx219@10)"). */
export function parseCameraList(text: string): ListedCamera[] {
  const cameras: ListedCamera[] = [];
  for (const line of text.split('\n')) {
    const match = line.match(/^(\d+) : (.+?) \[.*\(([^()]*)\)\s*$/);
    if (match) cameras.push({ index: Number(match[1]), model: match[2]!, id: match[3]! });
  }
  return cameras;
}

/** Parses `vcgencmd get_camera` ("supported=1 detected=1, libcamera interfaces=0"). */
export function parseGetCamera(text: string): number | undefined {
  const match = text.match(/detected=(\d+)/);
  return match ? Number(match[1]) : undefined;
}

export async function detectCamera(options: DetectOptions = {}): Promise<Detection> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const skipped: string[] = [];

  const rpicam = await findFirstExecutable(RPICAM_PROGRAMS, env.PATH);
  if (!rpicam) {
    skipped.push('rpicam: rpicam-vid/libcamera-vid not installed');
  } else {
    const listed = await run(rpicam.path, ['--list-cameras'], env, timeoutMs);
    const cameras = parseCameraList(listed.output);
    // libcamera also lists USB webcams (UVC); those are better served by V4L2, which passes their MJPEG through.
    const csi = cameras.filter((c) => !/usb/i.test(c.id));
    if (csi.length > 0) {
      return { source: { kind: 'rpicam' }, reason: `${rpicam.name} lists camera ${csi[0]!.model}`, skipped };
    }
    skipped.push(cameras.length > 0 ? `rpicam: ${rpicam.name} lists only USB cameras` : `rpicam: ${rpicam.name} lists no camera`);
  }

  const raspistill = await findExecutable('raspistill', env.PATH);
  if (!raspistill) {
    skipped.push('raspistill: not installed');
  } else {
    const vcgencmd = await findExecutable('vcgencmd', env.PATH);
    const detected = vcgencmd ? parseGetCamera((await run(vcgencmd, ['get_camera'], env, timeoutMs)).output) : undefined;
    if (detected === 0) {
      skipped.push('raspistill: vcgencmd get_camera reports no camera detected');
    } else {
      const why = detected === undefined ? 'raspistill is installed (no vcgencmd to confirm a camera)' : `vcgencmd get_camera reports ${detected} camera(s)`;
      return { source: { kind: 'raspistill' }, reason: why, skipped };
    }
  }

  const devices = await listV4l2Devices(options.v4l2Paths ?? SYSTEM_V4L2_PATHS);
  const problems: string[] = [];
  for (const device of devices) {
    if (device.skipped) continue;
    const denied = await checkDeviceAccess(device.path);
    if (denied) {
      problems.push(denied);
      continue;
    }
    return { source: { kind: 'v4l2', device: device.path }, reason: `first V4L2 capture device${device.name ? ` (${device.name})` : ''}`, skipped };
  }
  if (devices.length === 0) skipped.push('v4l2: no /dev/video* devices');
  else skipped.push(`v4l2: ${[...problems, ...devices.filter((d) => d.skipped).map((d) => `${d.path}: ${d.skipped}`)].join(', ')}`);
  throw new NoCameraError(skipped);
}
