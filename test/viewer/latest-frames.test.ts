import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CameraState } from '../../viewer/camera-registry.js';
import { LatestFrames } from '../../viewer/latest-frames.js';
import { RateMeter } from '../../viewer/rate-meter.js';

// The newest frames kept for latest.jpg and snapshots stay within their byte budget (issue 16, item 13).

const camera = (id: string): CameraState => ({ key: `picam/${id}`, cameraId: id, meter: new RateMeter(), proven: true, seenAtMs: 0 });
const frame = (bytes: number, seq = 0) => ({ source: 's', streamId: 1, seq, capturedAtUs: 0, data: Buffer.alloc(bytes, seq), gap: 0 });

test('past the budget, the cameras whose newest frame is oldest let theirs go; the frame just kept never', () => {
  const latest = new LatestFrames(1_000_000);
  const cams = Array.from({ length: 10 }, (_, i) => camera(`c${i}`));
  for (const [i, c] of cams.entries()) {
    latest.keep(c, frame(300_000, i), i);
    assert.ok(latest.bytes <= 1_000_000, `${latest.bytes} bytes held after ${i + 1} cameras`);
    assert.ok(c.latest, 'the frame just kept is there');
  }
  assert.deepEqual(cams.map((c) => c.latest !== undefined), [false, false, false, false, false, false, false, true, true, true]);
  assert.equal(latest.released, 7);
  // A camera that sends again is the newest: the oldest of the others makes room.
  latest.keep(cams[0]!, frame(300_000, 20), 20);
  assert.deepEqual(cams.map((c) => c.latest !== undefined), [true, false, false, false, false, false, false, false, true, true]);
});

test('one frame larger than the budget is kept alone; forget() returns its bytes', () => {
  const latest = new LatestFrames(1_000_000);
  const [a, b] = [camera('a'), camera('b')];
  latest.keep(a, frame(100_000), 0);
  latest.keep(b, frame(2_000_000), 1);
  assert.equal(a.latest, undefined);
  assert.equal(b.latest?.frame.data.length, 2_000_000);
  latest.forget(b);
  assert.equal(latest.bytes, 0);
  assert.equal(b.latest, undefined);
});

test('a frame that is a view into a larger buffer is copied, so what is held is what is counted', () => {
  const latest = new LatestFrames(1_000_000);
  const big = Buffer.alloc(4_000_000);
  const c = camera('view');
  latest.keep(c, { ...frame(0), data: big.subarray(10, 1010) }, 0);
  assert.equal(c.latest?.frame.data.buffer.byteLength, 1000);
  assert.equal(latest.bytes, 1000);
});
