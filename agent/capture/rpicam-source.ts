import type { Logger } from '../../common/logger.js';
import { CameraProcessError } from './capture-errors.js';
import { settingsFrameSize, rpicamArgs, type CameraSettings } from './camera-settings.js';
import { APPLIES_ALL, type CameraApplies } from './frame-source.js';
import { findFirstExecutable } from './find-executable.js';
import { ProcessFrameSource, type SupervisionSettings } from './process-frame-source.js';

/**
 * The libcamera stack (Raspberry Pi OS Bullseye and later): rpicam-vid in MJPEG mode writing to stdout.
 * Older images name the same program libcamera-vid with the same flags; it is used when rpicam-vid is missing.
 */

export const RPICAM_PROGRAMS = ['rpicam-vid', 'libcamera-vid'] as const;

export interface RpicamSourceOptions {
  supervision?: Partial<SupervisionSettings>;
}

export function createRpicamSource(settings: CameraSettings, logger: Logger, options: RpicamSourceOptions = {}): ProcessFrameSource {
  const args = rpicamArgs(settings); // bad settings fail here, at configuration time
  const frameMs = 1000 / settings.fps;
  const applies = rpicamApplies(settings);
  // Frames leave rpicam-vid unrotated when the agent does the rotation.
  const { width, height } = applies.rotation ? settingsFrameSize(settings) : settings;
  return new ProcessFrameSource({
    kind: 'rpicam',
    width,
    height,
    applies,
    settingsSeen: rpicamSettingsSeen,
    logger,
    supervision: {
      // Camera start-up (sensor mode switch, AGC/AWB settling) takes a second or two on a Pi.
      startupTimeoutMs: 15_000,
      stallTimeoutMs: Math.max(3000, 5 * frameMs),
      stopTimeoutMs: 3000,
      ...options.supervision,
    },
    prepare: async () => {
      const searchPath = options.supervision?.env?.PATH ?? process.env.PATH;
      const found = await findFirstExecutable(RPICAM_PROGRAMS, searchPath);
      if (!found) {
        throw new CameraProcessError('neither rpicam-vid nor libcamera-vid is installed (on Raspberry Pi OS: sudo apt install rpicam-apps)', 'rpicam-vid');
      }
      if (found.name !== 'rpicam-vid') logger.info('rpicam-vid not found; using the older name', { program: found.name });
      return { name: found.name, command: found.path, args };
    },
  });
}

/** What rpicam-vid does itself: everything but a rotation of 90 or 270 (it turns by 180 only). */
function rpicamApplies(s: CameraSettings): CameraApplies {
  return { ...APPLIES_ALL, rotation: s.rotation === 0 || s.rotation === 180 };
}

/** What rpicam-vid is told of the settings: all but a rotation of 90 or 270, which the processing step does. */
function rpicamSettingsSeen(s: CameraSettings): Partial<CameraSettings> {
  return { ...s, rotation: s.rotation === 180 ? 180 : 0 };
}
