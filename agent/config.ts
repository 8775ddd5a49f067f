import os from 'node:os';
import { opt, type OptionValues } from '../common/options.js';
import { DEFAULT_PREFIX, PREFIX_PATTERN, CAMERA_ID_PATTERN } from '../protocol/topics.js';
import { HEADER_LENGTH } from '../protocol/header.js';
import { LOG_LEVELS } from '../common/logger.js';

export const AGENT_ENV_PREFIX = 'PICAM_';

function defaultCameraId(): string {
  const cleaned = os.hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
  return cleaned.length > 0 ? cleaned : 'camera';
}

const BROKER_URL = /^(mqtts?|wss?):\/\/[^\s/]+/;

/** Every option of picam-agent. The README's reference table is generated from this (npm run docs:options). */
export const agentOptions = {
  broker: opt.string({ description: 'MQTT broker URL: mqtt://, mqtts:// (TLS), ws:// or wss://.', arg: 'URL', pattern: BROKER_URL, patternHint: 'a broker URL such as mqtt://127.0.0.1:1883' }, 'mqtt://127.0.0.1:1883'),
  cameraId: opt.string({ description: 'Camera id, the topic level after the prefix (letters, digits, _ and -, up to 64). Defaults to the host name.', arg: 'ID', pattern: CAMERA_ID_PATTERN, patternHint: 'made of letters, digits, _ and - (1 to 64 characters)', defaultText: 'host name' }, defaultCameraId()),
  prefix: opt.string({ description: 'Topic prefix; may have several levels, e.g. picam/garden.', arg: 'PREFIX', pattern: PREFIX_PATTERN, patternHint: 'one or more topic levels without wildcards, e.g. picam or picam/garden' }, DEFAULT_PREFIX),
  source: opt.string({ description: 'Frame source: synthetic (moving test pattern) or file:<dir-or-glob> (replays JPEG files in name order, looping).', arg: 'SOURCE', pattern: /^(synthetic|file:.+)$/, patternHint: 'synthetic or file:<dir-or-glob>' }, 'synthetic'),
  loop: opt.boolean({ description: 'file: source only: start again from the first file after the last (--no-loop plays once and stops).' }, true),
  fps: opt.number({ description: 'Frames per second to capture and send.', min: 0.1, max: 120 }, 15),
  width: opt.integer({ description: 'Frame width in pixels (synthetic source).', min: 16, max: 7680 }, 640),
  height: opt.integer({ description: 'Frame height in pixels (synthetic source).', min: 16, max: 4320 }, 480),
  quality: opt.integer({ description: 'JPEG quality where the agent encodes (1-100).', min: 1, max: 100 }, 80),
  chunkSize: opt.integer({ description: `Largest chunk message in bytes (header of ${HEADER_LENGTH} bytes included). Lowered automatically to the broker's Maximum Packet Size over MQTT 5.`, arg: 'BYTES', min: HEADER_LENGTH + 1, max: 256 * 1024 * 1024 }, 128 * 1024),
  qos: opt.enum({ description: 'MQTT QoS for chunks (0 drops under load, 1 retries).', values: ['0', '1'] as const }, '0'),
  mqttVersion: opt.enum({ description: 'MQTT protocol version: 5, or 4 for MQTT 3.1.1 brokers.', values: ['4', '5'] as const }, '5'),
  frameExpiry: opt.integer({ description: 'MQTT 5 message expiry of chunks in seconds, so stale frames are not delivered late.', arg: 'SECONDS', min: 1, max: 3600 }, 2),
  username: opt.optionalString({ description: 'Broker user name.', arg: 'NAME' }),
  password: opt.optionalString({ description: 'Broker password (environment or config file only; prefer passwordFile).', secret: true }),
  passwordFile: opt.optionalString({ description: 'File whose first line is the broker password.', arg: 'FILE' }),
  caFile: opt.optionalString({ description: 'TLS: CA certificate file (PEM) that signed the broker\'s certificate, for mqtts:// or wss://. The broker\'s certificate and host name are always verified.', arg: 'FILE' }),
  certFile: opt.optionalString({ description: 'TLS: client certificate file (PEM), for brokers that require one (needs keyFile).', arg: 'FILE' }),
  keyFile: opt.optionalString({ description: 'TLS: private key file (PEM, unencrypted) of certFile.', arg: 'FILE' }),
  keepalive: opt.integer({ description: 'MQTT keepalive in seconds: a dead link is noticed within 1.5 times this, by both the agent and the broker (which then publishes status offline).', arg: 'SECONDS', min: 1, max: 3600 }, 10),
  stallTimeout: opt.number({ description: 'Seconds without a frame from the camera before the agent reports it stalled (log, stats "stalled": true, systemd status; the systemd watchdog is no longer fed).', arg: 'SECONDS', min: 0.5, max: 3600 }, 10),
  statsInterval: opt.number({ description: 'Seconds between stats messages.', arg: 'SECONDS', min: 1, max: 3600 }, 5),
  logLevel: opt.enum({ description: 'Log level.', values: LOG_LEVELS }, 'info'),
};

export type AgentConfig = OptionValues<typeof agentOptions>;
