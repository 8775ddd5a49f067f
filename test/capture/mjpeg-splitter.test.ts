import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { MjpegSplitter, type MjpegSplitterStats } from '../../agent/capture/mjpeg-splitter.js';
import { ffmpegFrames, headerSegments, isWholeJpeg, withExif } from '../../harness/jpeg-tools.js';
import { seededRandom } from '../helpers/random.js';

interface Run {
  frames: Buffer[];
  stats: MjpegSplitterStats;
  pending: number;
}

function split(chunks: Buffer[], maxFrameBytes?: number, end = false): Run {
  const frames: Buffer[] = [];
  const splitter = new MjpegSplitter({ onFrame: (f) => frames.push(Buffer.from(f)), maxFrameBytes });
  for (const c of chunks) splitter.push(c);
  if (end) splitter.end();
  return { frames, stats: splitter.stats, pending: splitter.pendingBytes };
}

/** Cuts a buffer into chunks whose sizes are drawn by `rnd` (many tiny ones, some large). */
function randomChunks(data: Buffer, rnd: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  let pos = 0;
  while (pos < data.length) {
    const r = rnd();
    const size = r < 0.3 ? 1 + Math.floor(rnd() * 3) : r < 0.8 ? 1 + Math.floor(rnd() * 200) : 1 + Math.floor(rnd() * 20000);
    chunks.push(data.subarray(pos, pos + size));
    pos += size;
  }
  return chunks;
}

/** Random bytes that never contain FF D8, so they cannot start a frame. */
function garbage(rnd: () => number, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    let b = rnd() < 0.15 ? 0xff : Math.floor(rnd() * 256);
    if (b === 0xd8 && i > 0 && out[i - 1] === 0xff) b = 0xd9;
    out[i] = b;
  }
  return out;
}

/** Offset of the first entropy-coded byte of the last scan. */
function lastScanDataStart(jpeg: Buffer): number {
  const sos = jpeg.lastIndexOf(Buffer.from([0xff, 0xda]));
  return sos + 2 + jpeg.readUInt16BE(sos + 2);
}

/** Inserts `n` fill bytes (FF) before the marker at `at`. */
function withFill(jpeg: Buffer, at: number, n: number): Buffer {
  return Buffer.concat([jpeg.subarray(0, at), Buffer.alloc(n, 0xff), jpeg.subarray(at)]);
}

function countMarker(jpeg: Buffer, code: number): number {
  let n = 0;
  for (let i = jpeg.indexOf(0xff); i >= 0 && i + 1 < jpeg.length; i = jpeg.indexOf(0xff, i + 1)) if (jpeg[i + 1] === code) n++;
  return n;
}

describe('MjpegSplitter', () => {
  let plain: Buffer[];
  let withThumbnails: Buffer[];
  let withRestarts: Buffer[];
  let progressive: Buffer[];

  before(async () => {
    plain = ffmpegFrames({ width: 96, height: 64, count: 6 }).frames;
    const thumbSet = ffmpegFrames({ width: 128, height: 96, count: 4, thumbnail: { width: 32, height: 24, qscale: 10 } });
    withThumbnails = thumbSet.frames.map((f, i) => withExif(f, thumbSet.thumbnails[i]));
    withRestarts = ffmpegFrames({ width: 160, height: 120, count: 4, encoderArgs: ['-slices', '4'] }).frames;
    progressive = await Promise.all(plain.slice(0, 3).map((f) => sharp(f).jpeg({ progressive: true, quality: 70 }).toBuffer()));
  });

  it('fixtures have the features the tests rely on', () => {
    for (const f of withThumbnails) {
      // The thumbnail's own EOI sits inside APP1, so a search for FF D9 would cut the frame short.
      assert.ok(f.indexOf(Buffer.from([0xff, 0xd9])) < f.length - 2, 'EXIF thumbnail EOI precedes the frame end');
      assert.equal(headerSegments(f)[0]!.code, 0xe1);
    }
    for (const f of withRestarts) assert.ok(countMarker(f, 0xd0) >= 1 && countMarker(f, 0xdd) === 1, 'RST and DRI present');
    for (const f of progressive) assert.ok(countMarker(f, 0xda) > 1, 'several scans');
    assert.ok(plain.every((f) => countMarker(f, 0x00) > 0), 'byte stuffing present');
  });

  it('cuts a concatenated stream into the same frames, thumbnails and all', () => {
    const input = [...plain, ...withThumbnails, ...withRestarts, ...progressive];
    const run = split([Buffer.concat(input)]);
    assert.equal(run.frames.length, input.length);
    run.frames.forEach((f, i) => assert.ok(f.equals(input[i]!), `frame ${i}`));
    assert.equal(run.stats.garbageBytes, 0);
    assert.equal(run.pending, 0);
  });

  it('a naive FF D9 search would fail on EXIF thumbnails (guards the test above)', () => {
    const stream = Buffer.concat(withThumbnails);
    const naive: Buffer[] = [];
    let start = 0;
    for (let end = stream.indexOf(Buffer.from([0xff, 0xd9])); end >= 0; end = stream.indexOf(Buffer.from([0xff, 0xd9]), start)) {
      naive.push(stream.subarray(start, end + 2));
      start = end + 2;
    }
    assert.notEqual(naive.length, withThumbnails.length);
  });

  it('handles a split at every byte boundary', () => {
    const input = [withThumbnails[0]!, withRestarts[0]!];
    const stream = Buffer.concat(input);
    for (let at = 0; at <= stream.length; at++) {
      const run = split([stream.subarray(0, at), stream.subarray(at)]);
      assert.equal(run.frames.length, 2, `split at ${at}`);
      assert.ok(run.frames[0]!.equals(input[0]!) && run.frames[1]!.equals(input[1]!), `split at ${at}`);
    }
  });

  it('handles one byte per push', () => {
    const input = [progressive[0]!, withThumbnails[1]!];
    const stream = Buffer.concat(input);
    const chunks = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
    const run = split(chunks);
    assert.deepEqual(run.frames.map((f) => f.length), input.map((f) => f.length));
    assert.ok(run.frames.every((f, i) => f.equals(input[i]!)));
  });

  it('skips and counts garbage between frames and after EOI', () => {
    const rnd = seededRandom(7);
    const junk = [garbage(rnd, 100), garbage(rnd, 1), garbage(rnd, 3000), Buffer.from([0xff, 0xff, 0xff])];
    const stream = Buffer.concat([junk[0]!, plain[0]!, junk[1]!, plain[1]!, junk[2]!, plain[2]!, junk[3]!]);
    const run = split([stream]);
    assert.equal(run.frames.length, 3);
    run.frames.forEach((f, i) => assert.ok(f.equals(plain[i]!)));
    assert.equal(run.stats.garbageBytes + run.pending, junk.reduce((n, j) => n + j.length, 0));
  });

  it('keeps fill bytes before markers as part of the frame', () => {
    const f = plain[0]!;
    const segments = headerSegments(f);
    let mutated = withFill(f, f.length - 2, 2); // before EOI
    mutated = withFill(mutated, segments[2]!.offset, 3); // before a header marker
    const run = split([Buffer.concat([mutated, plain[1]!])]);
    assert.equal(run.frames.length, 2);
    assert.ok(run.frames[0]!.equals(mutated));
  });

  it('drops a truncated frame and recovers at the next SOI', () => {
    const cut = withThumbnails[0]!.subarray(0, lastScanDataStart(withThumbnails[0]!) + 50);
    const run = split([Buffer.concat([plain[0]!, cut, plain[1]!])]);
    assert.deepEqual(run.frames.map((f) => f.length), [plain[0]!.length, plain[1]!.length]);
    assert.equal(run.stats.brokenFrames, 1);
    assert.equal(run.stats.garbageBytes, cut.length);
  });

  it('reset() forgets a partial frame, as after a camera restart', () => {
    const frames: Buffer[] = [];
    const splitter = new MjpegSplitter({ onFrame: (f) => frames.push(f) });
    const f = withThumbnails[0]!;
    splitter.push(f.subarray(0, 40)); // inside the EXIF segment
    splitter.reset();
    splitter.push(plain[0]!);
    assert.equal(frames.length, 1);
    assert.ok(frames[0]!.equals(plain[0]!));
    assert.equal(splitter.stats.brokenFrames, 1);
    assert.equal(splitter.stats.garbageBytes, 40);
  });

  it('drops frames over maxFrameBytes without losing the next ones', () => {
    const small = plain[0]!;
    const big = withThumbnails[0]!;
    assert.ok(big.length > small.length);
    const run = split(randomChunks(Buffer.concat([small, big, small, big, small]), seededRandom(3)), small.length + 10);
    assert.equal(run.frames.length, 3);
    assert.ok(run.frames.every((f) => f.equals(small)));
    assert.equal(run.stats.oversizeFrames, 2);
    assert.equal(run.stats.garbageBytes, 2 * big.length);
  });

  it('ignores frames without an image (tables only) and headers that break off', () => {
    const tablesOnly = Buffer.from([0xff, 0xd8, 0xff, 0xfe, 0x00, 0x04, 0x41, 0x42, 0xff, 0xd9]);
    const brokenHeader = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01, 0x12]); // length < 2
    const notAMarker = Buffer.from([0xff, 0xd8, 0x12, 0x34]);
    const run = split([Buffer.concat([tablesOnly, brokenHeader, notAMarker, plain[0]!])]);
    assert.equal(run.frames.length, 1);
    assert.ok(run.frames[0]!.equals(plain[0]!));
    assert.equal(run.stats.brokenFrames, 3);
  });

  it('fuzz: random splits, garbage, fill bytes and truncated frames; frames out equal frames in', () => {
    const pool = [...plain, ...withThumbnails, ...withRestarts, ...progressive];
    const baseSeed = Number(process.env.SPLITTER_FUZZ_SEED ?? Date.now() % 1e9);
    for (let iteration = 0; iteration < 300; iteration++) {
      const seed = baseSeed + iteration;
      const rnd = seededRandom(seed);
      const parts: Buffer[] = [];
      const expected: Buffer[] = [];
      let previousTruncated = false;
      const count = 1 + Math.floor(rnd() * 12);
      for (let i = 0; i < count; i++) {
        let frame = pool[Math.floor(rnd() * pool.length)]!;
        const r = rnd();
        if (r < 0.2 && !previousTruncated) parts.push(garbage(rnd, Math.floor(rnd() * 500)));
        if (r > 0.8) frame = withFill(frame, frame.length - 2, 1 + Math.floor(rnd() * 3));
        if (r > 0.6 && r <= 0.8) {
          const segments = headerSegments(frame);
          const s = segments[Math.floor(rnd() * segments.length)]!;
          frame = withFill(frame, s.offset, 1 + Math.floor(rnd() * 2));
        }
        if (rnd() < 0.15) {
          // A frame cut short inside its entropy data, directly followed by the next frame.
          const start = lastScanDataStart(frame);
          parts.push(frame.subarray(0, start + Math.floor(rnd() * (frame.length - 2 - start))));
          previousTruncated = true;
          continue;
        }
        parts.push(frame);
        expected.push(frame);
        previousTruncated = false;
      }
      if (!previousTruncated && rnd() < 0.5) parts.push(garbage(rnd, Math.floor(rnd() * 100)));
      const stream = Buffer.concat(parts);
      const run = split(randomChunks(stream, rnd));
      const message = `seed ${seed} (replay with SPLITTER_FUZZ_SEED=${seed})`;
      // A truncated frame at the very end is still pending (its end has not come yet).
      assert.equal(run.frames.length, expected.length, message);
      run.frames.forEach((f, i) => assert.ok(f.equals(expected[i]!), `${message}: frame ${i}`));
      const emitted = run.frames.reduce((n, f) => n + f.length, 0);
      assert.equal(emitted + run.stats.garbageBytes + run.pending, stream.length, `${message}: byte accounting`);
    }
  });

  it('fuzz: random byte corruption never breaks the splitter; every frame out is SOI..EOI within the bound', () => {
    const pool = [...plain, ...withThumbnails, ...withRestarts, ...progressive];
    const baseSeed = Number(process.env.SPLITTER_FUZZ_SEED ?? Date.now() % 1e9);
    const max = Math.max(...pool.map((f) => f.length)) + 64;
    for (let iteration = 0; iteration < 200; iteration++) {
      const seed = baseSeed + iteration;
      const rnd = seededRandom(seed);
      const stream = Buffer.concat(Array.from({ length: 8 }, () => pool[Math.floor(rnd() * pool.length)]!));
      const flips = 1 + Math.floor(rnd() * 20);
      for (let i = 0; i < flips; i++) {
        const at = Math.floor(rnd() * stream.length);
        stream[at] = rnd() < 0.5 ? 0xff : Math.floor(rnd() * 256);
      }
      const run = split(randomChunks(stream, rnd), max, true);
      const message = `seed ${seed}`;
      for (const f of run.frames) {
        assert.ok(isWholeJpeg(f), message);
        assert.ok(f.length <= max, message);
      }
      const emitted = run.frames.reduce((n, f) => n + f.length, 0);
      assert.equal(emitted + run.stats.garbageBytes, stream.length, `${message}: byte accounting`);
      assert.equal(run.pending, 0);
    }
  });
});
