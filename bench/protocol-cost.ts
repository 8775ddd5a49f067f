import { chunkFrame } from '../protocol/chunker.js';
import { crc32 } from '../protocol/crc32.js';
import { HEADER_LENGTH } from '../protocol/header.js';
import { Reassembler } from '../protocol/reassembler.js';
import type { FrameSet } from './frames.js';

/**
 * The CPU cost of each step of the protocol on one frame, in process, as the best of several batches: on a
 * shared machine the fastest batch is the one the least disturbed, so this is the steps' own cost. It says
 * where the time of the end-to-end figures goes (and what the usual approach's base64 and JSON cost).
 */

export interface StepCost {
  resolution: string;
  jpegBytes: number;
  /** µs per frame for each step. */
  crc32Us: number;
  /** Copying the frame into a fresh buffer, as chunkFrame does once (allocation and page faults included). */
  copyFreshUs: number;
  /** The same copy into a buffer allocated once: what is left of the copy without the allocation. */
  copyReusedUs: number;
  chunkFrameUs: number;
  reassembleUs: number;
  base64JsonEncodeUs: number;
  base64JsonDecodeUs: number;
}

function bestOf(batches: number, perBatch: number, run: (i: number) => void): number {
  let best = Infinity;
  for (let b = 0; b < batches; b++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) run(i);
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1000 / perBatch);
  }
  return best;
}

/** Keeps results reachable so the optimiser cannot drop the work. */
let sink = 0;

export function measureStepCosts(resolution: string, set: FrameSet, chunkSize: number, batches: number, perBatch: number): StepCost {
  const frames = set.frames;
  const n = frames.length;
  const payload = chunkSize - HEADER_LENGTH;
  const chunked = frames.map((data, seq) => chunkFrame({ streamId: 1, seq, capturedAtUs: 0, data }, payload));
  const documents = frames.map((data) => Buffer.from(JSON.stringify({ camera: 'cam', ts: 0, image: data.toString('base64') })));
  const reassembler = new Reassembler();
  let seq = 0;
  const reused = Buffer.allocUnsafe(Math.max(...frames.map((f) => f.length)));
  const costs: StepCost = {
    resolution,
    jpegBytes: set.meanBytes,
    crc32Us: bestOf(batches, perBatch, (i) => { sink ^= crc32(frames[i % n]!); }),
    copyFreshUs: bestOf(batches, perBatch, (i) => { const f = frames[i % n]!; const b = Buffer.allocUnsafe(f.length); b.set(f); sink ^= b[0]!; }),
    copyReusedUs: bestOf(batches, perBatch, (i) => { reused.set(frames[i % n]!); sink ^= reused[0]!; }),
    chunkFrameUs: bestOf(batches, perBatch, (i) => { sink ^= chunkFrame({ streamId: 1, seq: i, capturedAtUs: 0, data: frames[i % n]! }, payload).length; }),
    reassembleUs: bestOf(batches, perBatch, (i) => {
      // A fresh sequence number each time (the chunks' own would be duplicates): rewrite it in the headers.
      const chunks = chunked[i % n]!;
      const s = ++seq;
      for (const chunk of chunks) {
        chunk.writeUInt32BE(s, 8);
        const result = reassembler.push('cam', chunk);
        if (result.kind === 'frame') sink ^= result.frame.data.length;
      }
    }),
    base64JsonEncodeUs: bestOf(batches, perBatch, (i) => { sink ^= JSON.stringify({ camera: 'cam', ts: i, image: frames[i % n]!.toString('base64') }).length; }),
    base64JsonDecodeUs: bestOf(batches, perBatch, (i) => {
      const doc = JSON.parse(documents[i % n]!.toString('utf8')) as { image: string };
      sink ^= Buffer.from(doc.image, 'base64').length;
    }),
  };
  if (sink === 0.5) process.stderr.write(''); // never true; reads sink
  return costs;
}
