import { crc32 } from './crc32.js';
import { HEADER_LENGTH, MAX_CHUNK_COUNT, writeHeader } from './header.js';

export interface FrameToChunk {
  streamId: number;
  seq: number;
  capturedAtUs: number;
  data: Uint8Array;
}

export interface ChunkOptions {
  /**
   * Give the first `headBytes` of the frame a chunk of their own. The agent sends that chunk at QoS 1: its
   * acknowledgement comes back one round trip (plus whatever queue stood ahead of it) after it was sent,
   * whatever the frame's size, which is how the sender measures the path. Undefined: no separate head.
   */
  headBytes?: number;
  /**
   * Give the last `tailBytes` of the frame a chunk of their own. The agent sends that chunk at QoS 1 to learn
   * when the broker has the frame; a small one keeps the acknowledged message (which MQTT.js copies into its
   * store) cheap. Undefined: the last chunk is simply the remainder.
   */
  tailBytes?: number;
  /** Write the chunks into this buffer when it is large enough (see chunkBufferSize), instead of a new one. */
  into?: Buffer;
}

/** How a frame is cut: a head and a tail where asked for and the frame is long enough, chunks between. */
interface Cut {
  head: number;
  tail: number;
  count: number;
}

function cut(length: number, maxPayload: number, options: Pick<ChunkOptions, 'headBytes' | 'tailBytes'>): Cut {
  const head = options.headBytes !== undefined && length > options.headBytes ? Math.min(options.headBytes, maxPayload) : 0;
  const rest = length - head;
  const tail = options.tailBytes !== undefined && rest > options.tailBytes ? Math.min(options.tailBytes, maxPayload) : 0;
  const count = (head > 0 ? 1 : 0) + Math.ceil((rest - tail) / maxPayload) + (tail > 0 ? 1 : 0);
  return { head, tail, count };
}

/** Bytes needed to hold all chunks of a frame of `length` bytes. */
export function chunkBufferSize(length: number, maxPayload: number, options: Pick<ChunkOptions, 'headBytes' | 'tailBytes'> = {}): number {
  return length + cut(length, maxPayload, options).count * HEADER_LENGTH;
}

/**
 * Splits one frame into chunk messages (header + payload): with `headBytes`, a first small chunk; then chunks
 * of `maxPayload` bytes and the remainder; with `tailBytes`, a final small chunk. All chunks are views into
 * one buffer, so a frame costs one copy; with `into`, not even an allocation.
 */
export function chunkFrame(frame: FrameToChunk, maxPayload: number, options: ChunkOptions = {}): Buffer[] {
  const length = frame.data.length;
  if (length === 0) throw new RangeError('cannot chunk an empty frame');
  if (!Number.isInteger(maxPayload) || maxPayload < 1) throw new RangeError(`chunk payload size must be a positive integer, got ${maxPayload}`);
  const { head, tail, count } = cut(length, maxPayload, options);
  if (count > MAX_CHUNK_COUNT) {
    throw new RangeError(`frame of ${length} bytes needs ${count} chunks of ${maxPayload} bytes; the limit is ${MAX_CHUNK_COUNT}`);
  }
  const tailStart = length - tail;
  const crc = crc32(frame.data);
  const size = length + count * HEADER_LENGTH;
  const all = options.into && options.into.length >= size ? options.into : Buffer.allocUnsafe(size);
  const chunks: Buffer[] = new Array(count);
  let at = 0;
  let offset = 0;
  for (let index = 0; index < count; index++) {
    const end = index === count - 1 ? length : index === 0 && head > 0 ? head : Math.min(offset + maxPayload, tailStart);
    writeHeader(all, { streamId: frame.streamId, seq: frame.seq, index, count, frameLength: length, offset, crc, capturedAtUs: frame.capturedAtUs }, at);
    all.set(frame.data.subarray(offset, end), at + HEADER_LENGTH);
    const chunkSize = HEADER_LENGTH + end - offset;
    chunks[index] = all.subarray(at, at + chunkSize);
    at += chunkSize;
    offset = end;
  }
  return chunks;
}
