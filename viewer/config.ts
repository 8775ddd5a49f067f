import { LOG_LEVELS } from '../common/logger.js';
import { brokerAccountOptions } from '../common/broker-account-options.js';
import { opt, type OptionValues } from '../common/options.js';
import { CAMERA_ID_PATTERN, DEFAULT_PREFIX } from '../protocol/topics.js';
import { DEFAULT_MAX_LATEST_BYTES } from './latest-frames.js';

export const VIEWER_ENV_PREFIX = 'PICAM_VIEWER_';

/** The command lines --help opens with (a test parses each against the options below). */
export const VIEWER_EXAMPLES: readonly (readonly string[])[] = [
  ['--broker', 'mqtt://pi.local:1883', '--open'],
  ['--broker', 'mqtt://pi.local:1883', '--camera', 'garden', '--save-dir', './frames', '--record', './recordings'],
  ['--broker', 'mqtts://central:8883', '--ca-file', 'ca.crt', '--username', 'desk', '--prefix', 'picam/+'],
];

/** A DNS name, an IPv4 address or an IPv6 address in brackets. */
const HOST_NAME = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)$/;
const LISTEN = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Every option of picam-viewer. The reference table in docs/OPTIONS.md is generated from this. */
export const viewerOptions = {
  broker: opt.string({ description: 'MQTT broker URL: mqtt://, mqtts:// (TLS), ws:// or wss://.', arg: 'URL', pattern: /^(mqtts?|wss?):\/\/[^\s/]+/, patternHint: 'a broker URL such as mqtt://pi.local:1883' }, 'mqtt://127.0.0.1:1883'),
  camera: opt.list({ description: 'Camera ids to show (repeat or comma-separate). Default: every camera found under the prefix.', arg: 'ID', check: (ids) => ids.find((id) => !CAMERA_ID_PATTERN.test(id)) && `camera ids are letters, digits, _ and - (1 to 64 characters)` }),
  prefix: opt.string({ description: 'Topic prefix to subscribe under; + matches one level, e.g. picam/+ for every site.', arg: 'PREFIX', pattern: /^([A-Za-z0-9_.-]+|\+)(\/([A-Za-z0-9_.-]+|\+))*$/, patternHint: 'topic levels without #, e.g. picam or picam/+' }, DEFAULT_PREFIX),
  listen: opt.string({ description: 'Address and port of the web page. 127.0.0.1 keeps it on this computer; 0.0.0.0:8080 shares it on the network.', arg: 'HOST:PORT', pattern: LISTEN, patternHint: 'HOST:PORT, e.g. 127.0.0.1:8080', check: (v) => (Number(v.slice(v.lastIndexOf(':') + 1)) > 65535 ? 'port must be 0 to 65535' : undefined) }, '127.0.0.1:8080'),
  allowHost: opt.list({ description: 'More host names the page answers to (repeat or comma-separate), e.g. a name your DNS or a reverse proxy gives this computer. It always answers to loopback (127.0.0.0/8, ::1, localhost) and, when it listens beyond loopback, to this computer\'s host name and addresses; a request for any other name is refused (DNS rebinding).', arg: 'NAME', check: (names) => names.find((n) => !HOST_NAME.test(n)) && 'host names are letters, digits, - and . (or an IP address, IPv6 in brackets), without a port' }),
  saveDir: opt.optionalString({ description: 'Also write every complete frame as a JPEG file under DIR/<cameraId>/; the page\'s snapshots are saved in DIR too.', arg: 'DIR' }),
  record: opt.optionalString({ description: 'Record every camera from the start into DIR: one MJPEG file per camera (<cameraId>_<UTC time>.mjpeg, opens in VLC, ffplay, ffmpeg) with a CSV timestamp index beside it. The page\'s Record button starts and stops recording into this folder (or into --save-dir when only that is given).', arg: 'DIR' }),
  recordMaxMb: opt.integer({ description: 'Start a new recording file when the current one would grow past this many MiB.', arg: 'MIB', min: 1, max: 1_048_576 }, 1024),
  recordMaxMinutes: opt.number({ description: 'Start a new recording file after this many minutes.', arg: 'MINUTES', min: 0.05, max: 1440 }, 15),
  open: opt.boolean({ description: 'Open the page in the default browser once the viewer is up (Windows: start, macOS: open, Linux: xdg-open).' }, false),
  ...brokerAccountOptions,
  keepalive: opt.integer({ description: 'MQTT keepalive in seconds: a dead link is noticed within 1.5 times this.', arg: 'SECONDS', min: 1, max: 3600 }, 10),
  mqttVersion: opt.enum({ description: 'MQTT protocol version: 5, or 4 for MQTT 3.1.1 brokers.', values: ['4', '5'] as const }, '5'),
  maxFrameBytes: opt.integer({ description: 'Largest frame accepted, in bytes; larger frames are counted and dropped.', arg: 'BYTES', min: 1024, max: 256 * 1024 * 1024 }, 8 * 1024 * 1024),
  maxLatestBytes: opt.integer({ description: 'Bytes of newest frames kept across all cameras, for latest.jpg and snapshots; past it the cameras whose newest frame is oldest lose theirs until the next one comes. The newest frame is always kept.', arg: 'BYTES', min: 1024 * 1024, max: 4096 * 1024 * 1024 }, DEFAULT_MAX_LATEST_BYTES),
  frameTimeout: opt.integer({ description: 'Milliseconds to wait for the rest of a frame before dropping it as incomplete.', arg: 'MS', min: 50, max: 60_000 }, 2000),
  maxPages: opt.integer({ description: 'Most page connections (browser tabs) open at once; each may hold up to two frames per camera while they are sent to it. Further ones are refused until one closes.', min: 1, max: 1024 }, 16),
  maxCameras: opt.integer({ description: 'Most cameras tracked at once; protects memory against junk topics.', min: 1, max: 4096 }, 64),
  logLevel: opt.enum({ description: 'Log level.', values: LOG_LEVELS }, 'info'),
};

export type ViewerConfig = OptionValues<typeof viewerOptions>;

export function parseListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(':');
  return { host: listen.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(listen.slice(at + 1)) };
}
