import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blendOverlay, OverlayRenderer, overlayText } from '../../agent/processing/overlay.js';
import { OVERLAY_TEMPLATE_PATTERN } from '../../agent/processing/overlay-template.js';

test('the template fills {id}, {date} and {time} in local time and keeps other text', () => {
  const at = new Date(2026, 10, 7, 9, 5, 3); // local time
  assert.equal(overlayText('{id} {date} {time} – front door', 'porch', at.getTime() * 1000), 'porch 2026-11-07 09:05:03 – front door');
  assert.equal(overlayText('no placeholders', 'x', 0), 'no placeholders');
});

test('the template pattern accepts the known placeholders only, and at most 200 characters', () => {
  for (const ok of ['', '{id}', '{date} {time}', 'Garage (north) {time}']) assert.ok(OVERLAY_TEMPLATE_PATTERN.test(ok), ok);
  for (const bad of ['{host}', '{id', 'id}', '{{id}}', 'x'.repeat(201)]) assert.ok(!OVERLAY_TEMPLATE_PATTERN.test(bad), bad);
});

test('blending: an opaque pixel replaces, a transparent one leaves alone, half alpha mixes', () => {
  const pixels = Buffer.from([100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100]); // 4x1 RGB
  const rgba = Buffer.from([255, 0, 0, 255, 0, 255, 0, 0, 200, 200, 200, 128]); // 3x1 RGBA
  blendOverlay(pixels, 4, { rgba, width: 3, height: 1, left: 1, top: 0 });
  assert.deepEqual([...pixels], [100, 100, 100, 255, 0, 0, 100, 100, 100, 150, 150, 150]);
});

test('the drawn box fits the frame and sits in the chosen corner; the same text is drawn once', async () => {
  const renderer = new OverlayRenderer('bottom-right');
  const frame = { width: 320, height: 240 };
  const first = renderer.render('cam 2026-11-27 12:00:00', frame);
  assert.equal(renderer.render('cam 2026-11-27 12:00:00', frame), first, 'cached');
  const box = await first;
  assert.equal(box.rgba.length, box.width * box.height * 4);
  assert.equal(box.left + box.width, 320);
  assert.equal(box.top + box.height, 240);
  const tiny = await new OverlayRenderer('top-left').render('a very long text that cannot fit a tiny frame', { width: 40, height: 12 });
  assert.ok(tiny.width <= 40 && tiny.height <= 12 && tiny.left === 0 && tiny.top === 0);
});
