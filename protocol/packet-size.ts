import { HEADER_LENGTH } from './header.js';

/**
 * Bytes of an MQTT PUBLISH packet that are not our chunk: fixed header (1 + up to 4 bytes of remaining
 * length), topic (2 + its UTF-8 bytes), packet identifier (2, QoS > 0), and for MQTT 5 the property
 * length (up to 4) plus Message Expiry Interval (1 + 4). Counted at their maximum so the result is safe
 * whatever the broker's encoder does.
 */
export function publishOverhead(topic: string): number {
  return 1 + 4 + 2 + Buffer.byteLength(topic, 'utf8') + 2 + 4 + 5;
}

/**
 * The chunk payload size to use: the configured size, lowered when the broker advertised a Maximum Packet
 * Size (MQTT 5 CONNACK) so that no PUBLISH ever exceeds it.
 */
export function effectiveChunkPayload(configuredChunkSize: number, topic: string, brokerMaxPacketSize?: number): number {
  const fromConfig = configuredChunkSize - HEADER_LENGTH;
  if (brokerMaxPacketSize === undefined) return fromConfig;
  const fromBroker = brokerMaxPacketSize - publishOverhead(topic) - HEADER_LENGTH;
  if (fromBroker < 1) throw new RangeError(`the broker's Maximum Packet Size of ${brokerMaxPacketSize} bytes leaves no room for a chunk`);
  return Math.min(fromConfig, fromBroker);
}

/**
 * The smallest chunk message a sender should use, header included (docs/PROTOCOL.md §2.2). Every chunk is
 * one MQTT message, and below about a kilobyte the cost per message (the sender's, the broker's and the
 * receiver's) outweighs the bytes: an 8 MiB frame, the receivers' default limit, is then already 8,491
 * chunks (the header allows 65,535), which must all arrive within the receivers' 2 s frame timeout. Tiny
 * chunks stalled the agent outright, and the acknowledged tail chunk (36 + 64 bytes) must fit as well.
 */
export const MIN_CHUNK_SIZE = 1024;
