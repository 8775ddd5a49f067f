import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSizeFor, PixelBuffers } from '../../viewer/page/jpeg-decoder.js';
import { BEHIND_AFTER_MS, liveUntil, SILENT_AFTER_MS, tileHealth, type TileFacts } from '../../viewer/page/tile-health.js';

// The page's pure parts, without a browser: the size a picture is decoded at, its pixel buffers, and when a
// tile stops looking live. test/browser/ drives them in Chromium.

test('a picture is decoded at the smallest of its 1/8 scales that still fills its box, never larger than itself', () => {
  assert.deepEqual(decodeSizeFor({ width: 640, height: 480 }, { width: 364, height: 273 }), { width: 400, height: 300 }, '5/8: 4/8 (320) would be enlarged');
  assert.deepEqual(decodeSizeFor({ width: 640, height: 480 }, { width: 320, height: 240 }), { width: 320, height: 240 }, 'exactly half');
  assert.deepEqual(decodeSizeFor({ width: 1280, height: 720 }, { width: 364, height: 273 }), { width: 480, height: 270 }, 'a 16:9 picture in a 4:3 box: its width limits it');
  assert.deepEqual(decodeSizeFor({ width: 1920, height: 1080 }, { width: 100, height: 75 }), { width: 240, height: 135 }, 'never below 1/8');
  assert.deepEqual(decodeSizeFor({ width: 641, height: 481 }, { width: 321, height: 241 }), { width: 401, height: 301 }, 'rounded up, as the JPEG decoder does');
  assert.equal(decodeSizeFor({ width: 1280, height: 720 }, { width: 1888, height: 950 }), undefined, 'a box larger than the picture: full size');
  assert.equal(decodeSizeFor({ width: 1280, height: 720 }, { width: 1200, height: 700 }), undefined, '15/16 of it: 8/8');
  assert.equal(decodeSizeFor({}, { width: 300, height: 200 }), undefined, 'the picture size unknown (no info yet)');
  assert.equal(decodeSizeFor({ width: 640, height: 480 }, undefined), undefined, 'the box not measured yet');
  assert.equal(decodeSizeFor({ width: 640, height: 480 }, { width: 0, height: 0 }), undefined, 'a box with no size (hidden)');
});

test('pixel buffers are reused by size, and at most two are kept', () => {
  const buffers = new PixelBuffers();
  const a = buffers.take(16);
  const b = buffers.take(16);
  assert.notEqual(a, b);
  buffers.give(a);
  assert.equal(buffers.take(16), a, 'a spare of the right size is reused');
  assert.notEqual(buffers.take(32), a, 'a spare of another size is not');
  buffers.give(a);
  buffers.give(b);
  const c = new Uint8ClampedArray(16);
  buffers.give(c);
  const taken = [buffers.take(16), buffers.take(16), buffers.take(16)];
  assert.equal(taken.filter((t) => t === a || t === b || t === c).length, 2, 'the oldest spare was let go');
});

test('liveUntil is the moment tileHealth stops calling a live tile live, for lateness and for silence', () => {
  const base: TileFacts = { nowMs: 10_000, drawnAtMs: 10_000, capturedAtMs: 9_950, latencyMinMs: 50, expectedFps: 15, thumbnailFps: 5, offline: false };
  const until = liveUntil(base)!;
  assert.equal(until, 9_950 + BEHIND_AFTER_MS + 200, 'capture time + 1 s + one thumbnail interval');
  assert.equal(tileHealth({ ...base, nowMs: until }).state, 'live');
  assert.equal(tileHealth({ ...base, nowMs: until + 1 }).state, 'silent', 'nothing new drawn: silent');
  // With frames still drawn but old, the same moment makes it behind.
  assert.equal(tileHealth({ ...base, drawnAtMs: until - 100, capturedAtMs: 9_950, nowMs: until + 1 }).state, 'behind');
  // When the clocks disagree only silence can be told.
  const skewed = { ...base, latencyMinMs: -5_000, capturedAtMs: 15_000 };
  assert.equal(liveUntil(skewed), 10_000 + SILENT_AFTER_MS);
  assert.equal(tileHealth({ ...skewed, nowMs: 10_000 + SILENT_AFTER_MS }).state, 'live');
  assert.equal(tileHealth({ ...skewed, nowMs: 10_000 + SILENT_AFTER_MS + 1 }).state, 'silent');
  assert.equal(liveUntil({ ...base, drawnAtMs: undefined, capturedAtMs: undefined }), undefined, 'no picture yet: not live to begin with');
});
