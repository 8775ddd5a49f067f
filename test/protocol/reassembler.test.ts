import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkFrame } from '../../protocol/chunker.js';
import { crc32 } from '../../protocol/crc32.js';
import { HEADER_LENGTH, writeHeader } from '../../protocol/header.js';
import { CHUNK_BOOKKEEPING_BYTES, Reassembler, type CompleteFrame, type PushResult } from '../../protocol/reassembler.js';
import { randomBytes, seededRandom, shuffle } from '../helpers/random.js';

const frames = (random: () => number, n: number, maxSize = 20_000): Buffer[] =>
  Array.from({ length: n }, () => randomBytes(random, 1 + Math.floor(random() * maxSize)));

const delivered = (results: PushResult[]): CompleteFrame[] => results.flatMap((r) => (r.kind === 'frame' ? [r.frame] : []));

test('frames come back byte-identical whatever the chunk order, with duplicates', () => {
  for (let seed = 1; seed <= 30; seed++) {
    const random = seededRandom(seed);
    const r = new Reassembler();
    const sent = frames(random, 5);
    const out: CompleteFrame[] = [];
    for (const [seq, data] of sent.entries()) {
      const chunks = chunkFrame({ streamId: 9, seq, capturedAtUs: seq * 1000, data }, 1 + Math.floor(random() * 3000));
      const withDuplicates = [...chunks, ...chunks.filter(() => random() < 0.3)];
      out.push(...delivered(shuffle(random, withDuplicates).map((c) => r.push('cam', c))));
    }
    assert.equal(out.length, sent.length, `seed ${seed}`);
    for (const frame of out) assert.deepEqual(frame.data, sent[frame.seq], `seed ${seed}`);
    const counters = r.counters('cam')!;
    assert.equal(counters.framesDelivered, sent.length);
    assert.equal(counters.framesCorrupt + counters.framesIncomplete, 0);
    assert.equal(r.pendingByteCount, 0);
  }
});

test('lost chunks: the frame is never emitted, and is counted incomplete when a newer frame completes', () => {
  const random = seededRandom(3);
  const r = new Reassembler();
  const [a, b] = frames(random, 2, 10_000).map((d) => (d.length < 2000 ? Buffer.concat([d, Buffer.alloc(2000)]) : d));
  const chunksA = chunkFrame({ streamId: 1, seq: 0, capturedAtUs: 0, data: a! }, 500);
  const chunksB = chunkFrame({ streamId: 1, seq: 1, capturedAtUs: 0, data: b! }, 500);
  const results = [...chunksA.slice(1), ...chunksB].map((c) => r.push('cam', c));
  const out = delivered(results);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.seq, 1);
  assert.equal(out[0]!.gap, 0);
  assert.deepEqual(r.counters('cam')!.framesIncomplete, 1);
  // The first chunk of the dropped frame arriving late is refused, not a resurrection.
  assert.deepEqual(r.push('cam', chunksA[0]!), { kind: 'rejected', reason: 'late' });
});

test('a corrupted byte fails the CRC: counted corrupt, never emitted', () => {
  const random = seededRandom(4);
  for (let trial = 0; trial < 50; trial++) {
    const r = new Reassembler();
    const data = randomBytes(random, 5000);
    const chunks = chunkFrame({ streamId: 1, seq: trial, capturedAtUs: 0, data }, 1024);
    const victim = chunks[Math.floor(random() * chunks.length)]!;
    const at = HEADER_LENGTH + Math.floor(random() * (victim.length - HEADER_LENGTH));
    victim[at] = victim[at]! ^ (1 + Math.floor(random() * 255));
    const out = delivered(chunks.map((c) => r.push('cam', c)));
    assert.equal(out.length, 0);
    assert.equal(r.counters('cam')!.framesCorrupt, 1);
  }
});

test('timeouts drop incomplete frames and free their memory', () => {
  let now = 0;
  const r = new Reassembler({ frameTimeoutMs: 1000, now: () => now });
  const chunks = chunkFrame({ streamId: 1, seq: 0, capturedAtUs: 0, data: Buffer.alloc(4000, 1) }, 1000);
  r.push('cam', chunks[0]!);
  assert.equal(r.pendingByteCount, 4000 + chunks.length * CHUNK_BOOKKEEPING_BYTES, 'the declared length and the bookkeeping of its chunks');
  assert.equal(r.heldByteCount, chunks[0]!.length - HEADER_LENGTH);
  now = 999;
  assert.equal(r.sweep(), 0);
  now = 1001;
  assert.equal(r.sweep(), 1);
  assert.equal(r.pendingByteCount, 0);
  assert.equal(r.counters('cam')!.framesIncomplete, 1);
});

test('lying headers are counted by reason and never thrown; memory stays bounded', () => {
  const random = seededRandom(5);
  const r = new Reassembler({ maxFrameBytes: 1 << 20, maxPendingBytes: 4 << 20, maxSources: 8 });
  const lie = (patch: Record<string, number>, payload = 64): Buffer => {
    const buf = Buffer.alloc(HEADER_LENGTH + payload);
    writeHeader(buf, { streamId: 1, seq: 0, index: 0, count: 2, frameLength: 1000, offset: 0, crc: 0, capturedAtUs: 0, ...patch });
    return buf;
  };
  assert.deepEqual(r.push('cam', lie({ frameLength: 2 << 20 })), { kind: 'rejected', reason: 'too-large' });
  assert.deepEqual(r.push('cam', lie({ index: 5 })), { kind: 'rejected', reason: 'bad-index' });
  r.push('cam', lie({ seq: 7 }));
  assert.deepEqual(r.push('cam', lie({ seq: 7, index: 1, offset: 935, frameLength: 999 })), { kind: 'rejected', reason: 'inconsistent' });
  assert.deepEqual(r.push('cam', lie({ seq: 7 })), { kind: 'rejected', reason: 'duplicate' });
  // A flood of huge claimed frames across many sources cannot grow pending memory past the budget.
  for (let i = 0; i < 20_000; i++) {
    const kind = random();
    const message = kind < 0.3 ? randomBytes(random, Math.floor(random() * 200))
      : lie({ seq: Math.floor(random() * 2 ** 32), frameLength: 100_000 + Math.floor(random() * (1 << 20) - 100_000), count: 1 + Math.floor(random() * 65535), index: 0, streamId: Math.floor(random() * 4) });
    const result = r.push(`src${Math.floor(random() * 20)}`, message);
    assert.notEqual(result.kind, 'frame');
    // One frame is always let in: the most one can be charged is its length plus 65,535 chunks' bookkeeping.
    assert.ok(r.pendingByteCount <= Math.max(4 << 20, (1 << 20) + 65535 * CHUNK_BOOKKEEPING_BYTES), `pending ${r.pendingByteCount}`);
  }
  assert.ok(r.sourceCount <= 8);
  assert.ok((r.rejections.get('too-many-sources') ?? 0) > 0);
  assert.ok((r.rejections.get('too-short') ?? 0) + (r.rejections.get('bad-magic') ?? 0) > 0);
});

test('sequence gaps count missed frames; a new stream id restarts numbering', () => {
  const r = new Reassembler();
  const push = (streamId: number, seq: number): PushResult => r.push('cam', chunkFrame({ streamId, seq, capturedAtUs: 0, data: Buffer.from([seq & 0xff, 1, 2]) }, 100)[0]!);
  assert.equal(push(1, 10).kind, 'frame');
  const after = push(1, 14);
  assert.ok(after.kind === 'frame' && after.frame.gap === 3);
  assert.equal(r.counters('cam')!.framesMissed, 3);
  assert.deepEqual(push(1, 12), { kind: 'rejected', reason: 'late' });
  assert.deepEqual(push(1, 14), { kind: 'rejected', reason: 'duplicate' });
  const restarted = push(2, 0); // agent restarted: seq 0 is accepted again
  assert.ok(restarted.kind === 'frame' && restarted.frame.gap === 0);
  assert.equal(r.counters('cam')!.streamRestarts, 1);
});

test('frames in flight per source are bounded: the oldest partial is dropped', () => {
  const r = new Reassembler({ maxFramesInFlight: 2 });
  let chunks = 0;
  for (let seq = 0; seq < 5; seq++) {
    const frame = chunkFrame({ streamId: 1, seq, capturedAtUs: 0, data: Buffer.alloc(300, seq) }, 100);
    chunks = frame.length;
    r.push('cam', frame[0]!);
  }
  assert.equal(r.counters('cam')!.framesIncomplete, 3);
  assert.equal(r.pendingByteCount, 2 * (300 + chunks * CHUNK_BOOKKEEPING_BYTES));
});

test('a frame sent as one chunk: delivered without copying, still CRC-checked and ordered', () => {
  const random = seededRandom(11);
  const r = new Reassembler();
  const data = randomBytes(random, 3000);
  const [only] = chunkFrame({ streamId: 1, seq: 0, capturedAtUs: 5, data }, 4000);
  const first = r.push('cam', only!);
  assert.equal(first.kind, 'frame');
  if (first.kind !== 'frame') return;
  assert.deepEqual(first.frame.data, data);
  assert.equal(first.frame.data.buffer, only!.buffer, 'the frame is a view into the chunk message');
  assert.equal(r.push('cam', only!).kind, 'rejected', 'the same frame again is a duplicate');

  const [corrupt] = chunkFrame({ streamId: 1, seq: 1, capturedAtUs: 5, data }, 4000);
  corrupt![HEADER_LENGTH + 10] = corrupt![HEADER_LENGTH + 10]! ^ 0xff;
  assert.deepEqual(r.push('cam', corrupt!), { kind: 'corrupt', seq: 1 });

  // A single-chunk message for a frame already being assembled from several chunks disagrees with them.
  const [partOne] = chunkFrame({ streamId: 1, seq: 2, capturedAtUs: 5, data }, 1000);
  assert.equal(r.push('cam', partOne!).kind, 'pending');
  const [whole] = chunkFrame({ streamId: 1, seq: 2, capturedAtUs: 5, data }, 4000);
  assert.deepEqual(r.push('cam', whole!), { kind: 'rejected', reason: 'inconsistent' });

  // A newer single-chunk frame wins over an older incomplete one.
  const [next] = chunkFrame({ streamId: 1, seq: 3, capturedAtUs: 5, data }, 4000);
  assert.equal(r.push('cam', next!).kind, 'frame');
  const counters = r.counters('cam')!;
  assert.equal(counters.framesDelivered, 2);
  assert.equal(counters.framesCorrupt, 1);
  assert.equal(counters.framesIncomplete, 1);
  assert.equal(r.pendingByteCount, 0);
});

/** A chunk message with the given header fields and payload (a sender that lies as it likes). */
function chunk(fields: { seq?: number; index: number; count: number; frameLength: number; offset: number; crc?: number }, payload: Buffer): Buffer {
  const message = Buffer.alloc(HEADER_LENGTH + payload.length);
  writeHeader(message, { streamId: 1, seq: fields.seq ?? 0, capturedAtUs: 0, crc: fields.crc ?? 0, ...fields });
  payload.copy(message, HEADER_LENGTH);
  return message;
}

test('overlapping chunks (issue 16, item 2): a frame never holds more than its declared length; the rest is refused', () => {
  const r = new Reassembler();
  const frameLength = 8 * 1024 * 1024 - 1;
  const mib = Buffer.alloc(1024 * 1024, 7);
  // The attack: middle chunks that all claim offset 0. Chunk i has i chunks of at least a byte before it.
  assert.deepEqual(r.push('cam', chunk({ index: 1, count: 65535, frameLength, offset: 0 }, mib)), { kind: 'rejected', reason: 'bad-offset' });
  // Offsets that pass that check still cannot pile up bytes past the declared length.
  const reasons = new Map<string, number>();
  for (let index = 1; index <= 400; index++) {
    const result = r.push('cam', chunk({ index, count: 65535, frameLength, offset: index }, mib));
    const reason = result.kind === 'rejected' ? result.reason : result.kind;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    assert.ok(r.heldByteCount <= frameLength, `held ${r.heldByteCount} bytes after ${index} chunks`);
  }
  assert.deepEqual(Object.fromEntries(reasons), { pending: 7, overflow: 393 });
  assert.equal(r.counters('cam')!.framesCorrupt + r.counters('cam')!.framesDelivered, 0);
});

test('chunks that overlap are never put together, even when the bytes they make would pass the CRC', () => {
  const r = new Reassembler();
  const frame = Buffer.concat([Buffer.from('0123456789'), Buffer.alloc(5), Buffer.from('abcde')]);
  const crc = crc32(frame);
  // 10 + 5 + 5 bytes = frameLength, but chunk 1 repeats bytes 5..9 and leaves 10..14 (zeros) to the zero fill.
  const results = [
    r.push('cam', chunk({ index: 0, count: 3, frameLength: 20, offset: 0, crc }, frame.subarray(0, 10))),
    r.push('cam', chunk({ index: 1, count: 3, frameLength: 20, offset: 5, crc }, frame.subarray(5, 10))),
    r.push('cam', chunk({ index: 2, count: 3, frameLength: 20, offset: 15, crc }, frame.subarray(15, 20))),
  ];
  assert.deepEqual(results.at(-1), { kind: 'corrupt', seq: 0 });
  assert.equal(r.counters('cam')!.framesCorrupt, 1);
});

test('frames in flight at their limit: a newer frame replaces the oldest, an older chunk is refused and evicts nothing', () => {
  const r = new Reassembler({ maxFramesInFlight: 2 });
  const first = (seq: number): PushResult => r.push('cam', chunkFrame({ streamId: 1, seq, capturedAtUs: 0, data: Buffer.alloc(300, seq) }, 100)[0]!);
  assert.equal(first(5).kind, 'pending');
  assert.equal(first(6).kind, 'pending');
  assert.deepEqual(first(3), { kind: 'rejected', reason: 'late' }, 'older than every frame in flight');
  assert.equal(r.counters('cam')!.framesIncomplete, 0, 'frames 5 and 6 are still in flight');
  assert.equal(first(7).kind, 'pending');
  assert.equal(r.counters('cam')!.framesIncomplete, 1, 'frame 5, the oldest, made room for 7');
  assert.deepEqual(first(5), { kind: 'rejected', reason: 'late' });
});

test('tiny chunks are charged for their bookkeeping: one-byte chunks cannot hold hundreds of MB under the byte budget', () => {
  const r = new Reassembler();
  // Ten sources start frames of 65,535 one-byte chunks: 64 KiB of bytes each, but some 26 MB of bookkeeping once full.
  for (let source = 0; source < 10; source++) {
    assert.equal(r.push(`cam${source}`, chunk({ index: 0, count: 65535, frameLength: 65535, offset: 0 }, Buffer.from([1]))).kind, 'pending');
    assert.ok(r.pendingByteCount <= 64 * 1024 * 1024, `charged ${r.pendingByteCount}`);
  }
  const incomplete = Array.from({ length: 10 }, (_, s) => r.counters(`cam${s}`)!.framesIncomplete).reduce((a, b) => a + b, 0);
  assert.ok(incomplete >= 9, `at most one such frame fits the 64 MiB budget at a time; ${incomplete} of 10 were dropped`);
});
