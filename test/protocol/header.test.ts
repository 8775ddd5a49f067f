import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { crc32, crc32Portable } from '../../protocol/crc32.js';
import { chunkBufferSize, chunkFrame } from '../../protocol/chunker.js';
import { decodeChunk, HEADER_LENGTH, writeHeader, type ChunkHeader } from '../../protocol/header.js';
import { effectiveChunkPayload, publishOverhead } from '../../protocol/packet-size.js';
import { isNewer, gapBetween } from '../../protocol/sequence.js';
import { randomBytes, seededRandom } from '../helpers/random.js';

const sample: ChunkHeader = { streamId: 0xdeadbeef, seq: 0xfffffffe, index: 2, count: 3, frameLength: 300, offset: 200, crc: 0x12345678, capturedAtUs: 1_764_000_000_123_456 };

test('header is 36 bytes, big-endian, at the documented offsets', () => {
  const buf = Buffer.alloc(HEADER_LENGTH + 100);
  writeHeader(buf, sample);
  assert.equal(buf.toString('ascii', 0, 2), 'PC');
  assert.equal(buf[2], 1);
  assert.equal(buf[3], 36);
  assert.equal(buf.readUInt32BE(4), 0xdeadbeef);
  assert.equal(buf.readUInt32BE(8), 0xfffffffe);
  assert.equal(buf.readUInt16BE(12), 2);
  assert.equal(buf.readUInt16BE(14), 3);
  assert.equal(buf.readUInt32BE(16), 300);
  assert.equal(buf.readUInt32BE(20), 200);
  assert.equal(buf.readUInt32BE(24), 0x12345678);
  assert.equal(buf.readBigUInt64BE(28), 1_764_000_000_123_456n);
  const decoded = decodeChunk(buf);
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.header, sample);
  assert.equal(decoded.payload.length, 100);
});

test('decodeChunk names what is wrong with a lying header', () => {
  const make = (patch: Partial<ChunkHeader>, payload = 100): Buffer => {
    const buf = Buffer.alloc(HEADER_LENGTH + payload);
    writeHeader(buf, { ...sample, ...patch });
    return buf;
  };
  const problem = (buf: Uint8Array): string => { const d = decodeChunk(buf); return d.ok ? 'ok' : d.problem; };
  assert.equal(problem(Buffer.alloc(10)), 'too-short');
  const badMagic = make({}); badMagic[0] = 0x51;
  assert.equal(problem(badMagic), 'bad-magic');
  const badVersion = make({}); badVersion[2] = 2;
  assert.equal(problem(badVersion), 'bad-version');
  const badHeaderLength = make({}); badHeaderLength[3] = 20;
  assert.equal(problem(badHeaderLength), 'bad-header-length');
  assert.equal(problem(make({ count: 0, index: 0 })), 'bad-count');
  assert.equal(problem(make({ index: 3 })), 'bad-index');
  assert.equal(problem(make({ frameLength: 0 })), 'bad-length');
  assert.equal(problem(make({ offset: 250 })), 'bad-offset'); // runs past the frame
  assert.equal(problem(make({ offset: 100 })), 'bad-offset'); // last chunk must end at frameLength
  assert.equal(problem(make({ index: 0, offset: 5 })), 'bad-offset'); // first chunk starts at 0
  assert.equal(problem(make({}, 0)), 'bad-offset'); // empty payload
  assert.equal(problem(make({})), 'ok');
});

test('a longer header (future minor extension) is skipped by its length byte', () => {
  const buf = Buffer.alloc(HEADER_LENGTH + 4 + 100);
  writeHeader(buf, sample);
  buf[3] = HEADER_LENGTH + 4;
  const decoded = decodeChunk(buf);
  assert.ok(decoded.ok);
  assert.equal(decoded.payload.length, 100);
});

test('crc32 matches zlib/IEEE check value and the portable table version', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  const random = seededRandom(7);
  for (let i = 0; i < 20; i++) {
    const data = randomBytes(random, Math.floor(random() * 5000));
    assert.equal(crc32Portable(data), crc32(data));
    if ((zlib as unknown as { crc32?: unknown }).crc32) assert.equal(crc32(data), (zlib as unknown as { crc32: (d: Uint8Array) => number }).crc32(data) >>> 0);
  }
});

test('chunkFrame splits into full chunks and a remainder, all decodable, one CRC', () => {
  const data = randomBytes(seededRandom(1), 1000);
  const chunks = chunkFrame({ streamId: 1, seq: 5, capturedAtUs: 42, data }, 300);
  assert.equal(chunks.length, 4);
  assert.deepEqual(chunks.map((c) => c.length - HEADER_LENGTH), [300, 300, 300, 100]);
  const rebuilt = Buffer.alloc(1000);
  for (const [i, chunk] of chunks.entries()) {
    const d = decodeChunk(chunk);
    assert.ok(d.ok);
    assert.equal(d.header.index, i);
    assert.equal(d.header.count, 4);
    assert.equal(d.header.crc, crc32(data));
    rebuilt.set(d.payload, d.header.offset);
  }
  assert.deepEqual(rebuilt, data);
  assert.throws(() => chunkFrame({ streamId: 1, seq: 0, capturedAtUs: 0, data: Buffer.alloc(0) }, 10), RangeError);
  assert.throws(() => chunkFrame({ streamId: 1, seq: 0, capturedAtUs: 0, data: Buffer.alloc(70_000) }, 1), /65535/);
});

test('chunk payload size obeys the broker Maximum Packet Size', () => {
  const topic = 'picam/cam1/frame';
  assert.equal(effectiveChunkPayload(131072, topic), 131072 - HEADER_LENGTH);
  const limited = effectiveChunkPayload(131072, topic, 16384);
  assert.equal(limited + HEADER_LENGTH + publishOverhead(topic), 16384);
  assert.throws(() => effectiveChunkPayload(131072, topic, 40), /leaves no room/);
});

test('sequence comparison survives the u32 wrap', () => {
  assert.ok(isNewer(1, 0));
  assert.ok(isNewer(0, 0xffffffff));
  assert.ok(!isNewer(0xffffffff, 0));
  assert.ok(!isNewer(5, 5));
  assert.equal(gapBetween(2, 0xffffffff), 2);
});

test('chunkFrame with a tail: the last chunk holds only the last tailBytes; a reused buffer gives the same chunks', () => {
  const data = randomBytes(seededRandom(2), 1000);
  const chunks = chunkFrame({ streamId: 1, seq: 1, capturedAtUs: 0, data }, 300, { tailBytes: 64 });
  assert.deepEqual(chunks.map((c) => c.length - HEADER_LENGTH), [300, 300, 300, 36, 64]);
  const into = Buffer.alloc(chunkBufferSize(1000, 300, { tailBytes: 64 }) + 10, 0xaa);
  const reused = chunkFrame({ streamId: 1, seq: 1, capturedAtUs: 0, data }, 300, { tailBytes: 64, into });
  assert.ok(reused.every((c) => c.buffer === into.buffer), 'chunks are views of the given buffer');
  assert.deepEqual(reused.map((c) => Buffer.from(c)), chunks.map((c) => Buffer.from(c)));
  const small = chunkFrame({ streamId: 1, seq: 1, capturedAtUs: 0, data: data.subarray(0, 50) }, 300, { tailBytes: 64 });
  assert.equal(small.length, 1, 'a frame no larger than the tail is one chunk');
  const rebuilt = Buffer.alloc(1000);
  for (const c of chunks) { const d = decodeChunk(c); assert.ok(d.ok); rebuilt.set(d.payload, d.header.offset); }
  assert.deepEqual(rebuilt, data);
});

test('chunkFrame with a head and a tail: small first and last chunks around full ones; every byte placed once', () => {
  const data = randomBytes(seededRandom(3), 1000);
  const chunks = chunkFrame({ streamId: 1, seq: 1, capturedAtUs: 0, data }, 300, { headBytes: 64, tailBytes: 64 });
  assert.deepEqual(chunks.map((c) => c.length - HEADER_LENGTH), [64, 300, 300, 272, 64]);
  assert.equal(chunkBufferSize(1000, 300, { headBytes: 64, tailBytes: 64 }), 1000 + 5 * HEADER_LENGTH);
  const rebuilt = Buffer.alloc(1000);
  let expectedOffset = 0;
  for (const [i, c] of chunks.entries()) {
    const d = decodeChunk(c);
    assert.ok(d.ok);
    assert.equal(d.header.index, i);
    assert.equal(d.header.count, 5);
    assert.equal(d.header.offset, expectedOffset, 'ascending, contiguous offsets');
    expectedOffset += d.payload.length;
    rebuilt.set(d.payload, d.header.offset);
  }
  assert.deepEqual(rebuilt, data);
  // Frames too short for a head and a tail lose the tail first, then the head; no chunk is ever empty.
  for (const length of [1, 64, 65, 100, 128, 129]) {
    const parts = chunkFrame({ streamId: 1, seq: 1, capturedAtUs: 0, data: data.subarray(0, length) }, 300, { headBytes: 64, tailBytes: 64 });
    assert.ok(parts.every((c) => c.length > HEADER_LENGTH), `length ${length}: no empty chunk`);
    assert.equal(parts.reduce((n, c) => n + c.length - HEADER_LENGTH, 0), length);
  }
  // A payload limit below the head size caps the head too.
  const tiny = chunkFrame({ streamId: 1, seq: 1, capturedAtUs: 0, data }, 40, { headBytes: 64, tailBytes: 64 });
  assert.ok(tiny.every((c) => c.length - HEADER_LENGTH <= 40));
});
