import crypto from 'node:crypto';
import { agentOptions } from '../agent/config.js';
import { FramePublisher } from '../agent/frame-publisher.js';
import { StreamStats } from '../agent/stream-stats.js';
import { silentLogger } from '../common/logger.js';
import { MqttConnection } from '../common/mqtt-connection.js';
import type { FrameSender, SenderSettings } from './contenders.js';
import { frameTopic } from './contenders.js';

/**
 * picam-mqtt's sending half exactly as the agent composes it: MqttConnection (MQTT 5, no offline queue,
 * TCP_NODELAY, as the agent sets it) and FramePublisher (chunkFrame, QoS 0 with the head and tail chunks of a frame at QoS 1,
 * message expiry, pacing from the path's acknowledgements, newest wins) with the agent's defaults.
 *
 * The publisher never blocks: a frame it cannot send yet waits, and a newer one would replace it. send()
 * resolves once no frame waits, so an unthrottled loop keeps it busy and no frame is dropped on the sending
 * side; how many frames are in flight is the publisher's own choice, as in the agent.
 */
export async function createPicamSender(settings: SenderSettings): Promise<FrameSender> {
  let connected!: () => void;
  const ready = new Promise<void>((resolve) => { connected = resolve; });
  const connection = new MqttConnection(
    {
      url: settings.brokerUrl,
      clientId: `${settings.namespace}-sender-${process.pid}`,
      protocolVersion: agentOptions.mqttVersion.default === '5' ? 5 : 4,
      noDelay: true,
      onConnect: () => connected(),
    },
    silentLogger,
  );
  connection.start();
  await ready;
  const socket = socketOf(connection);
  if (settings.noDelay) socket?.setNoDelay(true);

  const topic = frameTopic(settings.namespace);
  const newPublisher = (chunkSize: number): FramePublisher => {
    // A new publisher starts at sequence 0, so it gets a new stream id, as a restarted agent would.
    const streamId = crypto.randomBytes(4).readUInt32BE(0);
    return new FramePublisher(
      connection,
      { topic, streamId, chunkSize, qos: 0, expiryS: agentOptions.mqttVersion.default === '5' ? agentOptions.frameExpiry.default : undefined },
      new StreamStats(streamId),
      silentLogger,
    );
  };
  let publisher = newPublisher(settings.chunkSize);
  let chunkSize = settings.chunkSize;
  let stopped = false;
  return {
    send: (data, capturedAtUs) => {
      publisher.offer({ data, capturedAtUs });
      return publisher.whenRoom();
    },
    bytesWritten: () => socketOf(connection)?.bytesWritten ?? NaN,
    setChunkSize: async (bytes) => {
      if (bytes === chunkSize) return;
      await publisher.stop();
      chunkSize = bytes;
      publisher = newPublisher(bytes);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await publisher.stop();
      await connection.stop();
    },
  };
}

/**
 * The TCP socket under the connection, for its byte counter and TCP_NODELAY. MqttConnection keeps its
 * MQTT.js client private; the benchmark reaches in rather than widening the agent's interface for it.
 */
function socketOf(connection: MqttConnection): { bytesWritten: number; setNoDelay(on: boolean): void } | undefined {
  const client = (connection as unknown as { client?: { stream?: { bytesWritten: number; setNoDelay(on: boolean): void } } }).client;
  return client?.stream;
}
