import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../../common/logger.js';
import type { CompleteFrame } from '../../protocol/reassembler.js';
import { CameraRegistry } from '../../viewer/camera-registry.js';
import { MessageReceiver } from '../../viewer/message-receiver.js';
import { MotionRecorder } from '../../viewer/motion-recorder.js';

const frame = (seq: number, bytes: number): CompleteFrame => {
  const data = Buffer.alloc(bytes, seq & 0xff);
  data[0] = 0xff; data[1] = 0xd8; data[bytes - 2] = 0xff; data[bytes - 1] = 0xd9;
  return { source: 'x', streamId: 1, seq, capturedAtUs: 1e15 + seq * 1e5, data, gap: 0 };
};

test('pre-roll rings are bounded by time per camera and by bytes across cameras; an event writes its ring first', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-motion-rec-'));
  let now = 1_000_000;
  const recorder = new MotionRecorder({ dir, preRollMs: 1000, preRollBytes: 50_000, postRollMs: 0, maxSegmentBytes: 1 << 30, now: () => now }, silentLogger);
  await recorder.start();
  const registry = new CameraRegistry(8);
  const a = registry.admit('picam/a', 'a', 'online')!.camera;
  const b = registry.admit('picam/b', 'b', 'online')!.camera;
  // 10 fps of 2,000-byte frames: one second is 10 or 11 frames, 20-22 kB.
  for (let seq = 0; seq < 50; seq++, now += 100) recorder.frame(a, frame(seq, 2000), now);
  assert.ok(recorder.bytesHeld <= 22_000 && recorder.bytesHeld >= 20_000, `time bound: ${recorder.bytesHeld} bytes`);
  // A second camera with large frames: the total stays within 50 kB, the largest ring gives way first.
  for (let seq = 0; seq < 20; seq++) recorder.frame(b, frame(seq, 10_000), now);
  assert.ok(recorder.bytesHeld <= 50_000, `byte bound: ${recorder.bytesHeld}`);
  assert.ok(recorder.frameBySeq('picam/a', 49), 'the smaller ring keeps its frames');

  recorder.motion(a, { event: { type: 'motion', phase: 'start', id: 7, start: new Date(now).toISOString(), seq: 45, peak: 3, box: { x: 0, y: 0, w: 1, h: 1 } } });
  for (let seq = 50; seq < 53; seq++, now += 100) recorder.frame(a, frame(seq, 2000), now);
  recorder.motion(a, { state: 'OFF' });
  recorder.frame(a, frame(53, 2000), now);
  await recorder.stop();
  const csv = fs.readdirSync(dir).find((f) => f.endsWith('_motion.csv'))!;
  const rows = fs.readFileSync(path.join(dir, csv), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  assert.deepEqual(rows.map((r) => [r[1], r[7], r[8]]).slice(-9), [
    ['44', 'pre-roll', '7'], ['45', 'motion', '7'], ['46', 'motion', '7'], ['47', 'motion', '7'], ['48', 'motion', '7'], ['49', 'motion', '7'],
    ['50', 'motion', '7'], ['51', 'motion', '7'], ['52', 'motion', '7'],
  ]);
  assert.ok(rows.length >= 12 && rows.length <= 14, `about a second of pre-roll, then the event: ${rows.length} rows`);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('malformed motion and event messages are counted and change nothing', () => {
  const registry = new CameraRegistry(8);
  const receiver = new MessageReceiver(registry, {}, silentLogger);
  const seen: unknown[] = [];
  receiver.onMotion((_c, change) => seen.push(change));
  receiver.handle('picam/a/motion', Buffer.from('on'));
  receiver.handle('picam/a/motion', Buffer.alloc(100_000, 0x41));
  receiver.handle('picam/a/status', Buffer.from('online'));
  receiver.handle('picam/a/event', Buffer.from('{"type":"motion","phase":"start","id":1}'));
  receiver.handle('picam/a/event', Buffer.from(JSON.stringify({ type: 'motion', phase: 'start', id: 1, start: 'x', seq: 1, peak: 1, box: { x: 0, y: 0, w: 1, h: 1 } })));
  receiver.handle('picam/a/event', Buffer.alloc(3000, 0x20));
  assert.equal(receiver.malformed.motion, 2);
  assert.equal(receiver.malformed.event, 3);
  assert.deepEqual(seen, []);
  receiver.handle('picam/a/motion', Buffer.from('ON'));
  assert.deepEqual(seen, [{ state: 'ON' }]);
  assert.equal(registry.find('picam/a')?.motion, 'ON');
});
