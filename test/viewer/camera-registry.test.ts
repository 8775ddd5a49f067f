import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkFrame } from '../../protocol/chunker.js';
import { CameraRegistry, GONE_AFTER_MS } from '../../viewer/camera-registry.js';
import { MessageReceiver } from '../../viewer/message-receiver.js';
import { memoryLogger } from '../helpers/memory-logger.js';

// The viewer's camera registry against junk (issue 16, item 5): a message takes a camera a place only once it
// passed validation, and a full registry makes room with cameras that never proved real, then with gone
// ones, never with a live one. A MessageReceiver as the viewer has one, fed messages directly, on a test clock.

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9]);
const INFO = (id: string): Buffer => Buffer.from(JSON.stringify({ protocol: 1, cameraId: id, codec: 'image/jpeg', width: 640, height: 480, fps: 10, chunkSize: 4096, streamId: 1, source: 'synthetic', agentVersion: '0.1.0', startedAt: '2026-11-27T13:22:37.680Z' }));
const STATS = Buffer.from(JSON.stringify({ streamId: 1, uptimeS: 1, fps: 1, kbps: 1, framesCaptured: 1, framesSent: 1, framesDropped: 0, bytesSent: 1 }));

function rig(maxCameras = 64): { receiver: MessageReceiver; clock: { now: number }; lines: string[]; keys: () => string[] } {
  const clock = { now: 1_000_000 };
  const { logger, lines } = memoryLogger('receiver');
  const receiver = new MessageReceiver(new CameraRegistry(maxCameras, () => clock.now), { maxSources: maxCameras }, logger, () => clock.now);
  return { receiver, clock, lines, keys: () => receiver.registry.all().map((c) => c.key) };
}

const frame = (seq: number, data = JPEG, chunkSize = 4096): Buffer[] => chunkFrame({ streamId: 1, seq, capturedAtUs: 0, data }, chunkSize);

test('junk takes no place: malformed status, info, stats, result, motion, event and chunk headers on 100 new ids leave the registry empty', () => {
  const { receiver, keys } = rig();
  for (let i = 0; i < 100; i++) {
    receiver.handle(`picam/junk${i}/status`, Buffer.from('ONLINE'));
    receiver.handle(`picam/junk${i}/info`, Buffer.from('{"protocol":1}'));
    receiver.handle(`picam/junk${i}/stats`, Buffer.from('[]'));
    receiver.handle(`picam/junk${i}/result`, Buffer.from('{"ok":"yes"}'));
    receiver.handle(`picam/junk${i}/result`, Buffer.from('{"ok":true}')); // valid, but nobody asked this camera anything
    receiver.handle(`picam/junk${i}/frame`, Buffer.from('PC but not a chunk header'));
    receiver.handle(`picam/junk${i}/motion`, Buffer.from('on'));
    receiver.handle(`picam/junk${i}/event`, Buffer.from('{"type":"motion"}'));
    receiver.handle(`picam/junk${i}/event`, Buffer.from(JSON.stringify({ type: 'motion', phase: 'start', id: 1, start: new Date().toISOString(), seq: 1, peak: 1, box: { x: 0, y: 0, w: 1, h: 1 } }))); // valid, but events make no camera known
  }
  assert.deepEqual(keys(), []);
  assert.equal(receiver.reassembler.sourceCount, 0, 'no reassembler state for them either');
  assert.deepEqual(receiver.malformed, { topic: 0, info: 100, status: 100, stats: 100, result: 100, motion: 100, event: 100, tooManyCameras: 0, notJpeg: 0 });
  assert.equal(receiver.reassembler.rejections.get('too-short'), 100, 'bad chunks are still counted by reason');
});

test('70 retained offline statuses fill 64 places, yet every online camera that comes later gets in; the limit is logged', () => {
  const { receiver, keys, lines } = rig();
  for (let i = 0; i < 70; i++) receiver.handle(`picam/old${String(i).padStart(2, '0')}/status`, Buffer.from('offline'));
  assert.equal(keys().length, 64);
  assert.equal(receiver.malformed.tooManyCameras, 6, 'quiet cameras do not push each other out');
  for (let i = 0; i < 70; i++) receiver.handle(`picam/old${String(i).padStart(2, '0')}/info`, INFO(`old${i}`));
  assert.equal(keys().length, 64);
  for (const id of ['garden', 'porch', 'door']) {
    receiver.handle(`picam/${id}/status`, Buffer.from('online'));
    receiver.handle(`picam/${id}/info`, INFO(id));
    for (const c of frame(1)) receiver.handle(`picam/${id}/frame`, c);
  }
  for (const id of ['garden', 'porch', 'door']) {
    const camera = receiver.registry.find(`picam/${id}`);
    assert.ok(camera?.latest, `${id} got in and shows its frame`);
  }
  assert.equal(keys().length, 64);
  assert.equal(receiver.camerasReplaced, 3);
  assert.equal(lines.filter((l) => /camera limit reached/.test(l)).length, 1, 'one warning a minute, not one per message');
});

test('valid chunk headers on new ids that never make a frame are replaced first, oldest first; a frames-only camera gets in', () => {
  const { receiver, keys, clock } = rig(8);
  const lying = (seq: number): Buffer => frame(seq, Buffer.alloc(20_000, 1), 1000)[0]!; // first chunk of 20: never completes
  for (let i = 0; i < 8; i++) { clock.now += 1; receiver.handle(`picam/junk${i}/frame`, lying(i)); }
  assert.equal(keys().length, 8);
  clock.now += 1;
  for (const c of frame(1)) receiver.handle('picam/real/frame', c);
  assert.ok(receiver.registry.find('picam/real')?.latest, 'the real camera got in and delivered its frame');
  assert.equal(receiver.registry.find('picam/junk0'), undefined, 'the oldest junk made room');
  assert.equal(receiver.reassembler.counters('picam/junk0'), undefined, 'and its frames in flight were let go');
  // More junk now replaces junk, never the camera that proved real.
  for (let i = 8; i < 40; i++) { clock.now += 1; receiver.handle(`picam/junk${i}/frame`, lying(i)); }
  assert.ok(receiver.registry.find('picam/real'));
});

test('a live camera is never replaced; a gone one (not online, no frame for a minute) makes room for an online newcomer', () => {
  const { receiver, keys, clock } = rig(2);
  receiver.handle('picam/live/status', Buffer.from('online'));
  receiver.handle('picam/quiet/status', Buffer.from('offline'));
  for (const c of frame(1)) receiver.handle('picam/quiet/frame', c);
  receiver.handle('picam/new1/status', Buffer.from('online'));
  assert.deepEqual(keys(), ['picam/live', 'picam/quiet'], 'the offline camera gave a frame just now: not gone yet');
  clock.now += GONE_AFTER_MS + 1;
  receiver.handle('picam/new2/status', Buffer.from('offline'));
  assert.deepEqual(keys(), ['picam/live', 'picam/quiet'], 'a quiet newcomer does not replace a gone camera');
  receiver.handle('picam/new3/stats', STATS);
  assert.deepEqual(keys(), ['picam/live', 'picam/new3'], 'an agent sending stats is running: it replaces the gone camera');
  assert.equal(receiver.malformed.tooManyCameras, 2);
});

test('an empty retained info means the camera\'s info is unknown again (issue 16, item 4)', () => {
  const { receiver } = rig();
  receiver.handle('picam/garden/info', INFO('garden'));
  assert.equal(receiver.registry.find('picam/garden')?.info?.width, 640);
  receiver.handle('picam/garden/info', Buffer.alloc(0));
  assert.equal(receiver.registry.find('picam/garden')?.info, undefined);
  const summary = receiver.registry.summary(receiver.registry.find('picam/garden')!, 0, undefined);
  assert.equal(summary.width, undefined);
  assert.equal(summary.source, undefined);
});

test('info is bounded (issue 16, item 4): larger than 16 KiB or with oversized fields is refused; unknown fields are not kept', () => {
  const { receiver } = rig();
  const base = JSON.parse(INFO('garden').toString()) as Record<string, unknown>;
  const send = (doc: Record<string, unknown>): void => receiver.handle('picam/garden/info', Buffer.from(JSON.stringify(doc)));
  send({ ...base, processing: Array.from({ length: 5000 }, (_, i) => `step ${i}`) });
  send({ ...base, source: 'x'.repeat(100_000) });
  assert.equal(receiver.malformed.info, 2);
  assert.equal(receiver.registry.find('picam/garden'), undefined);
  send({ ...base, processing: Array.from({ length: 100 }, () => 'rotate 90'), adjustable: ['fps'], quality: 80, junk: 'x'.repeat(10_000) });
  const info = receiver.registry.find('picam/garden')!.info!;
  assert.equal(info.processing, undefined, 'a list longer than 32 entries is dropped');
  assert.deepEqual(info.adjustable, ['fps']);
  assert.equal(info.quality, 80);
  assert.equal(info.junk, undefined, 'unknown fields are not kept');
});
