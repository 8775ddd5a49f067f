/**
 * The v1 chunk header: fixed 36 bytes, big-endian, in front of every chunk payload on the `frame` topic.
 * docs/PROTOCOL.md is the normative description; keep the two in step.
 */

export const MAGIC = 0x5043; // ASCII "PC"
export const PROTOCOL_VERSION = 1;
export const HEADER_LENGTH = 36;
export const MAX_CHUNK_COUNT = 0xffff;
export const MAX_FRAME_LENGTH = 0xffffffff;

export interface ChunkHeader {
  /** Random per agent start; a new value means sequence numbers restarted. */
  streamId: number;
  /** Frame sequence number, u32, +1 per published frame, wraps to 0. */
  seq: number;
  /** 0-based index of this chunk within the frame. */
  index: number;
  /** Number of chunks in the frame, 1..65535. */
  count: number;
  /** Length of the whole frame in bytes. */
  frameLength: number;
  /** Byte offset of this chunk's payload inside the frame. */
  offset: number;
  /** CRC-32 (IEEE) of the whole frame. */
  crc: number;
  /** Capture time, microseconds since the Unix epoch (UTC). */
  capturedAtUs: number;
}

export type HeaderProblem =
  | 'too-short'
  | 'bad-magic'
  | 'bad-version'
  | 'bad-header-length'
  | 'bad-count'
  | 'bad-index'
  | 'bad-length'
  | 'bad-offset';

export type DecodedChunk =
  | { ok: true; header: ChunkHeader; payload: Uint8Array }
  | { ok: false; problem: HeaderProblem };

export function writeHeader(target: Buffer, h: ChunkHeader, at = 0): void {
  target.writeUInt16BE(MAGIC, at);
  target.writeUInt8(PROTOCOL_VERSION, at + 2);
  target.writeUInt8(HEADER_LENGTH, at + 3);
  target.writeUInt32BE(h.streamId >>> 0, at + 4);
  target.writeUInt32BE(h.seq >>> 0, at + 8);
  target.writeUInt16BE(h.index, at + 12);
  target.writeUInt16BE(h.count, at + 14);
  target.writeUInt32BE(h.frameLength, at + 16);
  target.writeUInt32BE(h.offset, at + 20);
  target.writeUInt32BE(h.crc >>> 0, at + 24);
  // Split into two u32 so no BigInt is needed: microsecond timestamps exceed 2^53 only in the year 2255.
  target.writeUInt32BE(Math.floor(h.capturedAtUs / 0x1_0000_0000), at + 28);
  target.writeUInt32BE(h.capturedAtUs % 0x1_0000_0000, at + 32);
}

/**
 * Parses and checks one chunk message. Every field a sender could lie about is checked here, so the
 * reassembler only ever sees self-consistent chunks; frame-level checks (CRC, totals) happen there.
 */
export function decodeChunk(message: Uint8Array): DecodedChunk {
  if (message.length < HEADER_LENGTH) return { ok: false, problem: 'too-short' };
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  if (view.getUint16(0) !== MAGIC) return { ok: false, problem: 'bad-magic' };
  if (view.getUint8(2) !== PROTOCOL_VERSION) return { ok: false, problem: 'bad-version' };
  const headerLength = view.getUint8(3);
  if (headerLength < HEADER_LENGTH || headerLength > message.length) return { ok: false, problem: 'bad-header-length' };
  const header: ChunkHeader = {
    streamId: view.getUint32(4),
    seq: view.getUint32(8),
    index: view.getUint16(12),
    count: view.getUint16(14),
    frameLength: view.getUint32(16),
    offset: view.getUint32(20),
    crc: view.getUint32(24),
    capturedAtUs: view.getUint32(28) * 0x1_0000_0000 + view.getUint32(32),
  };
  const payload = message.subarray(headerLength);
  if (header.count === 0) return { ok: false, problem: 'bad-count' };
  if (header.index >= header.count) return { ok: false, problem: 'bad-index' };
  if (header.frameLength === 0) return { ok: false, problem: 'bad-length' };
  if (payload.length === 0 || header.offset + payload.length > header.frameLength) return { ok: false, problem: 'bad-offset' };
  if (header.index === header.count - 1 && header.offset + payload.length !== header.frameLength) {
    return { ok: false, problem: 'bad-offset' };
  }
  if (header.index === 0 && header.offset !== 0) return { ok: false, problem: 'bad-offset' };
  // Chunks cover the frame in index order, each with at least one byte: so many bytes come before and after.
  if (header.offset < header.index || header.frameLength - (header.offset + payload.length) < header.count - 1 - header.index) {
    return { ok: false, problem: 'bad-offset' };
  }
  return { ok: true, header, payload };
}
