/**
 * Runs inside the emulated Node and imports only from the release folder it is given, so what it times is the
 * release's own code and native binaries on the emulated CPU:
 * - agentFrameMs: one frame of the agent's synthetic source (SVG drawn and JPEG-encoded by sharp), timed
 *   through the public FrameSource API (start() renders the first frame before it resolves);
 * - jpegEncodeMs: sharp encoding a raw RGB picture to JPEG, the cost a raw-capture path would add per frame.
 * Usage: node encode-probe.js RELEASE_DIR WIDTH HEIGHT QUALITY FRAMES. Prints one JSON line.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../../common/logger.js';
import type { SyntheticSource } from '../../agent/capture/synthetic-source.js';

export interface EncodeProbeResult {
  node: string;
  arch: string;
  sharp: string;
  vips: string;
  loadMs: number;
  /** Per-frame times after the warm-up frames, in ms. */
  agentFrameMs: number[];
  agentFrameMedianMs: number;
  jpegEncodeMs: number[];
  jpegEncodeMedianMs: number;
  jpegBytes: number;
}

const WARMUP = 2;

async function main(): Promise<void> {
  const [releaseDir, w, h, q, n] = process.argv.slice(2);
  if (!releaseDir) throw new Error('usage: encode-probe RELEASE_DIR WIDTH HEIGHT QUALITY FRAMES');
  const width = Number(w ?? 640);
  const height = Number(h ?? 480);
  const quality = Number(q ?? 80);
  const frames = Number(n ?? 10);
  const started = performance.now();
  const entry = createRequire(path.join(releaseDir, 'package.json')).resolve('sharp');
  const sharp = ((await import(pathToFileURL(entry).href)) as typeof import('sharp')).default;
  const loadMs = performance.now() - started;

  const fromRelease = async <T>(file: string): Promise<T> => (await import(pathToFileURL(path.join(releaseDir, file)).href)) as T;
  const { SyntheticSource: Source } = await fromRelease<{ SyntheticSource: typeof SyntheticSource }>('dist/agent/capture/synthetic-source.js');
  const { silentLogger } = await fromRelease<{ silentLogger: Logger }>('dist/common/logger.js');
  const agentFrameMs: number[] = [];
  for (let i = 0; i < WARMUP + frames; i++) {
    const source = new Source({ width, height, fps: 1, quality, label: 'probe', rotation: 0, hflip: false, vflip: false }, silentLogger);
    const t = performance.now();
    await source.start({ frame: () => {}, fatal: () => {} });
    const ms = performance.now() - t;
    await source.stop();
    if (i >= WARMUP) agentFrameMs.push(ms);
  }

  const raw = Buffer.alloc(width * height * 3);
  const jpegEncodeMs: number[] = [];
  let bytes = 0;
  for (let i = 0; i < WARMUP + frames; i++) {
    paint(raw, width, height, i);
    const t = performance.now();
    const jpeg = await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer();
    if (i >= WARMUP) jpegEncodeMs.push(performance.now() - t);
    bytes = jpeg.length;
  }
  const result: EncodeProbeResult = {
    node: process.version,
    arch: process.arch,
    sharp: sharp.versions.sharp ?? '?',
    vips: sharp.versions.vips,
    loadMs: round(loadMs),
    agentFrameMs: agentFrameMs.map(round),
    agentFrameMedianMs: median(agentFrameMs),
    jpegEncodeMs: jpegEncodeMs.map(round),
    jpegEncodeMedianMs: median(jpegEncodeMs),
    jpegBytes: bytes,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

/** Gradient background with a bar that moves each frame, so no two frames are alike. */
function paint(raw: Buffer, width: number, height: number, frame: number): void {
  const bar = (frame * 37) % width;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const onBar = x >= bar && x < bar + width / 10;
      raw[i] = onBar ? 255 : (x * 255) / width;
      raw[i + 1] = onBar ? 255 : (y * 255) / height;
      raw[i + 2] = onBar ? 0 : ((x + y + frame * 8) & 255);
    }
  }
}

const round = (ms: number): number => Math.round(ms * 10) / 10;
const median = (values: number[]): number => round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN);

main().catch((error: Error) => {
  process.stderr.write(`encode-probe: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
