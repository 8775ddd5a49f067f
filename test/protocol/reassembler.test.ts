import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkFrame } from '../../protocol/chunker.js';
import { HEADER_LENGTH, writeHeader } from '../../protocol/header.js';
import { Reassembler, type CompleteFrame, type PushResult } from '../../protocol/reassembler.js';
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
  assert.equal(r.pendingByteCount, 4000);
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
    assert.ok(r.pendingByteCount <= 4 << 20, `pending ${r.pendingByteCount}`);
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
  for (let seq = 0; seq < 5; seq++) {
    r.push('cam', chunkFrame({ streamId: 1, seq, capturedAtUs: 0, data: Buffer.alloc(300, seq) }, 100)[0]!);
  }
  assert.equal(r.counters('cam')!.framesIncomplete, 3);
  assert.equal(r.pendingByteCount, 600);
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
