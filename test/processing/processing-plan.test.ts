import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APPLIES_ALL, APPLIES_NONE } from '../../agent/capture/frame-source.js';
import { describePlan, needsWork, planProcessing, type PictureSettings, type ProcessingRequest } from '../../agent/processing/processing-plan.js';

const wanted: PictureSettings = { width: 640, height: 480, quality: 80, rotation: 0, hflip: false, vflip: false };
const request = (over: Partial<ProcessingRequest> = {}, picture: Partial<PictureSettings> = {}): ProcessingRequest => ({
  wanted: { ...wanted, ...picture },
  exact: { size: false, quality: false },
  overlay: false,
  applies: APPLIES_ALL,
  ...over,
});

test('defaults never cause a re-encode, whatever the camera does or gives', () => {
  for (const applies of [APPLIES_ALL, APPLIES_NONE]) {
    const plan = planProcessing(request({ applies }));
    assert.equal(needsWork(plan, { width: 640, height: 480 }), false);
    assert.equal(needsWork(plan, { width: 1920, height: 1080 }), false);
    assert.equal(needsWork(plan, undefined), false);
    assert.deepEqual(describePlan(plan, { width: 1920, height: 1080 }), []);
  }
});

test('what the camera applies is not done again', () => {
  const plan = planProcessing(request({ exact: { size: true, quality: true } }, { rotation: 90, hflip: true, quality: 30 }));
  // The camera rotated, so its 480x640 frames are already the wanted size.
  assert.equal(needsWork(plan, { width: 480, height: 640 }), false);
  assert.equal(plan.rotate, 0);
  assert.equal(plan.requantise, false);
});

test('rpicam at 90 degrees: the camera mirrors, the agent rotates, and the exact size is checked after the turn', () => {
  const plan = planProcessing(request({ applies: { ...APPLIES_ALL, rotation: false }, exact: { size: true, quality: false } }, { rotation: 90, vflip: true }));
  assert.equal(plan.rotate, 90);
  assert.equal(plan.vflip, false);
  assert.deepEqual(plan.size, { width: 480, height: 640 });
  assert.equal(needsWork(plan, { width: 640, height: 480 }), true);
  assert.deepEqual(describePlan(plan, { width: 640, height: 480 }), ['rotate 90']);
});

test('a file replay: orientation, exact size and exact quality are all the agent\'s', () => {
  const plan = planProcessing(request({ applies: APPLIES_NONE, exact: { size: true, quality: true } }, { rotation: 270, hflip: true, vflip: true, quality: 50 }));
  assert.deepEqual({ rotate: plan.rotate, hflip: plan.hflip, vflip: plan.vflip, requantise: plan.requantise, quality: plan.quality }, { rotate: 270, hflip: true, vflip: true, requantise: true, quality: 50 });
  assert.deepEqual(describePlan(plan, { width: 320, height: 240 }), ['hflip', 'vflip', 'rotate 270', 'resize 480x640', 'quality 50']);
});

test('an exact size resizes only frames that do not have it; an unreadable size is processed', () => {
  const plan = planProcessing(request({ exact: { size: true, quality: false } }));
  assert.equal(needsWork(plan, { width: 640, height: 480 }), false);
  assert.equal(needsWork(plan, { width: 1280, height: 720 }), true);
  assert.equal(needsWork(plan, undefined), true);
});

test('an overlay always needs work', () => {
  const plan = planProcessing(request({ overlay: true }));
  assert.equal(needsWork(plan, { width: 640, height: 480 }), true);
  assert.deepEqual(describePlan(plan, { width: 640, height: 480 }), ['overlay']);
});
