import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StallWatch, type StallChange } from '../../agent/stall-watch.js';

test('stall watch: stalled once after the timeout without frames, recovered on the next frame', () => {
  let now = 0;
  const changes: StallChange[] = [];
  const watch = new StallWatch({ timeoutMs: 1000, now: () => now }, (c) => changes.push(c));
  watch.frameArrived();
  now = 999;
  watch.check();
  assert.equal(watch.stalled, false);
  now = 1000;
  watch.check();
  now = 5000;
  watch.check(); // still stalled: reported once
  assert.deepEqual(changes, [{ stalled: true, sinceLastFrameMs: 1000 }]);
  assert.equal(watch.sinceLastFrameMs, 5000);
  now = 6500;
  watch.frameArrived();
  assert.deepEqual(changes[1], { stalled: false, stalledForMs: 5500 });
  watch.frameArrived();
  assert.equal(changes.length, 2);
  assert.equal(watch.stalls, 1);
});

test('stall watch: a source that never delivers is stalled after the timeout from start; stop is idempotent', async () => {
  const changes: StallChange[] = [];
  const watch = new StallWatch({ timeoutMs: 100 }, (c) => changes.push(c));
  watch.start();
  watch.start();
  await new Promise((r) => setTimeout(r, 250)); // 2.5 timeouts: a second start() must not add a second stall (absence)
  watch.stop();
  watch.stop();
  assert.equal(changes.length, 1);
  assert.equal(changes[0]!.stalled, true);
});
