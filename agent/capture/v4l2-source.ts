import { execFile } from 'node:child_process';
import type { Logger } from '../../common/logger.js';
import { CameraProcessError, NoCameraError } from './capture-errors.js';
import { ffmpegV4l2Plan, settingsFrameSize, type CameraSettings, type V4l2Input, type V4l2Mode } from './camera-settings.js';
import { APPLIES_ALL, type CameraApplies } from './frame-source.js';
import { ProcessFrameSource, type SupervisionSettings } from './process-frame-source.js';
import { checkDeviceAccess, listV4l2Devices, SYSTEM_V4L2_PATHS, type V4l2Paths } from './v4l2-devices.js';

/**
 * USB webcams (and any V4L2 capture device) through ffmpeg. Cameras that deliver MJPEG are passed through
 * without decoding; cameras that only give raw frames (YUYV, NV12) are encoded by ffmpeg.
 */

export interface V4l2SourceOptions {
  supervision?: Partial<SupervisionSettings>;
  /** Passthrough, encode, or decide from the device's format list (default). */
  mode?: 'auto' | V4l2Mode;
  /** Read something other than a device (tests use lavfi or an MJPEG file); requires an explicit mode. */
  input?: { kind: 'ffmpeg'; args: string[] };
  paths?: V4l2Paths;
  ffmpeg?: string;
}

export interface FfmpegFormatList {
  /** ffmpeg codec names of compressed formats, e.g. mjpeg, h264. */
  compressed: string[];
  /** ffmpeg pixel format names of raw formats, e.g. yuyv422, nv12. */
  raw: string[];
}

/** Parses `ffmpeg -f v4l2 -list_formats all -i DEV` output ("Compressed:     mjpeg : Motion-JPEG : 640x480 ..."). */
export function parseFfmpegFormatList(text: string): FfmpegFormatList {
  const list: FfmpegFormatList = { compressed: [], raw: [] };
  for (const line of text.split('\n')) {
    const match = line.match(/\b(Compressed|Raw)\s*:\s*(\S+)\s*:/);
    if (!match) continue;
    const name = match[2]!;
    if (name === 'Unsupported') continue;
    (match[1] === 'Compressed' ? list.compressed : list.raw).push(name);
  }
  return list;
}

function probeFormats(ffmpeg: string, device: string): Promise<FfmpegFormatList> {
  return new Promise((resolve) => {
    // ffmpeg exits non-zero after listing ("Immediate exit requested"); the list is on stderr either way.
    execFile(ffmpeg, ['-hide_banner', '-nostdin', '-f', 'v4l2', '-list_formats', 'all', '-i', device], { timeout: 10_000 }, (_error, _stdout, stderr) => {
      resolve(parseFfmpegFormatList(String(stderr)));
    });
  });
}

async function chooseDevice(settings: CameraSettings, paths: V4l2Paths): Promise<string> {
  if (settings.device) return settings.device;
  const devices = await listV4l2Devices(paths);
  const usable = devices.find((d) => !d.skipped);
  if (!usable) {
    throw new NoCameraError([devices.length === 0 ? `v4l2: no ${paths.devDir}/video* devices` : `v4l2: ${devices.map((d) => `${d.path} ${d.skipped}`).join(', ')}`]);
  }
  return usable.path;
}

export function createV4l2Source(settings: CameraSettings, logger: Logger, options: V4l2SourceOptions = {}): ProcessFrameSource {
  const wanted = options.mode ?? 'auto';
  if (options.input && wanted === 'auto') throw new Error('a non-device input needs an explicit mode');
  // Validate the settings now (configuration time) with a placeholder input.
  ffmpegV4l2Plan(settings, options.input ?? { kind: 'device', path: '/dev/video0' }, wanted === 'auto' ? { kind: 'passthrough' } : wanted);
  const frameMs = 1000 / settings.fps;
  const { width, height } = settingsFrameSize(settings);
  const ffmpeg = options.ffmpeg ?? 'ffmpeg';
  return new ProcessFrameSource({
    kind: 'v4l2',
    width,
    height,
    logger,
    applies: v4l2Applies(wanted === 'auto' ? { kind: 'passthrough' } : wanted),
    supervision: { startupTimeoutMs: 10_000, stallTimeoutMs: Math.max(3000, 5 * frameMs), stopTimeoutMs: 3000, ...options.supervision },
    prepare: async () => {
      let input: V4l2Input;
      let mode: V4l2Mode;
      if (options.input) {
        input = options.input;
        mode = wanted as V4l2Mode;
      } else {
        const device = await chooseDevice(settings, options.paths ?? SYSTEM_V4L2_PATHS);
        const denied = await checkDeviceAccess(device);
        if (denied) throw new CameraProcessError(denied, ffmpeg);
        input = { kind: 'device', path: device };
        if (wanted === 'auto') {
          const formats = await probeFormats(ffmpeg, device);
          if (formats.compressed.includes('mjpeg')) mode = { kind: 'passthrough' };
          else if (formats.raw.length > 0) mode = { kind: 'encode', rawFormat: formats.raw[0] };
          else mode = { kind: 'passthrough' }; // probe said nothing useful: try MJPEG, ffmpeg's error will tell
          logger.info(mode.kind === 'passthrough' ? 'camera gives MJPEG: passing it through' : 'camera gives no MJPEG: ffmpeg encodes its raw frames', {
            device,
            formats: [...formats.compressed, ...formats.raw].join(',') || 'unknown',
          });
        } else {
          mode = wanted;
        }
      }
      const plan = ffmpegV4l2Plan(settings, input, mode);
      for (const item of plan.ignored) logger.warn('setting not applied by this camera', { setting: item.field, reason: item.reason });
      return { name: 'ffmpeg', command: ffmpeg, args: plan.args, applies: v4l2Applies(plan.mode) };
    },
  });
}

/** What ffmpeg applies in each mode: passthrough keeps the camera's own JPEG quality. */
function v4l2Applies(mode: V4l2Mode): CameraApplies {
  return { ...APPLIES_ALL, quality: mode.kind === 'encode' };
}
