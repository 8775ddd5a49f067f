import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MotionDetector } from '../../agent/motion/motion-detector.js';
import { MotionTracker } from '../../agent/motion/motion-tracker.js';
import { clipSpecs, makeClip } from '../../bench/motion-clips.js';
import { evaluateClip } from '../../bench/motion-quality.js';
import { parseControlRequest } from '../../protocol/control.js';
import { parseMotionEvent, parseZones } from '../../protocol/motion.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { waitFor } from '../helpers/processes.js';

const settings = { threshold: 20, minArea: 0.5, minDuration: 0.3, hold: 2, mask: [] };

test('tracker: ON once motion lasts minDuration, a quiet frame starts the count again, OFF after hold', () => {
  const tracker = new MotionTracker({ minArea: 1, minDuration: 0.4, hold: 1 });
  const box = { x: 0.1, y: 0.2, w: 0.1, h: 0.1 };
  const at = (ms: number, score: number, seq: number) => tracker.update({ score, box, seq, atMs: 1_000_000 + ms });
  assert.equal(at(0, 5, 1), undefined);
  assert.equal(at(200, 0.5, 2), undefined, 'below minArea: not motion');
  assert.equal(at(400, 5, 3), undefined);
  assert.equal(at(600, 5, 4), undefined);
  const start = at(800, 7, 5);
  assert.equal(start?.phase, 'start');
  assert.equal(start?.seq, 3, 'the event names the first frame of the run that started it');
  assert.equal(start?.start, new Date(1_000_400).toISOString());
  assert.equal(at(1000, 9, 6), undefined);
  assert.equal(at(1800, 0, 7), undefined, 'within hold');
  const end = at(2000, 0, 8);
  assert.equal(end?.phase, 'end');
  assert.equal(end?.peak, 9);
  assert.equal(end?.end, new Date(1_001_000).toISOString());
  assert.ok(parseMotionEvent(Buffer.from(JSON.stringify(end))), 'what the agent sends, a receiver accepts');
});

test('clips: motion is found, noise and light changes are not, and motion in a masked zone only when unmasked', async () => {
  const specs = clipSpecs(320, 240);
  for (const name of ['medium', 'noise', 'light-sudden']) {
    const q = await evaluateClip(await makeClip(specs.find((s) => s.name === name)!), settings);
    assert.equal(q.events.length, name === 'medium' ? 1 : 0, `${name}: ${JSON.stringify(q)}`);
    if (name === 'medium') assert.ok(q.delayMs! <= 600, `ON within 0.6 s of capture time (${q.delayMs} ms)`);
  }
  const masked = specs.find((s) => s.name === 'masked')!;
  const withMask = await evaluateClip(await makeClip(masked), settings);
  assert.equal(withMask.events.length, 0, JSON.stringify(withMask));
  const { mask: _unused, ...unmasked } = masked;
  const without = await evaluateClip(await makeClip(unmasked), settings);
  assert.equal(without.events.length, 1, 'the same clip without its mask has an event: the mask is what kept it quiet');
});

test('zones and live settings: out of range refused with a reason', () => {
  assert.deepEqual(parseZones('0,0,1,0.2; 0.5,0.5,0.5,0.5'), { zones: [{ x: 0, y: 0, w: 1, h: 0.2 }, { x: 0.5, y: 0.5, w: 0.5, h: 0.5 }] });
  assert.match((parseZones('0.5,0.5,0.6,0.1') as { error: string }).error, /inside the picture/);
  assert.match((parseZones('1,2,3') as { error: string }).error, /four numbers/);
  const ok = parseControlRequest(Buffer.from(JSON.stringify({ motion: { threshold: 30, mask: [[0, 0, 0.5, 0.5]] } })));
  assert.ok(ok.ok && ok.request.motion?.threshold === 30 && ok.request.motion.mask?.length === 1);
  const bad = parseControlRequest(Buffer.from(JSON.stringify({ motion: { minArea: -1 } })));
  assert.ok(!bad.ok && /motion.minArea/.test(bad.error));
});

test('feature: frames offered while an analysis runs replace each other (newest wins) and are counted', async () => {
  const clip = await makeClip({ ...clipSpecs(320, 240).find((s) => s.name === 'medium')!, frames: 8 });
  const published: string[] = [];
  const feature = new MotionDetector({ ...settings, fps: 100 }, { publish: (kind, payload) => published.push(`${kind}:${payload}`), logger: memoryLogger().logger });
  feature.start();
  // Eight frames at once: the first is analysed, each later one replaces the one waiting, the last is analysed.
  for (let i = 0; i < 8; i++) feature.offer({ data: clip.frames[i]!, capturedAtUs: 1e15 + i * 100_000 }, i);
  const stats = await waitFor(() => { const s = feature.takeStats(); return s.analysed === 2 ? s : undefined; }, 20_000, 'two analyses');
  await feature.stop();
  assert.equal(stats.skipped, 6);
  assert.equal(stats.state, 'OFF');
  await feature.stop();
});
