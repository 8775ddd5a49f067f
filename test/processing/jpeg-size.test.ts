import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { readJpegSize } from '../../agent/processing/jpeg-size.js';
import { ffmpegFrames, withExif } from '../../harness/jpeg-tools.js';

test('reads the size of real baseline JPEGs made by ffmpeg', () => {
  for (const [width, height] of [[320, 240], [1280, 720], [18, 34]] as const) {
    const [frame] = ffmpegFrames({ width, height, count: 1 }).frames;
    assert.deepEqual(readJpegSize(frame!), { width, height });
  }
});

test('skips an EXIF segment with a thumbnail and reads the main picture', () => {
  const set = ffmpegFrames({ width: 640, height: 480, count: 1, thumbnail: { width: 160, height: 120, qscale: 8 } });
  const jpeg = withExif(set.frames[0]!, set.thumbnails[0]!);
  assert.deepEqual(readJpegSize(jpeg), { width: 640, height: 480 });
});

test('reads progressive JPEGs (SOF2)', async () => {
  const jpeg = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#336699' } }).jpeg({ progressive: true }).toBuffer();
  assert.deepEqual(readJpegSize(jpeg), { width: 200, height: 100 });
});

test('anything that is not a well-formed JPEG header gives undefined, never an exception', () => {
  const [frame] = ffmpegFrames({ width: 320, height: 240, count: 1 }).frames;
  assert.equal(readJpegSize(Buffer.alloc(0)), undefined);
  assert.equal(readJpegSize(Buffer.from('not a jpeg at all')), undefined);
  for (let cut = 0; cut < 200; cut++) {
    const size = readJpegSize(frame!.subarray(0, cut));
    assert.ok(size === undefined || (size.width === 320 && size.height === 240), `cut at ${cut}`);
  }
  const broken = Buffer.from(frame!);
  broken[2] = 0x00; // the first marker is gone
  assert.equal(readJpegSize(broken), undefined);
});
