/**
 * Test clips for motion detection, made here with sharp (no camera, no downloaded video): a still scene with
 * texture, and per clip a moving object, sensor noise or a light change. Each frame is a real JPEG (quality
 * 80, as cameras send) and comes with the truth: whether something moves in it, and where.
 * Used by `npm run bench:motion` and by the motion tests (the stand-in camera replays them as files).
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Zone } from '../protocol/motion.js';

export interface ClipSpec {
  name: string;
  width: number;
  height: number;
  fps: number;
  frames: number;
  /** A rectangle moving left to right (and back) from frame `from` to frame `to` (exclusive). */
  object?: { size: [number, number]; speedPxPerS: number; from: number; to: number; region?: Zone };
  /** Sensor noise: each pixel gets a random offset of up to ± this, every frame. */
  noise?: number;
  /** Brightness factor per frame (1: unchanged). */
  light?: (frame: number) => number;
  /** Mask to use with this clip (the motion inside it must be ignored). */
  mask?: Zone[];
  /** What a detector should say: the frame numbers where an event should be on (half-open intervals). */
  description: string;
}

export interface Clip {
  spec: ClipSpec;
  frames: Buffer[];
  /** Truth per frame: something moves (outside any mask). */
  moving: boolean[];
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** The still scene: a gradient wall with a few boxes of other shades (RGB, 3 bytes a pixel). */
function scene(width: number, height: number): Float32Array {
  const out = new Float32Array(width * height * 3);
  const random = rng(7);
  const boxes = Array.from({ length: 12 }, () => ({ x: random() * width, y: random() * height, w: (0.05 + random() * 0.2) * width, h: (0.05 + random() * 0.2) * height, c: [40 + random() * 160, 40 + random() * 160, 40 + random() * 160] }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 90 + (60 * x) / width, g = 100 + (40 * y) / height, b = 110;
      for (const box of boxes) {
        if (x >= box.x && x < box.x + box.w && y >= box.y && y < box.y + box.h) [r, g, b] = box.c as [number, number, number];
      }
      const i = (y * width + x) * 3;
      out[i] = r; out[i + 1] = g; out[i + 2] = b;
    }
  }
  return out;
}

/** Where the object is in frame i (pixels), bouncing inside its region. */
function objectAt(spec: ClipSpec, i: number): { x: number; y: number } {
  const o = spec.object!;
  const region = o.region ?? { x: 0, y: 0, w: 1, h: 1 };
  const rx = region.x * spec.width, ry = region.y * spec.height;
  const span = Math.max(1, region.w * spec.width - o.size[0]);
  const travelled = ((i - o.from) / spec.fps) * o.speedPxPerS;
  const phase = travelled % (2 * span);
  const x = rx + (phase < span ? phase : 2 * span - phase);
  const y = ry + (region.h * spec.height - o.size[1]) / 2;
  return { x: Math.round(x), y: Math.round(y) };
}

export async function makeClip(spec: ClipSpec): Promise<Clip> {
  const { width, height } = spec;
  const base = scene(width, height);
  const random = rng(99);
  // Noise from a table read at a random place each frame: random() per pixel would make clips slow to build.
  const table = Float32Array.from({ length: 65_537 }, () => random() * 2 - 1);
  const frames: Buffer[] = [];
  const moving: boolean[] = [];
  const raw = Buffer.alloc(width * height * 3);
  for (let f = 0; f < spec.frames; f++) {
    const light = spec.light?.(f) ?? 1;
    const noise = spec.noise ?? 0;
    let t = Math.floor(random() * 65_536);
    for (let p = 0; p < raw.length; p++) {
      t = t === 65_536 ? 0 : t + 1;
      raw[p] = Math.max(0, Math.min(255, Math.round(base[p]! * light + table[t]! * noise)));
    }
    const o = spec.object;
    const present = o !== undefined && f >= o.from && f < o.to;
    if (present) {
      const at = objectAt(spec, f);
      for (let y = at.y; y < Math.min(height, at.y + o.size[1]); y++) {
        for (let x = at.x; x < Math.min(width, at.x + o.size[0]); x++) {
          const i = (y * width + x) * 3;
          // A light figure with stripes of its own (clothes), brighter than most of the wall.
          const shade = ((y - at.y) >> 3) % 2 === 0 ? 235 : 200;
          raw[i] = Math.min(255, shade * light); raw[i + 1] = Math.min(255, (shade - 10) * light); raw[i + 2] = Math.min(255, (shade - 30) * light);
        }
      }
    }
    // Motion inside the clip's mask is not motion the detector should report.
    moving.push(present && spec.mask === undefined);
    frames.push(await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 80 }).toBuffer());
  }
  return { spec, frames, moving };
}

/** The clips the bench and the tests use, at a given size (640x480 by default) and 10 fps. */
export function clipSpecs(width = 640, height = 480): ClipSpec[] {
  const fps = 10;
  const s = width / 640;
  const px = (n: number): number => Math.round(n * s);
  const moving = (name: string, size: [number, number], speed: number, description: string): ClipSpec => ({
    name, width, height, fps, frames: 90, object: { size: [px(size[0]), px(size[1])], speedPxPerS: px(speed), from: 20, to: 50 }, noise: 3, description,
  });
  return [
    moving('small-slow', [40, 48], 60, 'a 40x48 object (0.6 % of the picture) walking slowly for 3 s'),
    moving('small-fast', [40, 48], 400, 'the same object crossing fast'),
    moving('medium', [96, 128], 150, 'a 96x128 object (4 %) for 3 s'),
    moving('large-fast', [240, 240], 500, 'a 240x240 object (19 %) crossing fast'),
    { name: 'noise', width, height, fps, frames: 90, noise: 14, description: 'a still scene with strong sensor noise (± 14 levels a pixel)' },
    { name: 'light-slow', width, height, fps, frames: 90, noise: 3, light: (f) => 1 - 0.5 * Math.min(1, f / 80), description: 'light fading to half over 8 s (a cloud, dusk)' },
    { name: 'light-sudden', width, height, fps, frames: 90, noise: 3, light: (f) => (f < 30 ? 1 : 1.35), description: 'brightness jumping by 35 % at once (auto-exposure)' },
    {
      name: 'masked', width, height, fps, frames: 90, noise: 3, mask: [{ x: 0.6, y: 0, w: 0.4, h: 1 }],
      object: { size: [px(96), px(128)], speedPxPerS: px(150), from: 20, to: 50, region: { x: 0.6, y: 0, w: 0.4, h: 1 } },
      description: 'a 96x128 object moving only inside the masked right 40 % of the picture',
    },
  ];
}

/** Writes a clip's frames as numbered JPEG files for the file: source (the stand-in camera). */
export function writeClip(clip: Clip, dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return clip.frames.map((data, i) => {
    const file = path.join(dir, `${clip.spec.name}-${String(i).padStart(4, '0')}.jpg`);
    fs.writeFileSync(file, data);
    return file;
  });
}
