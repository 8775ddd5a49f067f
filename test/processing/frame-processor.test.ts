import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { APPLIES_ALL, APPLIES_NONE, type CameraApplies, type CapturedFrame } from '../../agent/capture/frame-source.js';
import { FrameProcessor, type OverlaySettings } from '../../agent/processing/frame-processor.js';
import { readJpegSize } from '../../agent/processing/jpeg-size.js';
import type { PictureSettings } from '../../agent/processing/processing-plan.js';
import { ffmpegFrames } from '../../harness/jpeg-tools.js';
import { memoryLogger } from '../helpers/memory-logger.js';

// The processing step on real JPEGs, decoded again with sharp to check what it did to the pixels.

type Colour = 'red' | 'green' | 'blue' | 'white';
const RGB: Record<Colour, [number, number, number]> = { red: [255, 0, 0], green: [0, 255, 0], blue: [0, 0, 255], white: [255, 255, 255] };

/** 80x60 picture: red top-left, green top-right, blue bottom-left, white bottom-right. */
async function quadrants(quality = 95): Promise<Buffer> {
  const width = 80;
  const height = 60;
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const colour: Colour = y < height / 2 ? (x < width / 2 ? 'red' : 'green') : x < width / 2 ? 'blue' : 'white';
      raw.set(RGB[colour], (y * width + x) * 3);
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer();
}

/** The colours at the centres of the four quadrants: [top-left, top-right, bottom-left, bottom-right]. */
async function corners(jpeg: Buffer): Promise<Colour[]> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const at = (fx: number, fy: number): Colour => {
    const i = (Math.floor(fy * info.height) * info.width + Math.floor(fx * info.width)) * info.channels;
    const pixel = [data[i]!, data[i + 1]!, data[i + 2]!];
    let best: Colour = 'red';
    let bestDistance = Infinity;
    for (const [name, rgb] of Object.entries(RGB) as Array<[Colour, number[]]>) {
      const distance = rgb.reduce((sum, v, k) => sum + (v - pixel[k]!) ** 2, 0);
      if (distance < bestDistance) { bestDistance = distance; best = name; }
    }
    return best;
  };
  return [at(0.25, 0.25), at(0.75, 0.25), at(0.25, 0.75), at(0.75, 0.75)];
}

interface Rig {
  processor: FrameProcessor;
  out: CapturedFrame[];
  drops: string[];
  lines: string[];
  settle(): Promise<void>;
  /** Waits for the frames in progress to come out, then stops. */
  finish(): Promise<void>;
}

function rig(picture: Partial<PictureSettings>, options: { applies?: CameraApplies; exact?: { size: boolean; quality: boolean }; overlay?: OverlaySettings } = {}): Rig {
  const wanted: PictureSettings = { width: 80, height: 60, quality: 90, rotation: 0, hflip: false, vflip: false, ...picture };
  const out: CapturedFrame[] = [];
  const drops: string[] = [];
  const { logger, lines } = memoryLogger('processing');
  const processor = new FrameProcessor({
    request: () => ({ wanted, exact: options.exact ?? { size: false, quality: false }, overlay: options.overlay !== undefined, applies: options.applies ?? APPLIES_NONE }),
    overlay: options.overlay,
    output: (frame) => out.push(frame),
    onDrop: (reason) => drops.push(reason),
    logger,
  });
  // stop() drops the frame in progress, so tests that want the output wait for it first.
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 200 && (processor as unknown as { busy?: Promise<void> }).busy; i++) await (processor as unknown as { busy?: Promise<void> }).busy;
  };
  return { processor, out, drops, lines, settle, finish: async () => { await settle(); await processor.stop(); } };
}

const frame = (data: Buffer, capturedAtUs = Date.now() * 1000): CapturedFrame => ({ data, capturedAtUs });

describe('FrameProcessor', () => {
  it('hands a frame on untouched (the same bytes, not a copy) when nothing is asked for', async () => {
    const input = await quadrants();
    const r = rig({ width: 1920, height: 1080, quality: 10 }, { applies: APPLIES_ALL });
    const captured = frame(input);
    r.processor.offer(captured);
    assert.equal(r.out.length, 1, 'passed on synchronously');
    assert.equal(r.out[0], captured);
    assert.equal(r.out[0]!.data, input);
    assert.equal(r.processor.framesProcessed, 0);
    assert.deepEqual(r.processor.steps, []);
    assert.ok(!r.lines.some((l) => l.includes('re-encoded')));
    await r.finish();
  });

  it('mirrors and rotates: flips first, then the clockwise rotation', async () => {
    const input = await quadrants();
    const cases: Array<[Partial<PictureSettings>, Colour[]]> = [
      [{}, ['red', 'green', 'blue', 'white']],
      [{ hflip: true }, ['green', 'red', 'white', 'blue']],
      [{ vflip: true }, ['blue', 'white', 'red', 'green']],
      [{ rotation: 90 }, ['blue', 'red', 'white', 'green']],
      [{ rotation: 180 }, ['white', 'blue', 'green', 'red']],
      [{ rotation: 270 }, ['green', 'white', 'red', 'blue']],
      // hflip gives G R / W B; turned clockwise: W G / B R.
      [{ hflip: true, rotation: 90 }, ['white', 'green', 'blue', 'red']],
    ];
    for (const [picture, expected] of cases) {
      const r = rig(picture, { exact: { size: false, quality: false } });
      r.processor.offer(frame(input));
      await r.finish();
      if (Object.keys(picture).length === 0) { assert.equal(r.out[0]!.data, input); continue; }
      assert.equal(r.out.length, 1, JSON.stringify(picture));
      assert.deepEqual(await corners(r.out[0]!.data), expected, JSON.stringify(picture));
      const turned = picture.rotation === 90 || picture.rotation === 270;
      assert.deepEqual(readJpegSize(r.out[0]!.data), turned ? { width: 60, height: 80 } : { width: 80, height: 60 });
    }
  });

  it('resizes to an exact size the camera did not give, and leaves frames that have it alone', async () => {
    const [big] = ffmpegFrames({ width: 640, height: 480, count: 1 }).frames;
    const r = rig({ width: 320, height: 180 }, { applies: APPLIES_ALL, exact: { size: true, quality: false } });
    r.processor.offer(frame(big!));
    await r.settle();
    assert.deepEqual(readJpegSize(r.out[0]!.data), { width: 320, height: 180 });
    assert.deepEqual(r.processor.steps, ['resize 320x180']);
    assert.ok(r.lines.some((l) => l.includes('re-encoded') && l.includes('resize 320x180')));
    const [right] = ffmpegFrames({ width: 320, height: 180, count: 1 }).frames;
    const exactFrame = frame(right!);
    r.processor.offer(exactFrame);
    assert.equal(r.out[1], exactFrame, 'a frame of the exact size goes out untouched');
    await r.finish();
  });

  it('a camera that gives another size than asked (size not set by the user) is left alone, with one warning', async () => {
    const [big] = ffmpegFrames({ width: 640, height: 480, count: 1 }).frames;
    const r = rig({ width: 320, height: 240 }, { applies: APPLIES_ALL });
    r.processor.offer(frame(big!));
    r.processor.offer(frame(big!));
    assert.equal(r.out.length, 2);
    assert.equal(r.out[0]!.data, big);
    assert.equal(r.lines.filter((l) => l.includes('the camera gives 640x480 frames, not the 320x240 asked for')).length, 1);
    await r.finish();
  });

  it('re-encodes at an exact quality only when the camera cannot be told', async () => {
    const [input] = ffmpegFrames({ width: 320, height: 240, count: 1, qscale: 2 }).frames;
    const camera = rig({ quality: 20 }, { applies: APPLIES_ALL, exact: { size: false, quality: true } });
    camera.processor.offer(frame(input!));
    assert.equal(camera.out[0]!.data, input, 'the camera encoded at the quality itself');
    const replay = rig({ quality: 20 }, { applies: APPLIES_NONE, exact: { size: false, quality: true } });
    replay.processor.offer(frame(input!));
    await replay.finish();
    assert.ok(replay.out[0]!.data.length < input!.length * 0.5, `${replay.out[0]!.data.length} vs ${input!.length}`);
    assert.deepEqual(replay.processor.steps, ['quality 20']);
  });

  it('draws the overlay text in its corner and leaves the rest of the picture as it was', async () => {
    const [input] = ffmpegFrames({ width: 640, height: 480, count: 1, pattern: 'smptebars' }).frames;
    const overlay: OverlaySettings = { template: '{id} {date} {time}', cameraId: 'porch', position: 'top-left' };
    const r = rig({ width: 640, height: 480 }, { applies: APPLIES_ALL, overlay });
    r.processor.offer(frame(input!, Date.UTC(2026, 10, 27, 12, 0, 0) * 1000));
    await r.finish();
    const before = await sharp(input!).greyscale().raw().toBuffer();
    const after = await sharp(r.out[0]!.data).greyscale().raw().toBuffer();
    const differs = (x0: number, y0: number, x1: number, y1: number): number => {
      let changed = 0;
      let total = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++, total++) if (Math.abs(before[y * 640 + x]! - after[y * 640 + x]!) > 40) changed++;
      return changed / total;
    };
    // Font 20 px: the box is 32 px high in the top-left corner.
    assert.ok(differs(0, 0, 300, 32) > 0.3, `overlay box changed ${differs(0, 0, 300, 32)}`);
    assert.ok(differs(0, 100, 640, 480) < 0.01, `rest changed ${differs(0, 100, 640, 480)}`);
    assert.deepEqual(r.processor.steps, ['overlay']);
  });

  it('newest wins: a camera faster than the processing drops frames, keeps order and holds at most two', async () => {
    const input = await quadrants();
    const r = rig({ rotation: 90 });
    const sent = Array.from({ length: 40 }, (_, i) => frame(input, 1_000_000 + i));
    for (const f of sent) r.processor.offer(f);
    await r.finish();
    // One in progress, one waiting: the first and the last offered are processed, the 38 in between dropped.
    assert.deepEqual(r.out.map((f) => f.capturedAtUs), [1_000_000, 1_000_039]);
    assert.equal(r.drops.length, 38);
    assert.ok(r.drops.every((d) => d === 'processing-busy'));
  });

  it('a frame that cannot be decoded is dropped and counted; the next one is processed', async () => {
    const input = await quadrants();
    const r = rig({ rotation: 180 });
    r.processor.offer(frame(input.subarray(0, Math.floor(input.length / 2))));
    await r.settle();
    r.processor.offer(frame(Buffer.from('definitely not a jpeg')));
    await r.settle();
    r.processor.offer(frame(input));
    await r.finish();
    assert.deepEqual(r.drops, ['bad-frame', 'bad-frame']);
    assert.equal(r.out.length, 1);
    assert.deepEqual(await corners(r.out[0]!.data), ['white', 'blue', 'green', 'red']);
    assert.equal(r.lines.filter((l) => l.includes('could not be processed')).length, 1, 'one warning per interval, not one per frame');
  });

  it('stop is idempotent, and nothing comes out after it', async () => {
    const input = await quadrants();
    const r = rig({ rotation: 90 });
    r.processor.offer(frame(input));
    const first = r.processor.stop();
    const second = r.processor.stop();
    await Promise.all([first, second]);
    r.processor.offer(frame(input));
    await r.settle();
    assert.equal(r.out.length, 0, 'the frame in progress at stop is not sent, later ones are ignored');
  });
});
