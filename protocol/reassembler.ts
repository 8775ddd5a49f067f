import { crc32 } from './crc32.js';
import { decodeChunk, type ChunkHeader, type HeaderProblem } from './header.js';
import { gapBetween, isNewer } from './sequence.js';

/** Why a chunk was not used. Header problems come from decodeChunk; the rest are decided here. */
export type ChunkRejection =
  | HeaderProblem
  | 'too-large' // frameLength above maxFrameBytes
  | 'too-many-sources' // a new source beyond maxSources
  | 'duplicate' // this chunk index was already received, or the frame was already delivered
  | 'late' // a chunk of a frame older than the newest delivered one, or than every frame in flight when those are at their limit
  | 'inconsistent' // disagrees with earlier chunks of the same frame (count, length, CRC, time)
  | 'overflow'; // with the bytes already received, more than the frame's declared length (overlapping chunks)

export interface ReassemblerOptions {
  /** Largest frame accepted, in bytes. Default 8 MiB (a 4K JPEG at high quality fits). */
  maxFrameBytes?: number;
  /** Incomplete frames kept per source; a newer frame replaces the oldest beyond this, an older one is refused. Default 3. */
  maxFramesInFlight?: number;
  /**
   * Bytes of incomplete frames kept across all sources, counted by their declared lengths; the frame whose
   * first chunk came first is dropped to make room. Default 64 MiB. One frame is always let in, so the bound
   * is the larger of this and maxFrameBytes.
   */
  maxPendingBytes?: number;
  /** Distinct sources (cameras) tracked; chunks of further sources are rejected. Default 64. */
  maxSources?: number;
  /** An incomplete frame older than this (ms since its first chunk) is dropped by sweep(). Default 2000. */
  frameTimeoutMs?: number;
  /** Clock for timeouts, in ms. Default Date.now. */
  now?: () => number;
}

export interface CompleteFrame {
  source: string;
  streamId: number;
  seq: number;
  capturedAtUs: number;
  /** The frame's bytes. For a frame sent as one chunk this is a view into that chunk message (no copy). */
  data: Buffer;
  /** Sequence numbers skipped since the previous delivered frame of this stream (never seen complete). */
  gap: number;
}

export interface SourceCounters {
  framesDelivered: number;
  /** Frames dropped because not all chunks arrived in time (newer frame completed, timeout, eviction). */
  framesIncomplete: number;
  /** Frames whose chunks all arrived but whose bytes failed the length or CRC-32 check. */
  framesCorrupt: number;
  /** Sequence numbers never delivered, counted from the gaps between delivered frames. */
  framesMissed: number;
  chunksReceived: number;
  chunksRejected: number;
  bytesReceived: number;
  streamRestarts: number;
}

export type PushResult =
  | { kind: 'frame'; frame: CompleteFrame }
  | { kind: 'pending' }
  | { kind: 'rejected'; reason: ChunkRejection }
  | { kind: 'corrupt'; seq: number };

interface PartialFrame {
  key: string;
  source: SourceState;
  header: ChunkHeader;
  /**
   * Payloads received so far, by chunk index, copied out of their messages. The frame buffer is allocated
   * only when the last chunk is in: a header alone (36 bytes that may lie) never costs frameLength bytes.
   */
  pieces: Map<number, { offset: number; payload: Buffer }>;
  chunksSeen: number;
  bytesSeen: number;
  firstChunkAt: number;
}

interface SourceState {
  name: string;
  streamId: number | undefined;
  lastDelivered: number | undefined;
  partials: Map<number, PartialFrame>;
  counters: SourceCounters;
}

const newCounters = (): SourceCounters => ({
  framesDelivered: 0,
  framesIncomplete: 0,
  framesCorrupt: 0,
  framesMissed: 0,
  chunksReceived: 0,
  chunksRejected: 0,
  bytesReceived: 0,
  streamRestarts: 0,
});

/**
 * Turns chunk messages back into whole, verified frames. Pure: no timers, no I/O; the owner calls sweep()
 * on its own schedule. Never throws on input and never emits a frame whose length and CRC-32 do not check.
 * Memory is bounded by maxPendingBytes plus the per-source bookkeeping of at most maxSources sources. The
 * budget counts frames in flight by their declared length (what completing them would allocate) and their
 * declared chunks' bookkeeping, while they hold only the bytes actually received, never more than declared
 * (overlapping chunks are refused), so lying headers cannot make it allocate much.
 */
export class Reassembler {
  private readonly maxFrameBytes: number;
  private readonly maxFramesInFlight: number;
  private readonly maxPendingBytes: number;
  private readonly maxSources: number;
  private readonly frameTimeoutMs: number;
  private readonly now: () => number;
  private readonly sources = new Map<string, SourceState>();
  /** Every incomplete frame of every source, oldest first (Map keeps insertion order). */
  private readonly pending = new Map<string, PartialFrame>();
  private pendingBytes = 0;
  private heldBytes = 0;
  readonly rejections = new Map<ChunkRejection, number>();

  constructor(options: ReassemblerOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? 8 * 1024 * 1024;
    this.maxFramesInFlight = options.maxFramesInFlight ?? 3;
    this.maxPendingBytes = options.maxPendingBytes ?? 64 * 1024 * 1024;
    this.maxSources = options.maxSources ?? 64;
    this.frameTimeoutMs = options.frameTimeoutMs ?? 2000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Feeds one chunk message received for `source` (for example the camera's topic base). A chunk whose header
   * fails the checks is counted, and makes no source known.
   */
  push(source: string, message: Uint8Array): PushResult {
    const decoded = decodeChunk(message);
    if (!decoded.ok) {
      const known = this.sources.get(source);
      if (known) this.received(known, message);
      return this.reject(known, decoded.problem);
    }
    const state = this.sourceFor(source);
    if (!state) return this.reject(undefined, 'too-many-sources');
    this.received(state, message);
    const { header, payload } = decoded;
    if (header.frameLength > this.maxFrameBytes) return this.reject(state, 'too-large');

    if (state.streamId !== header.streamId) this.restartStream(state, header.streamId);
    if (state.lastDelivered !== undefined) {
      if (header.seq === state.lastDelivered) return this.reject(state, 'duplicate');
      if (!isNewer(header.seq, state.lastDelivered)) return this.reject(state, 'late');
    }

    let partial = state.partials.get(header.seq);
    if (!partial && header.count === 1) return this.finishWhole(state, header, payload);
    if (!partial) {
      if (!this.makeRoomFor(state, header.seq)) return this.reject(state, 'late');
      partial = this.startFrame(state, header);
    } else if (!sameFrame(partial.header, header)) {
      return this.reject(state, 'inconsistent');
    }
    if (partial.pieces.has(header.index)) return this.reject(state, 'duplicate');
    // What a frame holds never exceeds the length it declared, which is what the byte budget counts.
    if (partial.bytesSeen + payload.length > header.frameLength) return this.reject(state, 'overflow');
    // A copy, so a pending piece never holds on to a larger buffer its message was sliced from.
    partial.pieces.set(header.index, { offset: header.offset, payload: Buffer.from(payload) });
    partial.chunksSeen++;
    partial.bytesSeen += payload.length;
    this.heldBytes += payload.length;
    if (partial.chunksSeen < header.count) return { kind: 'pending' };
    return this.finish(partial);
  }

  /** Drops incomplete frames older than frameTimeoutMs. Returns how many were dropped. */
  sweep(): number {
    const cutoff = this.now() - this.frameTimeoutMs;
    let dropped = 0;
    for (const partial of this.pending.values()) {
      if (partial.firstChunkAt > cutoff) break; // oldest first: the rest are younger
      this.drop(partial);
      partial.source.counters.framesIncomplete++;
      dropped++;
    }
    return dropped;
  }

  counters(source: string): SourceCounters | undefined {
    const state = this.sources.get(source);
    return state ? { ...state.counters } : undefined;
  }

  /** Forgets a source and its incomplete frames (for example when a camera goes away for good). */
  forget(source: string): void {
    const state = this.sources.get(source);
    if (!state) return;
    for (const partial of state.partials.values()) this.drop(partial);
    this.sources.delete(source);
  }

  /** What the budget counts for incomplete frames: declared lengths plus CHUNK_BOOKKEEPING_BYTES per declared chunk. */
  get pendingByteCount(): number {
    return this.pendingBytes;
  }

  /** Bytes of chunk payloads actually held for incomplete frames (never more than pendingByteCount). */
  get heldByteCount(): number {
    return this.heldBytes;
  }

  get sourceCount(): number {
    return this.sources.size;
  }

  private sourceFor(name: string): SourceState | undefined {
    let state = this.sources.get(name);
    if (!state) {
      if (this.sources.size >= this.maxSources) return undefined;
      state = { name, streamId: undefined, lastDelivered: undefined, partials: new Map(), counters: newCounters() };
      this.sources.set(name, state);
    }
    return state;
  }

  private received(state: SourceState, message: Uint8Array): void {
    state.counters.chunksReceived++;
    state.counters.bytesReceived += message.length;
  }

  private reject(state: SourceState | undefined, reason: ChunkRejection): PushResult {
    if (state) state.counters.chunksRejected++;
    this.rejections.set(reason, (this.rejections.get(reason) ?? 0) + 1);
    return { kind: 'rejected', reason };
  }

  private restartStream(state: SourceState, streamId: number): void {
    if (state.streamId !== undefined) state.counters.streamRestarts++;
    for (const partial of state.partials.values()) {
      this.drop(partial);
      state.counters.framesIncomplete++;
    }
    state.streamId = streamId;
    state.lastDelivered = undefined;
  }

  /**
   * With its frames in flight at their limit, a source's newest frames are kept: a chunk of a newer frame
   * replaces the oldest one, and a chunk older than every one of them is refused (false) rather than evict
   * a frame that is closer to being shown.
   */
  private makeRoomFor(state: SourceState, seq: number): boolean {
    if (state.partials.size < this.maxFramesInFlight) return true;
    const oldest = this.oldestOf(state)!;
    if (!isNewer(seq, oldest.header.seq)) return false;
    while (state.partials.size >= this.maxFramesInFlight) {
      const victim = this.oldestOf(state)!;
      this.drop(victim);
      state.counters.framesIncomplete++;
    }
    return true;
  }

  private startFrame(state: SourceState, header: ChunkHeader): PartialFrame {
    while (this.pendingBytes + charge(header) > this.maxPendingBytes && this.pending.size > 0) {
      const oldest = this.pending.values().next().value as PartialFrame;
      this.drop(oldest);
      oldest.source.counters.framesIncomplete++;
    }
    const partial: PartialFrame = {
      key: `${header.seq}\u0000${state.name}`,
      source: state,
      header,
      pieces: new Map(),
      chunksSeen: 0,
      bytesSeen: 0,
      firstChunkAt: this.now(),
    };
    state.partials.set(header.seq, partial);
    this.pending.set(partial.key, partial);
    this.pendingBytes += charge(header);
    return partial;
  }

  private oldestOf(state: SourceState): PartialFrame | undefined {
    let oldest: PartialFrame | undefined;
    for (const partial of state.partials.values()) {
      if (!oldest || isNewer(oldest.header.seq, partial.header.seq)) oldest = partial;
    }
    return oldest;
  }

  private drop(partial: PartialFrame): void {
    if (!this.pending.delete(partial.key)) return;
    partial.source.partials.delete(partial.header.seq);
    this.pendingBytes -= charge(partial.header);
    this.heldBytes -= partial.bytesSeen;
  }

  private finish(partial: PartialFrame): PushResult {
    const { header, source } = partial;
    this.drop(partial);
    if (partial.bytesSeen !== header.frameLength || !tilesExactly(partial)) {
      source.counters.framesCorrupt++;
      return { kind: 'corrupt', seq: header.seq };
    }
    // Zero-filled so that a lying sender can never make us emit uninitialised memory.
    const data = Buffer.alloc(header.frameLength);
    for (const piece of partial.pieces.values()) data.set(piece.payload, piece.offset);
    if (crc32(data) !== header.crc) {
      source.counters.framesCorrupt++;
      return { kind: 'corrupt', seq: header.seq };
    }
    return this.deliver(source, header, data);
  }

  /**
   * A frame that came in one chunk needs no assembly buffer: its payload is the whole frame (decodeChunk
   * checked that it starts at 0 and ends at frameLength), so it is checked and delivered in place. That
   * saves a fresh frame-sized allocation and a copy per frame, the larger part of the receive cost.
   */
  private finishWhole(source: SourceState, header: ChunkHeader, payload: Uint8Array): PushResult {
    if (crc32(payload) !== header.crc) {
      source.counters.framesCorrupt++;
      return { kind: 'corrupt', seq: header.seq };
    }
    return this.deliver(source, header, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  }

  private deliver(source: SourceState, header: ChunkHeader, data: Buffer): PushResult {
    // The newest frame wins: anything older still pending can no longer be shown.
    for (const other of [...source.partials.values()]) {
      if (isNewer(header.seq, other.header.seq)) {
        this.drop(other);
        source.counters.framesIncomplete++;
      }
    }
    const gap = source.lastDelivered === undefined ? 0 : gapBetween(header.seq, source.lastDelivered);
    source.counters.framesMissed += gap;
    source.counters.framesDelivered++;
    source.lastDelivered = header.seq;
    return {
      kind: 'frame',
      frame: { source: source.name, streamId: header.streamId, seq: header.seq, capturedAtUs: header.capturedAtUs, data, gap },
    };
  }
}

/**
 * What a frame in flight may cost, as the byte budget counts it: its declared length, plus the bookkeeping of
 * each chunk it declares (a piece and its map entry, about 400 bytes measured), so a frame of thousands of
 * one-byte chunks is charged for what it really holds.
 */
export const CHUNK_BOOKKEEPING_BYTES = 512;
function charge(header: ChunkHeader): number {
  return header.frameLength + header.count * CHUNK_BOOKKEEPING_BYTES;
}

/** The chunks, in index order, cover the frame once each with no gap or overlap (PROTOCOL.md §2.2). */
function tilesExactly(partial: PartialFrame): boolean {
  let end = 0;
  for (let index = 0; index < partial.header.count; index++) {
    const piece = partial.pieces.get(index);
    if (!piece || piece.offset !== end) return false;
    end += piece.payload.length;
  }
  return end === partial.header.frameLength;
}

function sameFrame(a: ChunkHeader, b: ChunkHeader): boolean {
  return a.count === b.count && a.frameLength === b.frameLength && a.crc === b.crc && a.capturedAtUs === b.capturedAtUs;
}
