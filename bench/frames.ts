import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

/**
 * The benchmark's frames: camera-like JPEGs (sky, buildings, textured ground, a moving ball, sensor noise)
 * generated once into bench/cache/ and reused, so every contender and every run sends identical bytes.
 * The noise level is what makes the sizes realistic: at quality 80 about 58 KB / 163 KB / 369 KB.
 */

export interface Resolution {
  name: string;
  width: number;
  height: number;
}

export const RESOLUTIONS: readonly Resolution[] = [
  { name: '480p', width: 640, height: 480 },
  { name: '720p', width: 1280, height: 720 },
  { name: '1080p', width: 1920, height: 1080 },
];

export const FRAMES_PER_RESOLUTION = 16;
export const FRAME_QUALITY = 80;
/** Bump when the generator changes, so stale caches are rebuilt. */
const GENERATOR_VERSION = 1;
const NOISE_SIGMA = 7.5;
const TEXTURE = 20;

export function resolutionByName(name: string): Resolution {
  const found = RESOLUTIONS.find((r) => r.name === name);
  if (!found) throw new Error(`unknown resolution ${name}; use one of ${RESOLUTIONS.map((r) => r.name).join(', ')}`);
  return found;
}

/** xorshift32: deterministic, so a cache rebuilt on another machine holds the same pictures. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

/** One frame of raw interleaved RGB (3 bytes per pixel), as a camera would hand it over before encoding. */
export function renderRawFrame(width: number, height: number, index: number): Buffer {
  const rand = random(1234 + index * 7919 + width);
  const gauss = new Float32Array(4096);
  for (let i = 0; i < gauss.length; i += 2) {
    const u = Math.max(rand(), 1e-9);
    const v = rand();
    const m = Math.sqrt(-2 * Math.log(u));
    gauss[i] = m * Math.cos(2 * Math.PI * v);
    gauss[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  const out = Buffer.allocUnsafe(width * height * 3);
  const horizon = height * 0.45;
  const t = index / 30;
  const ballX = (0.2 + 0.6 * ((Math.sin(t * 4) + 1) / 2)) * width;
  const ballY = height * 0.6;
  const ballR = height * 0.12;
  const buildingW = width / 10;
  let p = 0;
  let g = Math.floor(rand() * 4096);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r: number, gr: number, b: number;
      if (y < horizon) {
        const k = y / horizon;
        r = 110 + 60 * k; gr = 150 + 50 * k; b = 220 - 20 * k;
        const col = Math.floor(x / buildingW);
        const top = horizon * (0.3 + 0.5 * (((col * 37) % 11) / 11));
        if (y > horizon - top && col % 3 !== 1) {
          const window = (Math.floor(x / (width / 80)) + Math.floor(y / (height / 45))) % 2 ? 25 : -25;
          r = 120 + window + col * 5; gr = 115 + window; b = 110 + window - col * 3;
        }
      } else {
        const k = (y - horizon) / (height - horizon);
        const tex = TEXTURE * Math.sin(x * 0.31 + y * 0.17) * Math.sin(x * 0.053 - y * 0.11);
        r = 70 + 40 * k + tex; gr = 110 + 30 * k + tex; b = 50 + 20 * k + tex * 0.5;
      }
      const dx = x - ballX;
      const dy = y - ballY;
      if (dx * dx + dy * dy < ballR * ballR) { r = 200; gr = 60; b = 50; }
      const n = NOISE_SIGMA * gauss[g]!;
      g = (g + 1 + (x & 7)) & 4095;
      out[p++] = clamp(r + n);
      out[p++] = clamp(gr + n * 0.9 + NOISE_SIGMA * 0.3 * gauss[(g + 17) & 4095]!);
      out[p++] = clamp(b + n * 1.1);
    }
  }
  return out;
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

interface Manifest {
  generator: number;
  quality: number;
  frames: Record<string, string[]>;
}

export function defaultCacheDir(): string {
  // dist/bench/frames.js → <repo>/bench/cache
  return path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bench', 'cache');
}

/**
 * Makes sure the cache holds every frame; generates what is missing. Returns the folder of each resolution.
 * `log` hears about generation only (a warm cache is silent).
 */
export async function ensureFrameCache(cacheDir: string, log: (line: string) => void): Promise<Record<string, string>> {
  const manifestFile = path.join(cacheDir, 'manifest.json');
  let manifest: Manifest | undefined;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
  } catch {
    manifest = undefined;
  }
  const fresh = manifest?.generator === GENERATOR_VERSION && manifest.quality === FRAME_QUALITY &&
    RESOLUTIONS.every((r) => manifest!.frames[r.name]?.length === FRAMES_PER_RESOLUTION &&
      manifest!.frames[r.name]!.every((f) => fs.existsSync(path.join(cacheDir, r.name, f))));
  const dirs = Object.fromEntries(RESOLUTIONS.map((r) => [r.name, path.join(cacheDir, r.name)]));
  if (fresh) return dirs;

  const started = performance.now();
  log(`generating ${FRAMES_PER_RESOLUTION} frames per resolution into ${cacheDir} (once)`);
  const frames: Record<string, string[]> = {};
  for (const r of RESOLUTIONS) {
    const dir = dirs[r.name]!;
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    frames[r.name] = [];
    for (let i = 0; i < FRAMES_PER_RESOLUTION; i++) {
      const raw = renderRawFrame(r.width, r.height, i);
      const jpeg = await sharp(raw, { raw: { width: r.width, height: r.height, channels: 3 } }).jpeg({ quality: FRAME_QUALITY }).toBuffer();
      const name = `frame-${String(i).padStart(3, '0')}.jpg`;
      fs.writeFileSync(path.join(dir, name), jpeg);
      frames[r.name]!.push(name);
    }
  }
  fs.writeFileSync(manifestFile, JSON.stringify({ generator: GENERATOR_VERSION, quality: FRAME_QUALITY, frames } satisfies Manifest, null, 2) + '\n');
  log(`frames generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return dirs;
}

/** The frames of one resolution in memory, and a way to tell which of them a received buffer is. */
export class FrameSet {
  readonly frames: Buffer[];
  private readonly byLength = new Map<number, number[]>();

  constructor(frames: Buffer[]) {
    if (frames.length === 0) throw new Error('a frame set needs at least one frame');
    this.frames = frames;
    frames.forEach((frame, index) => {
      const list = this.byLength.get(frame.length) ?? [];
      list.push(index);
      this.byLength.set(frame.length, list);
    });
  }

  static load(dir: string): FrameSet {
    const names = fs.readdirSync(dir).filter((n) => n.endsWith('.jpg')).sort();
    return new FrameSet(names.map((n) => fs.readFileSync(path.join(dir, n))));
  }

  get meanBytes(): number {
    return this.frames.reduce((total, f) => total + f.length, 0) / this.frames.length;
  }

  /** Index of the frame whose bytes equal `data` exactly, or -1: this is the benchmark's "verified". */
  identify(data: Uint8Array): number {
    const candidates = this.byLength.get(data.length);
    if (!candidates) return -1;
    for (const index of candidates) if (this.frames[index]!.equals(data)) return index;
    return -1;
  }
}
