import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simulatePath, window, type Delivery } from '../helpers/path-simulation.js';
import { percentile } from '../../bench/stats.js';

// The sender's pacing (LinkEstimator + SendPacer) over a modelled path in simulated time: deterministic, so
// these check the rules themselves; test/integration/link-pacing.test.ts checks the agent on a real socket.

const latencies = (frames: Delivery[]): number[] => frames.map((d) => d.arrivedAt - d.capturedAt);
const bytesPerMs = (mbit: number): number => (mbit * 1e6) / 8 / 1000;

test('a long, wide link carries every frame: the window follows the round trip', () => {
  const result = simulatePath({ fps: 30, frameBytes: () => 165_000, durationMs: 20_000, phases: [{ atMs: 0, mbit: undefined, rttMs: 300 }] });
  const steady = window(result, 3000, 19_000);
  const offered = (19_000 - 3000) / (1000 / 30);
  assert.ok(steady.length >= 0.99 * offered, `${steady.length} of ${offered} frames went`);
  assert.ok(result.maxInFlight >= 9, `${result.maxInFlight} frames in flight at most: 300 ms at 30 fps needs 9`);
  assert.ok(percentile(latencies(steady), 95) < 150 + 40, 'no queue: a frame arrives one way after its capture');
});

test('a narrow link is used to the full with no queue: newest frames, paced at the bottleneck rate', () => {
  for (const { mbit, rttMs, bytes } of [{ mbit: 1, rttMs: 100, bytes: 30_000 }, { mbit: 5, rttMs: 300, bytes: 165_000 }, { mbit: 20, rttMs: 20, bytes: 165_000 }]) {
    const result = simulatePath({ fps: 30, frameBytes: (i) => bytes * (0.85 + 0.3 * ((i * 7) % 10) / 10), durationMs: 40_000, phases: [{ atMs: 0, mbit, rttMs }] });
    const steady = window(result, 10_000, 39_000);
    const carried = steady.reduce((n, d) => n + d.bytes, 0) / (29_000 * bytesPerMs(mbit));
    const bound = rttMs / 2 + bytes / bytesPerMs(mbit) + 100;
    const p95 = percentile(latencies(steady), 95);
    assert.ok(carried >= 0.9, `${mbit} Mbit/s, ${rttMs} ms: carried ${carried.toFixed(2)} of the link`);
    assert.ok(p95 <= bound, `${mbit} Mbit/s, ${rttMs} ms: p95 ${p95.toFixed(0)} ms, target ${bound.toFixed(0)} ms`);
  }
});

test('a link that narrows is followed: after the backlog drains, latency is back within the target', () => {
  const result = simulatePath({
    fps: 30, frameBytes: () => 40_000, durationMs: 40_000,
    phases: [{ atMs: 0, mbit: 20, rttMs: 100 }, { atMs: 10_000, mbit: 1, rttMs: 100 }],
  });
  const after = window(result, 20_000, 39_000);
  const bound = 50 + 40_000 / bytesPerMs(1) + 100;
  assert.ok(percentile(latencies(after), 95) <= bound, `p95 ${percentile(latencies(after), 95).toFixed(0)} ms 10 s after the link narrowed, target ${bound}`);
  const carried = after.reduce((n, d) => n + d.bytes, 0) / (19_000 * bytesPerMs(1));
  assert.ok(carried >= 0.85, `carried ${carried.toFixed(2)}`);
});

test('a link that widens is used at once: the camera pace is back within a few round trips', () => {
  const result = simulatePath({
    fps: 30, frameBytes: () => 40_000, durationMs: 30_000,
    phases: [{ atMs: 0, mbit: 1, rttMs: 100 }, { atMs: 15_000, mbit: undefined, rttMs: 100 }],
  });
  const after = window(result, 18_000, 29_000);
  assert.ok(after.length >= 0.95 * 11 * 30, `${after.length} frames in the 11 s after widening`);
});

test('a link that stops acknowledging holds a bounded number of frames in flight', () => {
  const result = simulatePath({
    fps: 30, frameBytes: () => 40_000, durationMs: 20_000,
    phases: [{ atMs: 0, mbit: 20, rttMs: 100 }, { atMs: 5000, mbit: 0.001, rttMs: 100 }],
  });
  const sentAfter = result.deliveries.filter((d) => d.capturedAt >= 5000).length;
  assert.ok(sentAfter <= 12, `${sentAfter} frames went into a link that stopped`);
});
