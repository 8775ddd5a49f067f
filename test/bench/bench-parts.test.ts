import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDecoder } from '../../bench/contenders.js';
import { FrameSet } from '../../bench/frames.js';
import { hotSpots } from '../../bench/profile.js';
import { percentile } from '../../bench/stats.js';
import { matchLatencies } from '../../bench/transport.js';
import { chunkFrame } from '../../protocol/chunker.js';

// The benchmark's own arithmetic: if these are wrong, every figure it prints is wrong.

test('percentile is nearest-rank over unsorted samples', () => {
  const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.equal(percentile(samples, 50), 5);
  assert.equal(percentile(samples, 95), 10);
  assert.equal(percentile(samples, 10), 1);
  assert.equal(percentile([7], 99), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('latencies pair each receipt with the next send of the same frame, and lost sends are counted', () => {
  // Frames 0,1,2,0,1 sent at 100,200,300,400,500; the second frame 1 (t=200) and frame 2 (t=300) are lost.
  const sent: Array<[number, number]> = [[0, 100], [1, 200], [2, 300], [0, 400], [1, 500]];
  const received: Array<[number, number]> = [[0, 150], [0, 410], [1, 530]];
  const { latenciesUs, lost } = matchLatencies(sent, received);
  assert.deepEqual(latenciesUs, [50, 10, 30]);
  assert.equal(lost, 2);
});

test('a frame set identifies only byte-identical frames', () => {
  const a = Buffer.from([0xff, 0xd8, 1, 2, 0xff, 0xd9]);
  const b = Buffer.from([0xff, 0xd8, 1, 3, 0xff, 0xd9]); // same length as a
  const set = new FrameSet([a, b, Buffer.from([0xff, 0xd8, 0xff, 0xd9])]);
  assert.equal(set.identify(Buffer.from(a)), 0);
  assert.equal(set.identify(Buffer.from(b)), 1);
  assert.equal(set.identify(Buffer.from([0xff, 0xd8, 9, 9, 0xff, 0xd9])), -1);
  assert.equal(set.identify(Buffer.alloc(3)), -1);
});

test('each contender decodes what its sender would put on the wire', () => {
  const jpeg = Buffer.from([0xff, 0xd8, ...Array.from({ length: 1000 }, (_, i) => i & 0xff), 0xff, 0xd9]);
  const ceiling = createDecoder('ceiling', 'ns');
  assert.deepEqual(ceiling.decode('ns/cam/frame', jpeg), jpeg);
  const usual = createDecoder('usual', 'ns');
  assert.deepEqual(usual.decode('ns/cam/frame', Buffer.from(JSON.stringify({ camera: 'cam', ts: 1, image: jpeg.toString('base64') }))), jpeg);
  const picam = createDecoder('picam', 'ns');
  const chunks = chunkFrame({ streamId: 7, seq: 0, capturedAtUs: 1, data: jpeg }, 300);
  assert.equal(chunks.length, 4);
  const results = chunks.map((chunk) => picam.decode('ns/cam/frame', chunk));
  assert.deepEqual(results.slice(0, 3), [undefined, undefined, undefined]);
  assert.deepEqual(results[3], jpeg);
});

test('hot spots sum self time per function and leave idle time out', () => {
  const profile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
      { id: 2, callFrame: { functionName: 'crc32', url: 'node:zlib', lineNumber: 852 } },
      { id: 3, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
    ],
    startTime: 0,
    endTime: 100,
    samples: [2, 3, 2, 1],
    timeDeltas: [0, 10, 20, 30],
  };
  const { totalMs, idleMs, spots } = hotSpots(profile);
  assert.equal(idleMs, 0.02);
  assert.equal(totalMs, 0.04);
  assert.equal(spots[0]!.name, 'crc32');
  assert.equal(spots[0]!.selfMs, 0.04);
});
