/**
 * Splitter throughput: MB/s cutting a 1080p MJPEG stream fed in 64 KiB chunks (the size of a pipe read), against
 * the naive approach (append chunks, split at every FF D9) in the same run, and against a bare indexOf(FF D9)
 * scan of each chunk (no frame assembly at all: a ceiling, not a splitter). The naive splitter is only correct
 * without EXIF thumbnails; frame counts are printed next to the expected ones.
 *
 * Usage: npm run bench:splitter [-- SECONDS]
 */
import { MjpegSplitter } from '../agent/capture/mjpeg-splitter.js';
import { ffmpegFrames, withExif } from '../harness/jpeg-tools.js';

const seconds = Number(process.argv[2] ?? 2);
const CHUNK = 64 * 1024;
const EOI = Buffer.from([0xff, 0xd9]);

function chunksOf(stream: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += CHUNK) chunks.push(stream.subarray(at, at + CHUNK));
  return chunks;
}

/** The common snippet: concatenate, cut at each FF D9. */
class NaiveSplitter {
  private buffer: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (frame: Buffer) => void) {}
  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let end: number;
    while ((end = this.buffer.indexOf(EOI)) >= 0) {
      this.onFrame(this.buffer.subarray(0, end + 2));
      this.buffer = this.buffer.subarray(end + 2);
    }
  }
}

interface Case {
  label: string;
  name: string;
  make: (onFrame: (f: Buffer) => void) => { push(c: Buffer): void };
  chunks: Buffer[];
  bytes: number;
  expected: number;
  results: number[];
  framesPerPass: number;
}

/** One timed run of `seconds / rounds` seconds; the splitter instance is fresh and warmed up by one pass. */
/** Upper bound: only searching each chunk for FF D9, no frame assembly, wrong at chunk borders and thumbnails. */
class ScanOnly {
  constructor(private readonly onFrame: (frame: Buffer) => void) {}
  push(chunk: Buffer): void {
    for (let end = chunk.indexOf(EOI); end >= 0; end = chunk.indexOf(EOI, end + 2)) this.onFrame(chunk);
  }
}

function runOnce(c: Case, budget: number): void {
  let frames = 0;
  let passes = 0;
  const splitter = c.make(() => frames++);
  for (const chunk of c.chunks) splitter.push(chunk);
  frames = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < budget) {
    for (const chunk of c.chunks) splitter.push(chunk);
    passes++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  c.results.push((passes * c.bytes) / 1e6 / elapsed);
  c.framesPerPass = frames / passes;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const set = ffmpegFrames({ width: 1920, height: 1080, count: 30, qscale: 4, thumbnail: { width: 64, height: 48, qscale: 20 } });
const plain = set.frames;
const exif = set.frames.map((f, i) => withExif(f, set.thumbnails[i]));
const avg = (frames: Buffer[]): number => frames.reduce((n, f) => n + f.length, 0) / frames.length;
const rounds = 5;
console.log(`node ${process.version}, ${rounds} interleaved rounds of ${(seconds / rounds).toFixed(2)} s per case, ${CHUNK / 1024} KiB chunks, median MB/s`);
const cases: Case[] = [];
for (const [label, frames] of [['1080p JFIF (rpicam-like)', plain], ['1080p EXIF+thumbnail (raspistill-like)', exif]] as const) {
  const stream = Buffer.concat(frames);
  const chunks = chunksOf(stream);
  console.log(`${label}: ${frames.length} frames, ${(avg(frames) / 1024).toFixed(0)} KiB average, ${(stream.length / 1e6).toFixed(1)} MB per pass`);
  cases.push({ label, name: 'MjpegSplitter', make: (onFrame) => new MjpegSplitter({ onFrame }), chunks, bytes: stream.length, expected: frames.length, results: [], framesPerPass: 0 });
  cases.push({ label, name: 'naive concat + indexOf(FF D9)', make: (onFrame) => new NaiveSplitter(onFrame), chunks, bytes: stream.length, expected: frames.length, results: [], framesPerPass: 0 });
  cases.push({ label, name: 'indexOf(FF D9) scan only', make: (onFrame) => new ScanOnly(onFrame), chunks, bytes: stream.length, expected: frames.length, results: [], framesPerPass: 0 });
}
for (let round = 0; round < rounds; round++) for (const c of cases) runOnce(c, seconds / rounds);
for (const c of cases) {
  console.log(`${c.label.padEnd(40)} ${c.name.padEnd(30)} ${median(c.results).toFixed(0).padStart(6)} MB/s  (range ${Math.min(...c.results).toFixed(0)}-${Math.max(...c.results).toFixed(0)})  ${c.framesPerPass} frames/pass, expected ${c.expected}`);
}
