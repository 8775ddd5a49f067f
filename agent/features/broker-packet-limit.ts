import { MIN_CHUNK_SIZE, publishOverhead } from '../../protocol/packet-size.js';

export interface PacketLimitProblem {
  /** The smallest Maximum Packet Size the agent can work with. */
  needed: number;
  hint: string;
}

/**
 * Whether a broker's Maximum Packet Size (MQTT 5 CONNACK) leaves the agent room to work: chunks of at least
 * MIN_CHUNK_SIZE bytes and its retained info message must fit. A broker drops the connection on a larger
 * packet, so with a smaller limit the agent would connect, be dropped and reconnect for ever.
 */
export function packetLimitProblem(maxPacketSize: number | undefined, frameTopic: string, info: { topic: string; payload: string }): PacketLimitProblem | undefined {
  if (maxPacketSize === undefined) return undefined;
  const infoBytes = Buffer.byteLength(info.payload);
  const needed = Math.max(publishOverhead(frameTopic) + MIN_CHUNK_SIZE, publishOverhead(info.topic) + infoBytes);
  if (maxPacketSize >= needed) return undefined;
  return {
    needed,
    hint: `chunks of at least ${MIN_CHUNK_SIZE} bytes and the info message (${infoBytes} bytes) must fit: raise the broker's max_packet_size to ${needed} or more`,
  };
}
