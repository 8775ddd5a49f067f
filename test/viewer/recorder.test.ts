import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { silentLogger } from '../../common/logger.js';
import type { CompleteFrame } from '../../protocol/reassembler.js';
import type { CameraState } from '../../viewer/camera-registry.js';
import { RateMeter } from '../../viewer/rate-meter.js';
import { Recorder, RecordingError } from '../../viewer/recorder.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { waitFor } from '../helpers/processes.js';

// The recorder on real files: rotation, the index, what ffprobe makes of the files, and the two failures
// a desktop meets (a folder that cannot be written, a disk that fills up).

let jpegs: { dir: string; frames: Buffer[] };
const temps: string[] = [];
const camera: CameraState = { key: 'picam/yard', cameraId: 'yard', meter: new RateMeter(), proven: true, seenAtMs: 0 };

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-rec-'));
  temps.push(dir);
  return dir;
}

function frame(seq: number): CompleteFrame {
  return { source: camera.key, streamId: 7, seq, capturedAtUs: 1_764_000_000_000_000 + seq * 100_000, data: jpegs.frames[seq % jpegs.frames.length]!, gap: 0 };
}

interface IndexRow { frame: number; seq: number; offset: number; length: number; capturedAtUtc: string }
function readIndex(csv: string): IndexRow[] {
  const [header, ...lines] = fs.readFileSync(csv, 'utf8').trim().split('\n');
  assert.equal(header, 'frame,seq,captured_at_utc,captured_at_us,received_at_ms,offset,length');
  return lines.map((line) => {
    const f = line.split(',');
    return { frame: Number(f[0]), seq: Number(f[1]), capturedAtUtc: f[2]!, offset: Number(f[5]), length: Number(f[6]) };
  });
}

function ffprobeFrames(file: string): number {
  const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `ffprobe ${file}: ${probe.stderr}`);
  const [codec, count] = probe.stdout.trim().split(',');
  assert.equal(codec, 'mjpeg');
  return Number(count);
}

before(async () => { jpegs = await makeJpegFolder(5, 160, 120); });
after(() => { for (const d of [...temps, jpegs.dir]) fs.rmSync(d, { recursive: true, force: true }); });

test('frames go into MJPEG files rotated by size; each file decodes in ffprobe and its index matches byte for byte', async () => {
  const dir = tempDir();
  const largest = Math.max(...jpegs.frames.map((f) => f.length));
  const recorder = new Recorder({ maxSegmentBytes: largest * 4, maxSegmentMs: 3_600_000 }, silentLogger);
  await recorder.start(dir);
  for (let seq = 0; seq < 20; seq++) {
    recorder.write(camera, frame(seq), Date.now());
    await waitFor(() => (recorder.state().framesWritten > seq ? true : undefined), 5000, `frame ${seq} written`);
  }
  await recorder.stop();
  await recorder.stop(); // idempotent
  const state = recorder.state();
  assert.equal(state.active, false);
  assert.equal(state.framesWritten, 20);
  assert.equal(state.lastError, undefined);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.mjpeg')).sort();
  assert.ok(files.length >= 5, `rotated into ${files.length} files`);
  assert.equal(state.filesClosed, files.length);
  let seqSeen = 0;
  for (const file of files) {
    assert.match(file, /^yard_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z(-\d+)?\.mjpeg$/);
    const data = fs.readFileSync(path.join(dir, file));
    assert.ok(data.length <= largest * 4, `${file} is ${data.length} bytes, over the limit`);
    const rows = readIndex(path.join(dir, file.replace(/\.mjpeg$/, '.csv')));
    assert.equal(ffprobeFrames(path.join(dir, file)), rows.length, `${file}: ffprobe frame count = index rows`);
    let offset = 0;
    rows.forEach((row, i) => {
      assert.equal(row.frame, i);
      assert.equal(row.seq, seqSeen);
      assert.equal(row.offset, offset);
      assert.equal(row.capturedAtUtc, new Date(frame(row.seq).capturedAtUs / 1000).toISOString());
      assert.ok(data.subarray(row.offset, row.offset + row.length).equals(frame(row.seq).data), `${file} frame ${i} is byte-identical`);
      offset += row.length;
      seqSeen++;
    });
    assert.equal(offset, data.length, 'the index covers the file exactly');
  }
  assert.equal(seqSeen, 20, 'every frame recorded once, in order');
});

test('files are also rotated by time', async () => {
  const dir = tempDir();
  let now = 1_000_000;
  const recorder = new Recorder({ maxSegmentBytes: 1 << 30, maxSegmentMs: 1000, now: () => now }, silentLogger);
  await recorder.start(dir);
  for (let seq = 0; seq < 9; seq++) {
    recorder.write(camera, frame(seq), now);
    await waitFor(() => (recorder.state().framesWritten > seq ? true : undefined), 5000, `frame ${seq} written`);
    now += 400; // frames at 0, 400, 800 | 1200, 1600, 2000 | 2400 ...: a new file every 1000 ms
  }
  await recorder.stop();
  const rows = fs.readdirSync(dir).filter((f) => f.endsWith('.csv')).sort().map((f) => readIndex(path.join(dir, f)).length);
  assert.deepEqual(rows, [3, 3, 3]);
});

test('a folder that cannot be created is a RecordingError naming the reason; nothing is thrown later', async () => {
  const file = path.join(tempDir(), 'a-file');
  fs.writeFileSync(file, 'x');
  const recorder = new Recorder({ maxSegmentBytes: 1 << 20, maxSegmentMs: 60_000 }, silentLogger);
  await assert.rejects(recorder.start(path.join(file, 'recordings')), (error: unknown) => {
    assert.ok(error instanceof RecordingError);
    assert.match(error.message, /^cannot record into .*a-file.recordings: a part of the path is a file, not a folder \(ENOTDIR\)$/);
    return true;
  });
  assert.equal(recorder.active, false);
  assert.match(recorder.state().lastError ?? '', /ENOTDIR/);
  recorder.write(camera, frame(0), Date.now()); // ignored, not recording
  await recorder.stop();
});

test('a disk that fills up stops the recording with "disk is full", and the index never points past the data', async (t) => {
  const mountPoint = tempDir();
  // A 64 KiB tmpfs is a real full disk; mounting needs root (CI runs as root), so skip rather than fake it.
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint], { encoding: 'utf8' });
  if (mount.status !== 0) { t.skip(`cannot mount a small tmpfs here: ${mount.stderr.trim()}`); return; }
  t.after(() => { spawnSync('umount', [mountPoint]); });
  const recorder = new Recorder({ maxSegmentBytes: 1 << 30, maxSegmentMs: 3_600_000 }, silentLogger);
  await recorder.start(mountPoint);
  for (let seq = 0; seq < 200 && recorder.active; seq++) {
    recorder.write(camera, frame(seq), Date.now());
    await waitFor(() => (recorder.state().framesWritten > seq || !recorder.active ? true : undefined), 5000, 'frame written or failed');
  }
  await recorder.stop();
  const state = recorder.state();
  assert.equal(state.active, false, 'recording stopped by itself');
  assert.match(state.lastError ?? '', /^recording stopped: the disk is full \(ENOSPC\) writing .*yard_.*\.mjpeg$/);
  const csv = fs.readdirSync(mountPoint).find((f) => f.endsWith('.csv'))!;
  const rows = readIndex(path.join(mountPoint, csv));
  const data = fs.readFileSync(path.join(mountPoint, csv.replace(/\.csv$/, '.mjpeg')));
  assert.equal(rows.length, state.framesWritten);
  const last = rows.at(-1)!;
  assert.ok(last.offset + last.length <= data.length, 'the index lists whole frames only');
  console.log(`# disk full after ${state.framesWritten} frames (${data.length} bytes on a 64 KiB tmpfs): ${state.lastError}`);
});
