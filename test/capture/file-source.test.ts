import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { FileSource } from '../../agent/capture/file-source.js';
import { frameSourceContract, RecordingSink } from './frame-source-contract.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { waitFor } from '../helpers/processes.js';

// The file replay (`--source file:DIR`): the FrameSource contract, name order with bytes untouched, and where
// the bytes come from: a small replay from memory after its first pass, a large one from disk every time.

let dir: string;
const names = ['a.jpg', 'b.jpg', 'c.jpg'];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-file-source-'));
  for (const [i, name] of names.entries()) {
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 80 * i, g: 40, b: 200 - 60 * i } } }).jpeg().toBuffer();
    fs.writeFileSync(path.join(dir, name), jpeg);
  }
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

frameSourceContract('file', () => new FileSource({ pattern: dir, fps: 30, loop: true }, memoryLogger().logger));

/** A copy of the three test files in a folder of its own, so a test may delete them. */
function copyOfFiles(): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-file-source-copy-'));
  for (const name of names) fs.copyFileSync(path.join(dir, name), path.join(copy, name));
  return copy;
}

test('a small replay plays its files in name order, bytes untouched, and from memory once each was read', async () => {
  const copy = copyOfFiles();
  const { logger, lines } = memoryLogger();
  const source = new FileSource({ pattern: copy, fps: 30, loop: true }, logger);
  const sink = new RecordingSink();
  try {
    await source.start(sink);
    await sink.waitForFrames(3, 10_000);
    const originals = names.map((name) => fs.readFileSync(path.join(copy, name)));
    // Every file has been read once: the disk is no longer needed.
    fs.rmSync(copy, { recursive: true, force: true });
    await sink.waitForFrames(9, 10_000);
    await source.stop();
    for (const [i, frame] of sink.frames.entries()) assert.ok(frame.data.equals(originals[i % 3]!), `frame ${i} is ${names[i % 3]} as it was on disk`);
    assert.deepEqual(lines.filter((l) => l.includes('cannot read frame file')), []);
  } finally {
    await source.stop();
    fs.rmSync(copy, { recursive: true, force: true });
  }
});

test('a replay larger than its memory bound is read from disk as it plays', async () => {
  const copy = copyOfFiles();
  const { logger, lines } = memoryLogger();
  const source = new FileSource({ pattern: copy, fps: 30, loop: true, memoryBytes: 1 }, logger);
  const sink = new RecordingSink();
  try {
    await source.start(sink);
    await sink.waitForFrames(3, 10_000);
    fs.rmSync(path.join(copy, 'b.jpg'));
    const seen = sink.frames.length;
    // Read again on the next pass: b.jpg is missing now, so it is reported and skipped; a and c still play.
    await waitFor(() => lines.some((l) => l.includes('cannot read frame file') && l.includes('b.jpg')), 10_000, 'b.jpg read again, from disk');
    await sink.waitForFrames(seen + 2, 10_000);
  } finally {
    await source.stop();
    fs.rmSync(copy, { recursive: true, force: true });
  }
});
