import mqtt, { type MqttClient } from 'mqtt';
import { silentLogger } from '../common/logger.js';
import { receiverSubscriptions } from '../protocol/topics.js';
import { CameraRegistry } from '../viewer/camera-registry.js';
import { viewerOptions } from '../viewer/config.js';
import { MessageReceiver } from '../viewer/message-receiver.js';
import { createPicamSender } from './picam-sender.js';

/**
 * The three ways of moving a JPEG over MQTT that the benchmark compares. Each has a sending half (runs in
 * the sender process) and a receiving half that turns messages back into JPEG bytes (runs in the receiver
 * process). Checking those bytes against the original is done by the harness, the same for all three.
 */

export const CONTENDERS = ['ceiling', 'usual', 'picam'] as const;
export type ContenderName = (typeof CONTENDERS)[number];

export const CONTENDER_TITLES: Record<ContenderName, string> = {
  ceiling: 'ceiling (raw JPEG, 1 msg)',
  usual: 'usual (base64 in JSON)',
  picam: 'picam-mqtt',
};

export interface SenderSettings {
  brokerUrl: string;
  /** Topic namespace of this contender, so idle peers of other contenders hear nothing. */
  namespace: string;
  /** picam only: largest chunk message in bytes (header included). */
  chunkSize: number;
  /** Disable Nagle's algorithm on the socket to the broker (TCP_NODELAY). */
  noDelay: boolean;
}

export interface FrameSender {
  /** Hands one frame over; resolves once the transport took it (awaiting it is the back-pressure). */
  send(data: Buffer, capturedAtUs: number): Promise<void>;
  /** Bytes written to the broker's socket so far: MQTT framing, headers and payload. */
  bytesWritten(): number;
  /** Changes the chunk size for the next frames (picam; the others ignore it). */
  setChunkSize(bytes: number): Promise<void>;
  stop(): Promise<void>;
}

export interface FrameDecoder {
  /** Topic filters to subscribe to. */
  readonly filters: string[];
  /** Turns one message into a whole JPEG, or undefined while a frame is incomplete or was unusable. */
  decode(topic: string, payload: Buffer): Buffer | undefined;
}

/** Where the PUBLISH packets go: one camera id under the contender's namespace. */
export const frameTopic = (namespace: string): string => `${namespace}/cam/frame`;

/** MQTT.js has no option for it, so TCP_NODELAY is set on the socket it opened. */
export function applyNoDelay(client: MqttClient, noDelay: boolean): MqttClient {
  if (noDelay) (client.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  return client;
}

export function socketBytesWritten(client: MqttClient): number {
  return (client.stream as unknown as { bytesWritten?: number }).bytesWritten ?? 0;
}

export function socketBytesRead(client: MqttClient): number {
  return (client.stream as unknown as { bytesRead?: number }).bytesRead ?? 0;
}

/** Client settings of the two baselines: MQTT.js defaults, as a tutorial would have them. */
async function baselineClient(url: string, clientId: string, noDelay: boolean): Promise<MqttClient> {
  return applyNoDelay(await mqtt.connectAsync(url, { clientId, reconnectPeriod: 0 }), noDelay);
}

function publishRaw(client: MqttClient, topic: string, payload: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => client.publish(topic, payload, { qos: 0 }, (error) => (error ? reject(error) : resolve())));
}

async function createBaselineSender(settings: SenderSettings, encode: (data: Buffer, capturedAtUs: number) => Buffer | string): Promise<FrameSender> {
  const client = await baselineClient(settings.brokerUrl, `${settings.namespace}-sender-${process.pid}`, settings.noDelay);
  const topic = frameTopic(settings.namespace);
  let stopped = false;
  return {
    send: (data, capturedAtUs) => publishRaw(client, topic, encode(data, capturedAtUs)),
    bytesWritten: () => socketBytesWritten(client),
    setChunkSize: async () => {},
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await client.endAsync();
    },
  };
}

export async function createSender(name: ContenderName, settings: SenderSettings): Promise<FrameSender> {
  switch (name) {
    case 'ceiling':
      return createBaselineSender(settings, (data) => data);
    case 'usual':
      // The tutorial way: the picture as base64 text inside a JSON document with a time stamp.
      return createBaselineSender(settings, (data, capturedAtUs) => JSON.stringify({ camera: 'cam', ts: Math.round(capturedAtUs / 1000), image: data.toString('base64') }));
    case 'picam':
      return createPicamSender(settings);
  }
}

export function createDecoder(name: ContenderName, namespace: string): FrameDecoder {
  switch (name) {
    case 'ceiling':
      return { filters: [frameTopic(namespace)], decode: (_topic, payload) => payload };
    case 'usual':
      return {
        filters: [frameTopic(namespace)],
        decode: (_topic, payload) => {
          const doc = JSON.parse(payload.toString('utf8')) as { image?: unknown };
          return typeof doc.image === 'string' ? Buffer.from(doc.image, 'base64') : undefined;
        },
      };
    case 'picam': {
      // The viewer's receiving path with the viewer's defaults: every topic of every camera under the prefix.
      const receiver = new MessageReceiver(
        new CameraRegistry(viewerOptions.maxCameras.default),
        { maxFrameBytes: viewerOptions.maxFrameBytes.default, frameTimeoutMs: viewerOptions.frameTimeout.default, maxSources: viewerOptions.maxCameras.default },
        silentLogger,
      );
      let completed: Buffer | undefined;
      receiver.onFrame((_camera, frame) => { completed = frame.data; });
      return {
        filters: receiverSubscriptions(namespace),
        decode: (topic, payload) => {
          completed = undefined;
          receiver.handle(topic, payload);
          return completed;
        },
      };
    }
  }
}

/**
 * The receiving client. picam's speaks the viewer's default MQTT version; the baselines use MQTT.js defaults.
 * A plain MQTT.js client in every case (not the viewer's MqttConnection) so the socket's byte count is ours.
 */
export async function connectReceiver(name: ContenderName, url: string, clientId: string, noDelay: boolean): Promise<MqttClient> {
  const protocolVersion = name === 'picam' && viewerOptions.mqttVersion.default === '5' ? 5 : 4;
  return applyNoDelay(await mqtt.connectAsync(url, { clientId, reconnectPeriod: 0, protocolVersion }), noDelay);
}
