import os from 'node:os';
import { brokerAccountOptions } from '../common/broker-account-options.js';
import { opt, type OptionValues } from '../common/options.js';
import { DEFAULT_PREFIX, PREFIX_PATTERN, CAMERA_ID_PATTERN } from '../protocol/topics.js';
import { HEADER_LENGTH } from '../protocol/header.js';
import { MIN_CHUNK_SIZE } from '../protocol/packet-size.js';
import { LOG_LEVELS } from '../common/logger.js';
import type { CaptureSettings } from './capture/registry.js';
import type { ExactSettings } from './camera-control.js';
import { OVERLAY_POSITIONS, OVERLAY_TEMPLATE_HINT, OVERLAY_TEMPLATE_PATTERN } from './processing/overlay-template.js';
import type { OverlaySettings } from './processing/frame-processor.js';
import { MOTION_LIMITS, parseZones } from '../protocol/motion.js';
import type { MotionOptions } from './motion/motion-detector.js';

export const AGENT_ENV_PREFIX = 'PICAM_';

/** The command lines --help opens with (a test parses each against the options below). */
export const AGENT_EXAMPLES: readonly (readonly string[])[] = [
  ['--broker', 'mqtt://127.0.0.1:1883', '--camera-id', 'garden'],
  ['--broker', 'mqtt://127.0.0.1:1883', '--camera-id', 'garden', '--source', 'synthetic', '--fps', '15'],
  ['--broker', 'mqtts://pi.local:8883', '--ca-file', 'ca.crt', '--username', 'garden', '--rotation', '90', '--overlay', '{id} {date} {time}'],
];

function defaultCameraId(): string {
  const cleaned = os.hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
  return cleaned.length > 0 ? cleaned : 'camera';
}

const BROKER_URL = /^(mqtts?|wss?):\/\/[^\s/]+/;
const SOURCE_PATTERN = /^(auto|rpicam|raspistill|v4l2|v4l2:.+|synthetic|file:.+)$/;

/** Every option of picam-agent. The reference table in docs/OPTIONS.md is generated from this (npm run docs:options). */
export const agentOptions = {
  broker: opt.string({ description: 'MQTT broker URL: mqtt://, mqtts:// (TLS), ws:// or wss://.', arg: 'URL', pattern: BROKER_URL, patternHint: 'a broker URL such as mqtt://127.0.0.1:1883' }, 'mqtt://127.0.0.1:1883'),
  cameraId: opt.string({ description: 'Camera id, the topic level after the prefix (letters, digits, _ and -, up to 64). Defaults to the host name.', arg: 'ID', pattern: CAMERA_ID_PATTERN, patternHint: 'made of letters, digits, _ and - (1 to 64 characters)', defaultText: 'host name' }, defaultCameraId()),
  prefix: opt.string({ description: 'Topic prefix; may have several levels, e.g. picam/garden.', arg: 'PREFIX', pattern: PREFIX_PATTERN, patternHint: 'one or more topic levels without wildcards, e.g. picam or picam/garden' }, DEFAULT_PREFIX),
  source: opt.string({ description: 'Frame source: auto (rpicam, then raspistill, then the first V4L2 device; fails if there is no camera), rpicam (rpicam-vid/libcamera-vid), raspistill (legacy camera stack), v4l2[:DEVICE] (USB webcam through ffmpeg), synthetic (moving test pattern) or file:<dir-or-glob> (replays JPEG files in name order). See docs/CAMERAS.md.', arg: 'SOURCE', pattern: SOURCE_PATTERN, patternHint: 'auto, rpicam, raspistill, v4l2, v4l2:/dev/videoN, synthetic or file:<dir-or-glob>' }, 'auto'),
  loop: opt.boolean({ description: 'file: source only: start again from the first file after the last (--no-loop plays once and stops).' }, true),
  fps: opt.number({ description: 'Frames per second to capture and send.', min: 0.1, max: 120 }, 15),
  width: opt.integer({ description: 'Frame width in pixels (before rotation). The camera is asked for it. Set it yourself and frames are sure to have it: where the camera gives another size (or a file: replay), the agent resizes them with sharp (costs CPU); the default is only a request.', min: 16, max: 7680 }, 640),
  height: opt.integer({ description: 'Frame height in pixels (before rotation); as --width.', min: 16, max: 4320 }, 480),
  quality: opt.integer({ description: "JPEG quality (1-100): the camera's encoder quality, or the agent's where it encodes. Set it yourself and a camera that cannot be told (webcam MJPEG, file: replay) has its frames re-encoded at it.", min: 1, max: 100 }, 80),
  rotation: opt.enum({ description: 'Rotate the picture clockwise by this many degrees, after the flips. The camera does it where it can; otherwise (rpicam 90/270, file:) the agent does, re-encoding each frame.', values: ['0', '90', '180', '270'] as const }, '0'),
  hflip: opt.boolean({ description: 'Mirror the picture left to right (done by the camera where it can).' }, false),
  vflip: opt.boolean({ description: 'Mirror the picture top to bottom (done by the camera where it can).' }, false),
  overlay: opt.string({ description: 'Text drawn on every frame, e.g. "{id} {date} {time}" ({id} camera id, {date} and {time} of capture, local time). Empty: none. Re-encodes every frame with sharp (costs CPU).', arg: 'TEXT', defaultText: 'none', pattern: OVERLAY_TEMPLATE_PATTERN, patternHint: OVERLAY_TEMPLATE_HINT }, ''),
  overlayPosition: opt.enum({ description: 'Corner the overlay text is drawn in.', values: OVERLAY_POSITIONS }, 'bottom-left'),
  device: opt.optionalString({ description: 'V4L2 device for the v4l2 source (default: the first capture device).', arg: 'PATH' }),
  exposure: opt.optionalString({ description: 'Camera exposure mode (rpicam: normal, sport, long; raspistill: auto, night, sports, ...). Not for v4l2.', arg: 'MODE' }),
  awb: opt.optionalString({ description: 'Camera white balance mode (rpicam: auto, daylight, cloudy, tungsten, ...; raspistill: auto, sun, cloud, ...). Not for v4l2.', arg: 'MODE' }),
  ev: opt.number({ description: 'Exposure compensation in stops (rpicam -10..10, raspistill about -1.7..1.7). Not for v4l2.', arg: 'STOPS', min: -10, max: 10 }, 0),
  chunkSize: opt.integer({ description: `Largest chunk message in bytes (header of ${HEADER_LENGTH} bytes included; why at least ${MIN_CHUNK_SIZE}: docs/PROTOCOL.md §2.2). Lowered automatically to the broker's Maximum Packet Size over MQTT 5; the agent stops (exit code 2) when that limit leaves less than ${MIN_CHUNK_SIZE} bytes.`, arg: 'BYTES', min: MIN_CHUNK_SIZE, max: 256 * 1024 * 1024 }, 128 * 1024),
  qos: opt.enum({ description: 'MQTT QoS for chunks (0 drops under load, 1 retries).', values: ['0', '1'] as const }, '0'),
  mqttVersion: opt.enum({ description: 'MQTT protocol version: 5, or 4 for MQTT 3.1.1 brokers.', values: ['4', '5'] as const }, '5'),
  frameExpiry: opt.integer({ description: 'MQTT 5 message expiry of chunks in seconds, so stale frames are not delivered late.', arg: 'SECONDS', min: 1, max: 3600 }, 2),
  ...brokerAccountOptions,
  keepalive: opt.integer({ description: 'MQTT keepalive in seconds: a dead link is noticed within 1.5 times this, by both the agent and the broker (which then publishes status offline).', arg: 'SECONDS', min: 1, max: 3600 }, 10),
  stallTimeout: opt.number({ description: 'Seconds without a frame from the camera before the agent reports it stalled (log, stats "stalled": true, systemd status; the systemd watchdog is no longer fed).', arg: 'SECONDS', min: 0.5, max: 3600 }, 10),
  control: opt.boolean({ description: 'Accept remote-control requests on <prefix>/<id>/set (answers on .../result). Restrict who may write it with the broker ACL.' }, true),
  adaptive: opt.boolean({ description: 'Lower quality, then frame rate, when the link delivers less than the stream needs (bandwidth, never latency); raise them again when it can carry more.' }, true),
  minQuality: opt.integer({ description: 'Lowest JPEG quality adaptive mode steps down to.', min: 1, max: 100 }, 30),
  adaptInterval: opt.number({ description: 'Seconds between adaptive-quality decisions (one change per interval at most).', arg: 'SECONDS', min: 0.1, max: 60 }, 2),
  minFps: opt.number({ description: 'Lowest frame rate adaptive mode selects frames at. A link that cannot carry even this gets the newest frame whenever it has room.', min: 0.1, max: 120 }, 2),
  homeassistant: opt.boolean({ description: 'Publish Home Assistant MQTT discovery (camera, online sensor, fps) and whole-JPEG snapshots for it.' }, false),
  haPrefix: opt.string({ description: 'Home Assistant discovery prefix.', arg: 'PREFIX', pattern: PREFIX_PATTERN, patternHint: 'topic levels without wildcards' }, 'homeassistant'),
  haSnapshotInterval: opt.number({ description: 'Seconds between whole-JPEG snapshots for Home Assistant.', arg: 'SECONDS', min: 1, max: 86_400 }, 10),
  motion: opt.boolean({ description: 'Detect motion in the frames (docs/MOTION.md): publishes ON/OFF on <prefix>/<id>/motion (retained), an event document on .../event, and a motion sensor in Home Assistant discovery. Analyses a 1/8-size decode of some frames; the stream is never delayed nor re-encoded.' }, false),
  motionFps: opt.number({ description: 'Frames analysed for motion per second, at most (others pass untouched; when the analysis falls behind, the newest frame waits and older ones are skipped and counted).', min: 0.2, max: 30 }, 5),
  motionThreshold: opt.integer({ description: 'How much a pixel\'s brightness (0-255) must differ from the learned background to count as changed, after global light changes are taken out. Lower is more sensitive.', arg: 'LEVEL', min: MOTION_LIMITS.threshold[0], max: MOTION_LIMITS.threshold[1] }, 20),
  motionMinArea: opt.number({ description: 'Percent of the watched picture that must change for a frame to count as motion.', arg: 'PERCENT', min: MOTION_LIMITS.minArea[0], max: MOTION_LIMITS.minArea[1] }, 0.5),
  motionMinDuration: opt.number({ description: 'Seconds motion must go on, frame after frame, before ON.', arg: 'SECONDS', min: MOTION_LIMITS.minDuration[0], max: MOTION_LIMITS.minDuration[1] }, 0.3),
  motionHold: opt.number({ description: 'Seconds without motion before OFF (the event ends).', arg: 'SECONDS', min: MOTION_LIMITS.hold[0], max: MOTION_LIMITS.hold[1] }, 5),
  motionMask: opt.string({ description: 'Parts of the picture motion detection ignores (a road, a tree): rectangles x,y,w,h in fractions of the picture (0,0 top left), separated by ; e.g. "0,0,1,0.2; 0.7,0.5,0.3,0.5". Empty: watch everything.', arg: 'ZONES', defaultText: 'none', check: (text) => { const parsed = parseZones(text); return 'error' in parsed ? parsed.error : undefined; } }, ''),
  statsInterval: opt.number({ description: 'Seconds between stats messages.', arg: 'SECONDS', min: 1, max: 3600 }, 5),
  logLevel: opt.enum({ description: 'Log level.', values: LOG_LEVELS }, 'info'),
};

export type AgentConfig = OptionValues<typeof agentOptions>;

/** Which layer set each option (parseOptions' origin). */
export type AgentOrigins = Partial<Record<keyof typeof agentOptions, 'flag' | 'env' | 'file' | 'default'>>;

/** Size and quality the user set are exact: frames must have them (processing-plan.ts). */
export function exactSettings(origin: AgentOrigins): ExactSettings {
  const set = (key: keyof typeof agentOptions): boolean => origin[key] !== undefined && origin[key] !== 'default';
  return { size: set('width') || set('height'), quality: set('quality') };
}

/** The overlay part of the configuration; undefined when no text is drawn. */
export function overlaySettings(config: AgentConfig): OverlaySettings | undefined {
  return config.overlay === '' ? undefined : { template: config.overlay, cameraId: config.cameraId, position: config.overlayPosition };
}

/** The motion detector's part of the configuration; undefined when --motion is off. */
export function motionOptions(config: AgentConfig): MotionOptions | undefined {
  if (!config.motion) return undefined;
  const parsed = parseZones(config.motionMask);
  return {
    fps: config.motionFps,
    threshold: config.motionThreshold,
    minArea: config.motionMinArea,
    minDuration: config.motionMinDuration,
    hold: config.motionHold,
    mask: 'zones' in parsed ? parsed.zones : [],
  };
}

/** The camera settings part of the configuration, in the form the capture sources take. */
export function captureSettings(config: AgentConfig): CaptureSettings {
  return {
    width: config.width,
    height: config.height,
    fps: config.fps,
    quality: config.quality,
    loop: config.loop,
    label: config.cameraId,
    rotation: Number(config.rotation) as CaptureSettings['rotation'],
    hflip: config.hflip,
    vflip: config.vflip,
    device: config.device,
    exposure: config.exposure,
    awb: config.awb,
    ev: config.ev,
  };
}
