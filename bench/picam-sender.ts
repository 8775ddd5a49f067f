import crypto from 'node:crypto';
import mqtt from 'mqtt';
import { chunkFrame } from '../protocol/chunker.js';
import { effectiveChunkPayload } from '../protocol/packet-size.js';
import type { FrameSender, SenderSettings } from './contenders.js';
import { applyNoDelay, frameTopic, socketBytesWritten } from './contenders.js';

/**
 * picam-mqtt's sending half: chunkFrame, then one QoS 0 PUBLISH per chunk over MQTT 5 with the agent's
 * message expiry, awaiting each write so the socket's back-pressure reaches the frame loop.
 */
export async function createPicamSender(settings: SenderSettings): Promise<FrameSender> {
  const client = applyNoDelay(await mqtt.connectAsync(settings.brokerUrl, {
    clientId: `${settings.namespace}-sender-${process.pid}`,
    protocolVersion: 5,
    reconnectPeriod: 0,
    queueQoSZero: false,
  }), settings.noDelay);
  const topic = frameTopic(settings.namespace);
  const streamId = crypto.randomBytes(4).readUInt32BE(0);
  const properties = { messageExpiryInterval: 2 };
  let payloadSize = effectiveChunkPayload(settings.chunkSize, topic, client.options.properties?.maximumPacketSize);
  let seq = 0;
  let stopped = false;
  const publish = (chunk: Buffer): Promise<void> =>
    new Promise((resolve, reject) => client.publish(topic, chunk, { qos: 0, properties }, (error) => (error ? reject(error) : resolve())));
  return {
    send: async (data, capturedAtUs) => {
      const chunks = chunkFrame({ streamId, seq: seq++ >>> 0, capturedAtUs, data }, payloadSize);
      // One at a time: a write that fills the socket waits for 'drain' before the next chunk is handed over.
      for (const chunk of chunks) await publish(chunk);
    },
    bytesWritten: () => socketBytesWritten(client),
    setChunkSize: async (bytes) => {
      payloadSize = effectiveChunkPayload(bytes, topic);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await client.endAsync();
    },
  };
}
