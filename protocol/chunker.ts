import { crc32 } from './crc32.js';
import { HEADER_LENGTH, MAX_CHUNK_COUNT, writeHeader } from './header.js';

export interface FrameToChunk {
  streamId: number;
  seq: number;
  capturedAtUs: number;
  data: Uint8Array;
}

/**
 * Splits one frame into chunk messages (header + payload). Every chunk but the last carries exactly
 * `maxPayload` bytes. All chunks are views into one allocation, so a frame costs one copy.
 */
export function chunkFrame(frame: FrameToChunk, maxPayload: number): Buffer[] {
  const length = frame.data.length;
  if (length === 0) throw new RangeError('cannot chunk an empty frame');
  if (!Number.isInteger(maxPayload) || maxPayload < 1) throw new RangeError(`chunk payload size must be a positive integer, got ${maxPayload}`);
  const count = Math.ceil(length / maxPayload);
  if (count > MAX_CHUNK_COUNT) {
    throw new RangeError(`frame of ${length} bytes needs ${count} chunks of ${maxPayload} bytes; the limit is ${MAX_CHUNK_COUNT}`);
  }
  const crc = crc32(frame.data);
  const all = Buffer.allocUnsafe(length + count * HEADER_LENGTH);
  const chunks: Buffer[] = new Array(count);
  let at = 0;
  for (let index = 0; index < count; index++) {
    const offset = index * maxPayload;
    const end = Math.min(offset + maxPayload, length);
    writeHeader(all, { streamId: frame.streamId, seq: frame.seq, index, count, frameLength: length, offset, crc, capturedAtUs: frame.capturedAtUs }, at);
    all.set(frame.data.subarray(offset, end), at + HEADER_LENGTH);
    const size = HEADER_LENGTH + end - offset;
    chunks[index] = all.subarray(at, at + size);
    at += size;
  }
  return chunks;
}
