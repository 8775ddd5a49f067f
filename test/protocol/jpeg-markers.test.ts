import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJpegFrame } from '../../protocol/jpeg-markers.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';

test('a real JPEG is a JPEG frame, also with zero padding after EOI', async () => {
  const { frames } = await makeJpegFolder(1, 64, 48);
  assert.equal(isJpegFrame(frames[0]!), true);
  assert.equal(isJpegFrame(Buffer.concat([frames[0]!, Buffer.alloc(100)])), true);
});

test('bytes that are not one JPEG are refused: no SOI, no EOI at the end, cut short, or text', async () => {
  const { frames } = await makeJpegFolder(1, 64, 48);
  const jpeg = frames[0]!;
  for (const [what, data] of [
    ['GIF', Buffer.from('GIF89a....')],
    ['HTML', Buffer.from('<html><script>alert(1)</script></html>')],
    ['cut short', jpeg.subarray(0, jpeg.length - 10)],
    ['without SOI', jpeg.subarray(2)],
    ['trailing text', Buffer.concat([jpeg, Buffer.from('<script>')])],
    ['SOI and EOI only', Buffer.from([0xff, 0xd8, 0xff, 0xd9])],
    ['empty', Buffer.alloc(0)],
    ['zeros', Buffer.alloc(100)],
  ] as const) {
    assert.equal(isJpegFrame(data), false, what);
  }
});
