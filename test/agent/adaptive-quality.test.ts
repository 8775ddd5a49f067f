import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdaptiveQuality, type LinkWindow } from '../../agent/adaptive-quality.js';
import { silentLogger } from '../../common/logger.js';
import type { ControlChanges } from '../../protocol/control.js';

// The rules of adaptive quality, interval by interval, with the windows a publisher would report.

/** A controller with target q80 at 30 fps, bounds q30 and 2 fps, and a record of what it applied. */
function controller(qualityAdjustable = true): { adaptive: AdaptiveQuality; applied: ControlChanges[] } {
  const applied: ControlChanges[] = [];
  const adaptive = new AdaptiveQuality({ minQuality: 30, minFps: 2 }, async (changes) => { applied.push(changes); }, silentLogger);
  adaptive.setTarget({ quality: 80, fps: 30 }, qualityAdjustable);
  return { adaptive, applied };
}

/** One 2-second interval of a camera sending `fps` frames of `frameBytes` of which the link delivers `deliveredPerS`. */
function window(fps: number, frameBytes: number, deliveredPerS: number, extra: Partial<LinkWindow> = {}): LinkWindow {
  const offeredFrames = Math.round(fps * 2);
  const sentFrames = Math.min(offeredFrames, Math.round((deliveredPerS * 2) / frameBytes));
  return {
    seconds: 2, offeredFrames, offeredBytes: offeredFrames * frameBytes, deliveredBytes: deliveredPerS * 2,
    busyDrops: offeredFrames - sentFrames, capacity: undefined, rate: undefined, measuring: false, ...extra,
  };
}

test('a link that carries the stream changes nothing, however long its round trip (the round trip is no input)', async () => {
  const { adaptive, applied } = controller();
  for (let i = 0; i < 10; i++) await adaptive.evaluate(window(30, 40_000, 30 * 40_000));
  assert.equal(adaptive.level, 0);
  assert.deepEqual(applied, []);
});

test('a narrow link: settings that fit 90 % of what it delivers, quality first, then the frame rate; a mild shortfall only the second time', async () => {
  const { adaptive, applied } = controller();
  // 1.2 MB/s needed, 300 kB/s delivered: quality alone (guessed 0.8 per step) cannot get there.
  await adaptive.evaluate(window(30, 40_000, 300_000));
  const step = adaptive.current;
  assert.equal(step.quality, 30, 'down to the lowest quality');
  assert.ok(step.fps < 30 && step.fps >= 2, `frame rate ${step.fps}`);
  assert.equal(applied.length, 1);
  assert.equal(applied[0]!.quality, 30);
  // Seen at q30, frames are 16 kB; the link delivers a little less than that rate needs: once is no change.
  const need = step.fps * 16_000;
  await adaptive.evaluate(window(step.fps, 16_000, 0.9 * need)); // neither short nor clean: no change
  await adaptive.evaluate(window(step.fps, 16_000, 0.8 * need));
  assert.equal(adaptive.current.fps, step.fps, 'one mild shortfall may be the publisher opening up');
  await adaptive.evaluate(window(step.fps, 16_000, 0.8 * need));
  assert.ok(Math.abs(adaptive.current.fps - (0.9 * 0.8 * need) / 16_000) <= 0.1, `fps ${adaptive.current.fps}: the rate that fits exactly`);
});

test('while the publisher is still finding the path\'s rate, drops do not step quality down', async () => {
  const { adaptive, applied } = controller();
  await adaptive.evaluate(window(30, 40_000, 300_000, { measuring: true }));
  assert.deepEqual(applied, []);
});

test('back up: straight to full settings when the path shows no limit; blind probing otherwise, one step, two, four', async () => {
  const { adaptive } = controller();
  await adaptive.evaluate(window(30, 40_000, 300_000));
  await adaptive.evaluate(window(adaptive.current.fps, 16_000, 260_000));
  const low = adaptive.level;
  assert.ok(low >= 4);
  await adaptive.evaluate(window(adaptive.current.fps, 16_000, adaptive.current.fps * 16_000, { capacity: Infinity }));
  assert.equal(adaptive.level, 0, 'a hint of no limit goes straight back');

  const blind = controller();
  await blind.adaptive.evaluate(window(30, 40_000, 300_000));
  const rates: number[] = [blind.adaptive.current.fps];
  for (let i = 0; i < 2; i++) {
    const { fps } = blind.adaptive.current;
    await blind.adaptive.evaluate(window(fps, 16_000, fps * 16_000));
    rates.push(blind.adaptive.current.fps);
  }
  assert.ok(Math.abs(rates[1]! / rates[0]! - 2) < 0.05, `one step: the frame rate doubles (${rates.join(' → ')})`);
  assert.ok(Math.abs(rates[2]! / rates[1]! - 4) < 0.05 || rates[2] === 30, `then two steps (${rates.join(' → ')})`);
});

test('a step up undone at once makes it wait longer, and a hint that misled is ignored for a while', async () => {
  const { adaptive } = controller();
  const clean = async (capacity?: number): Promise<void> => {
    const { fps, quality } = adaptive.current;
    const bytes = quality === 80 ? 40_000 : 16_000;
    await adaptive.evaluate(window(fps, bytes, fps * bytes, { capacity }));
  };
  await adaptive.evaluate(window(30, 40_000, 100_000));
  const settled = adaptive.level;
  assert.ok(settled >= 4);
  await clean(Infinity);
  assert.equal(adaptive.level, 0, 'a hint of no limit leads straight up');
  await adaptive.evaluate(window(30, 40_000, 100_000));
  assert.equal(adaptive.level, settled, 'the link says otherwise at once: back down');
  await clean(Infinity);
  assert.equal(adaptive.level, settled, 'calm doubled: a second clean interval is needed');
  await clean(Infinity);
  assert.equal(adaptive.level, settled, 'the frame rate doubled back, not full settings: the hint is ignored');
  assert.ok(adaptive.current.fps > 0, 'probed one step');
});

test('below minFps the rate named is what the stream needs: every camera frame offered is no shortfall', async () => {
  const { adaptive } = controller(false);
  // A file replay (quality fixed) of 165 kB frames over 1 Mbit/s: 0.76 fps at most.
  await adaptive.evaluate(window(30, 165_000, 125_000));
  const { fps } = adaptive.current;
  assert.ok(fps < 2, `named ${fps} fps, below minFps`);
  // The agent now offers every camera frame; the link delivers what was named: a clean interval, no change down.
  await adaptive.evaluate(window(30, 165_000, fps * 165_000));
  assert.ok(adaptive.current.fps >= fps, 'not stepped further down');
});
