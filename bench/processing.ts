/**
 * What the agent's processing step costs per frame, side by side with two baselines measured in the same run:
 * an untouched frame (what every camera frame costs when nothing is asked for) and a plain sharp decode and
 * re-encode at the same size (the least any processing can cost). Frames are real ffmpeg JPEGs at camera
 * quality; each case runs the FrameProcessor one frame at a time, as the agent does.
 *
 * Usage: npm run bench:processing [-- FRAMES]
 */
import os from 'node:os';
import sharp from 'sharp';
import { APPLIES_ALL, APPLIES_NONE, type CameraApplies } from '../agent/capture/frame-source.js';
import { FrameProcessor, type OverlaySettings } from '../agent/processing/frame-processor.js';
import type { PictureSettings } from '../agent/processing/processing-plan.js';
import { createLogger } from '../common/logger.js';
import { ffmpegFrames } from '../harness/jpeg-tools.js';

const frameCount = Number(process.argv[2] ?? 60);
const logger = createLogger({ level: 'warn', component: 'bench' });
const OVERLAY: OverlaySettings = { template: '{id} {date} {time}', cameraId: 'bench', position: 'bottom-left' };

interface Case {
  label: string;
  picture: Partial<PictureSettings>;
  applies: CameraApplies;
  exact?: { size: boolean; quality: boolean };
  overlay?: boolean;
}

interface Figure {
  wallMs: number;
  cpuMs: number;
  bytes: number;
}

async function measure(frames: Buffer[], width: number, height: number, c: Case): Promise<Figure> {
  const wanted: PictureSettings = { width, height, quality: 80, rotation: 0, hflip: false, vflip: false, ...c.picture };
  let resolveOut: (() => void) | undefined;
  let bytes = 0;
  const processor = new FrameProcessor({
    request: () => ({ wanted, exact: c.exact ?? { size: false, quality: false }, overlay: c.overlay === true, applies: c.applies }),
    overlay: c.overlay ? OVERLAY : undefined,
    output: (frame) => { bytes += frame.data.length; resolveOut?.(); },
    onDrop: (reason) => { throw new Error(`dropped: ${reason}`); },
    logger,
  });
  const one = (i: number): Promise<void> => new Promise<void>((resolve) => {
    resolveOut = resolve;
    processor.offer({ data: frames[i % frames.length]!, capturedAtUs: Date.now() * 1000 });
  });
  for (let i = 0; i < 5; i++) await one(i); // warm-up
  bytes = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < frameCount; i++) await one(i);
  const wallMs = (performance.now() - start) / frameCount;
  const used = process.cpuUsage(cpu);
  await processor.stop();
  return { wallMs, cpuMs: (used.user + used.system) / 1000 / frameCount, bytes: bytes / frameCount };
}

console.log(`node ${process.version}, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}; ${frameCount} frames per case after 5 warm-up frames, one at a time`);
for (const [width, height] of [[1280, 720], [1920, 1080]] as const) {
  const frames = ffmpegFrames({ width, height, count: 10, qscale: 4 }).frames;
  const cases: Case[] = [
    { label: 'untouched (nothing asked for)', picture: {}, applies: APPLIES_ALL },
    { label: 'baseline: plain re-encode, same size', picture: {}, applies: APPLIES_NONE, exact: { size: false, quality: true } },
    { label: 'overlay "{id} {date} {time}"', picture: {}, applies: APPLIES_ALL, overlay: true },
    { label: 'rotate 90 (rpicam cannot)', picture: { rotation: 90 }, applies: { ...APPLIES_ALL, rotation: false } },
    { label: 'rotate 90 + overlay', picture: { rotation: 90 }, applies: { ...APPLIES_ALL, rotation: false }, overlay: true },
    { label: `resize to ${Math.round(width / 2)}x${Math.round(height / 2)}`, picture: { width: Math.round(width / 2), height: Math.round(height / 2) }, applies: APPLIES_ALL, exact: { size: true, quality: false } },
    { label: 'quality 50 (webcam MJPEG, exact quality)', picture: { quality: 50 }, applies: APPLIES_NONE, exact: { size: false, quality: true } },
  ];
  console.log(`\n${width}x${height} camera frames (${Math.round(frames.reduce((n, f) => n + f.length, 0) / frames.length / 1024)} KiB)`);
  console.log(`${'case'.padEnd(44)} ${'wall ms'.padStart(8)} ${'CPU ms'.padStart(8)} ${'vs re-encode'.padStart(13)} ${'KiB out'.padStart(8)}`);
  let baseline: Figure | undefined;
  for (const c of cases) {
    const figure = await measure(frames, width, height, c);
    if (c.label.startsWith('baseline')) baseline = figure;
    const ratio = baseline ? `${(figure.cpuMs / baseline.cpuMs).toFixed(2)}x` : '–';
    console.log(`${c.label.padEnd(44)} ${figure.wallMs.toFixed(2).padStart(8)} ${figure.cpuMs.toFixed(2).padStart(8)} ${ratio.padStart(13)} ${(figure.bytes / 1024).toFixed(0).padStart(8)}`);
  }
}
