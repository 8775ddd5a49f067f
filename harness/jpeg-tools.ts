import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Real JPEG data for tests and camera stand-ins, made by ffmpeg from its lavfi test sources, cached on disk by
 * parameters (generation of 1080p frames takes a moment; a cache hit is a directory listing).
 */

export interface FrameSetSpec {
  width: number;
  height: number;
  /** Number of distinct frames (a moving test pattern). */
  count: number;
  /** ffmpeg -q:v (2 best .. 31 worst). */
  qscale?: number;
  /** lavfi source name. */
  pattern?: 'testsrc2' | 'testsrc' | 'smptebars' | 'mandelbrot';
  /** Extra encoder arguments, e.g. ['-slices', '4'] (adds DRI and RST markers). */
  encoderArgs?: string[];
  /** Also make thumbnails of this size (for EXIF), returned in `thumbnails`. */
  thumbnail?: { width: number; height: number; qscale: number };
}

export interface FrameSet {
  frames: Buffer[];
  thumbnails: Buffer[];
}

const CACHE_ROOT = path.join(os.tmpdir(), 'picam-test-frames');

function cacheKey(spec: FrameSetSpec): string {
  const t = spec.thumbnail;
  return [
    `${spec.width}x${spec.height}`,
    `n${spec.count}`,
    `q${spec.qscale ?? 5}`,
    spec.pattern ?? 'testsrc2',
    (spec.encoderArgs ?? []).join('_').replace(/[^A-Za-z0-9_-]/g, ''),
    t ? `t${t.width}x${t.height}q${t.qscale}` : 'nothumb',
  ].join('-');
}

function readSorted(dir: string, prefix: string): Buffer[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name.startsWith(prefix) && name.endsWith('.jpg'))
    .sort()
    .map((name) => fs.readFileSync(path.join(dir, name)));
}

/** Makes (or reads from cache) `count` JPEG frames with ffmpeg. Synchronous: stand-ins call it before streaming. */
export function ffmpegFrames(spec: FrameSetSpec): FrameSet {
  const dir = path.join(CACHE_ROOT, cacheKey(spec));
  if (!fs.existsSync(path.join(dir, 'done'))) {
    fs.mkdirSync(CACHE_ROOT, { recursive: true });
    const work = fs.mkdtempSync(path.join(CACHE_ROOT, 'work-'));
    const source = `${spec.pattern ?? 'testsrc2'}=size=${spec.width}x${spec.height}:rate=25`;
    const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-f', 'lavfi', '-i', source,
      '-map', '0:v', '-frames:v', String(spec.count), '-pix_fmt', 'yuvj420p', '-c:v', 'mjpeg',
      '-q:v', String(spec.qscale ?? 5), ...(spec.encoderArgs ?? []), path.join(work, 'f%04d.jpg')];
    if (spec.thumbnail) {
      const t = spec.thumbnail;
      args.push('-map', '0:v', '-frames:v', String(spec.count), '-vf', `scale=${t.width}:${t.height}`,
        '-pix_fmt', 'yuvj420p', '-c:v', 'mjpeg', '-q:v', String(t.qscale), path.join(work, 't%04d.jpg'));
    }
    execFileSync('ffmpeg', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    fs.writeFileSync(path.join(work, 'done'), '');
    try {
      fs.renameSync(work, dir);
    } catch {
      // Another process made the same set at the same time; use theirs.
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
  return { frames: readSorted(dir, 'f'), thumbnails: readSorted(dir, 't') };
}

/** Splits a JPEG into its segments up to SOS; returns [offset, marker code, total segment length] triples. */
export function headerSegments(jpeg: Buffer): Array<{ offset: number; code: number; length: number }> {
  const out: Array<{ offset: number; code: number; length: number }> = [];
  let pos = 2;
  while (pos + 4 <= jpeg.length && jpeg[pos] === 0xff) {
    const code = jpeg[pos + 1]!;
    const length = 2 + jpeg.readUInt16BE(pos + 2);
    out.push({ offset: pos, code, length });
    if (code === 0xda) break;
    pos += length;
  }
  return out;
}

/** Removes APP0 (JFIF) and COM segments from a JPEG's header. */
export function stripJfifAndComments(jpeg: Buffer): Buffer {
  const keep: Buffer[] = [jpeg.subarray(0, 2)];
  const segments = headerSegments(jpeg);
  for (const s of segments) {
    if (s.code === 0xe0 || s.code === 0xfe) continue;
    if (s.code === 0xda) {
      keep.push(jpeg.subarray(s.offset));
      break;
    }
    keep.push(jpeg.subarray(s.offset, s.offset + s.length));
  }
  return Buffer.concat(keep);
}

/**
 * Builds an APP1 EXIF segment (little-endian TIFF) with IFD0 Make/Model and, when given, an IFD1 that carries a
 * JPEG thumbnail (JPEGInterchangeFormat/Length), the way camera firmware embeds one.
 */
export function exifSegment(make: string, model: string, thumbnail?: Buffer): Buffer {
  const ascii = (s: string): Buffer => Buffer.from(s + '\0', 'latin1');
  const makeBytes = ascii(make);
  const modelBytes = ascii(model);
  // Layout inside TIFF: header(8) | IFD0 (2 + 2*12 + 4) | make | model | IFD1 (2 + 3*12 + 4) | thumbnail
  const ifd0Offset = 8;
  const ifd0Size = 2 + 2 * 12 + 4;
  const makeOffset = ifd0Offset + ifd0Size;
  const modelOffset = makeOffset + makeBytes.length;
  const ifd1Offset = modelOffset + modelBytes.length;
  const ifd1Size = thumbnail ? 2 + 3 * 12 + 4 : 0;
  const thumbOffset = ifd1Offset + ifd1Size;
  const tiff = Buffer.alloc(thumbOffset + (thumbnail?.length ?? 0));
  tiff.write('II', 0, 'latin1');
  tiff.writeUInt16LE(42, 2);
  tiff.writeUInt32LE(ifd0Offset, 4);
  const entry = (at: number, tag: number, type: number, count: number, value: number): void => {
    tiff.writeUInt16LE(tag, at);
    tiff.writeUInt16LE(type, at + 2);
    tiff.writeUInt32LE(count, at + 4);
    tiff.writeUInt32LE(value, at + 8);
  };
  tiff.writeUInt16LE(2, ifd0Offset);
  entry(ifd0Offset + 2, 0x010f, 2, makeBytes.length, makeOffset);
  entry(ifd0Offset + 14, 0x0110, 2, modelBytes.length, modelOffset);
  tiff.writeUInt32LE(thumbnail ? ifd1Offset : 0, ifd0Offset + 2 + 2 * 12);
  makeBytes.copy(tiff, makeOffset);
  modelBytes.copy(tiff, modelOffset);
  if (thumbnail) {
    tiff.writeUInt16LE(3, ifd1Offset);
    entry(ifd1Offset + 2, 0x0103, 3, 1, 6); // Compression = JPEG (SHORT, value left-justified)
    entry(ifd1Offset + 14, 0x0201, 4, 1, thumbOffset); // JPEGInterchangeFormat
    entry(ifd1Offset + 26, 0x0202, 4, 1, thumbnail.length); // JPEGInterchangeFormatLength
    tiff.writeUInt32LE(0, ifd1Offset + 2 + 3 * 12);
    thumbnail.copy(tiff, thumbOffset);
  }
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  if (payload.length + 2 > 0xffff) throw new Error(`EXIF too large (${payload.length} bytes)`);
  const header = Buffer.from([0xff, 0xe1, 0, 0]);
  header.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([header, payload]);
}

/** A JPEG as a camera with EXIF writes it: SOI, APP1 EXIF (optionally with a thumbnail), then the image. */
export function withExif(jpeg: Buffer, thumbnail?: Buffer, make = 'RaspberryPi', model = 'RP_ov5647'): Buffer {
  const stripped = stripJfifAndComments(jpeg);
  return Buffer.concat([stripped.subarray(0, 2), exifSegment(make, model, thumbnail), stripped.subarray(2)]);
}

/** True when the buffer starts with SOI and ends with EOI. */
export function isWholeJpeg(data: Buffer): boolean {
  return data.length >= 4 && data[0] === 0xff && data[1] === 0xd8 && data[data.length - 2] === 0xff && data[data.length - 1] === 0xd9;
}
