import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameRateGate } from '../../agent/frame-rate-gate.js';

/** Frames a 15 fps camera captures in `seconds`, with ±3 ms of timing jitter, and how many the gate keeps. */
function kept(gate: FrameRateGate, seconds: number, fps = 15, startUs = 1_000_000_000): number[] {
  const out: number[] = [];
  for (let i = 0; i < seconds * fps; i++) {
    const t = startUs + Math.round((i * 1e6) / fps + (((i * 7919) % 7) - 3) * 1000);
    if (gate.accept(t)) out.push(t);
  }
  return out;
}

test('no limit: every frame goes on', () => {
  assert.equal(kept(new FrameRateGate(), 10).length, 150);
});

test('the mean rate is the limit, also when it does not divide the camera\'s rate, and frames are evenly spread', () => {
  for (const [limit, expected] of [[7.5, 75], [10, 100], [5, 50], [2, 20], [0.5, 5]] as const) {
    const gate = new FrameRateGate();
    gate.setLimit(limit);
    const times = kept(gate, 10);
    assert.ok(Math.abs(times.length - expected) <= 1, `limit ${limit}: ${times.length} frames in 10 s, expected ${expected}`);
    const longestGapMs = Math.max(...times.slice(1).map((t, i) => (t - times[i]!) / 1000));
    assert.ok(longestGapMs <= 1000 / limit + 1000 / 15 + 7, `limit ${limit}: a gap of ${longestGapMs} ms`);
  }
});

test('after a pause in the frames (a stall) no burst goes through', () => {
  const gate = new FrameRateGate();
  gate.setLimit(2);
  kept(gate, 5);
  const after = kept(gate, 2, 15, 1_000_000_000 + 60_000_000);
  assert.ok(after.length <= 4, `${after.length} frames in 2 s at 2 fps after the pause`);
});

test('lifting the limit lets everything through again', () => {
  const gate = new FrameRateGate();
  gate.setLimit(3);
  assert.ok(kept(gate, 2).length <= 7);
  gate.setLimit(undefined);
  assert.equal(kept(gate, 2, 15, 2_000_000_000).length, 30);
});

test('a new limit keeps the spacing from the last frame that went: no two frames in quick succession', () => {
  const gate = new FrameRateGate();
  gate.setLimit(2);
  const before = kept(gate, 3);
  const lastUs = before.at(-1)!;
  gate.setLimit(5);
  const after = kept(gate, 2, 15, lastUs + 70_000);
  assert.ok(after[0]! - lastUs >= 200_000 - 7000, `first frame ${(after[0]! - lastUs) / 1000} ms after the last one under the old limit`);
});
