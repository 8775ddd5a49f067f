import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { NoCameraError } from '../../agent/capture/capture-errors.js';
import { DEFAULT_CAMERA_SETTINGS, ffmpegV4l2Plan, type CameraSettings } from '../../agent/capture/camera-settings.js';
import { listV4l2Devices } from '../../agent/capture/v4l2-devices.js';
import { createV4l2Source, parseFfmpegFormatList } from '../../agent/capture/v4l2-source.js';
import { FrameProcessor } from '../../agent/processing/frame-processor.js';
import { readJpegSize } from '../../agent/processing/jpeg-size.js';
import { ffmpegFrames } from '../../harness/jpeg-tools.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { waitFor } from '../helpers/processes.js';
import { frameSourceContract, RecordingSink } from './frame-source-contract.js';

const settings: CameraSettings = { ...DEFAULT_CAMERA_SETTINGS, width: 320, height: 240, fps: 20, quality: 70 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-v4l2-'));
const mjpegFile = path.join(tmp, 'camera.mjpeg');
// What a webcam would deliver in MJPEG mode: a stream of JPEGs, read by ffmpeg in real time.
let cameraFrames: Buffer[] = [];
fs.writeFileSync(mjpegFile, Buffer.alloc(0));
before(() => {
  cameraFrames = ffmpegFrames({ width: 320, height: 240, count: 200, qscale: 6 }).frames;
  fs.writeFileSync(mjpegFile, Buffer.concat(cameraFrames));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const lavfi = (s: CameraSettings): string[] => ['-re', '-f', 'lavfi', '-i', `testsrc2=size=${s.width}x${s.height}:rate=${s.fps}`];
const mjpegInput = (): string[] => ['-re', '-f', 'mjpeg', '-framerate', '20', '-i', mjpegFile];

frameSourceContract('v4l2 (ffmpeg encoding raw frames from lavfi)', () =>
  createV4l2Source(settings, memoryLogger().logger, { input: { kind: 'ffmpeg', args: lavfi(settings) }, mode: { kind: 'encode' } }), { spawnsProcesses: true });

frameSourceContract('v4l2 (ffmpeg MJPEG passthrough)', () =>
  createV4l2Source(settings, memoryLogger().logger, { input: { kind: 'ffmpeg', args: mjpegInput() }, mode: { kind: 'passthrough' } }), { spawnsProcesses: true });

/** Entropy-coded data of the last scan: what a re-encode would change and a passthrough keeps. */
function scanData(jpeg: Buffer): Buffer {
  const sos = jpeg.lastIndexOf(Buffer.from([0xff, 0xda]));
  return jpeg.subarray(sos + 2 + jpeg.readUInt16BE(sos + 2));
}

describe('v4l2 source', () => {
  it('passthrough copies the camera\'s JPEG data without re-encoding', async () => {
    const source = createV4l2Source(settings, memoryLogger().logger, { input: { kind: 'ffmpeg', args: mjpegInput() }, mode: { kind: 'passthrough' } });
    const sink = new RecordingSink();
    await source.start(sink);
    await sink.waitForFrames(5, 8000);
    await source.stop();
    const known = new Set(cameraFrames.map((f) => scanData(f).toString('base64')));
    for (const frame of sink.frames) assert.ok(known.has(scanData(frame.data).toString('base64')), 'scan data identical to a camera frame');
    // mjpeg2jpeg leaves the scan alone but guarantees Huffman tables in front of it; frames still decode.
    await sharp(sink.frames[0]!.data).raw().toBuffer();
  });

  it('rotation switches passthrough to encoding with ffmpeg filters; frames come out rotated', async () => {
    const rotated: CameraSettings = { ...settings, rotation: 90 };
    const plan = ffmpegV4l2Plan(rotated, { kind: 'device', path: '/dev/video9' }, { kind: 'passthrough' });
    assert.equal(plan.mode.kind, 'encode');
    assert.ok(plan.args.includes('transpose=clock'));
    assert.deepEqual(plan.args.slice(plan.args.indexOf('-f'), plan.args.indexOf('-f') + 10), ['-f', 'v4l2', '-input_format', 'yuyv422', '-video_size', '320x240', '-framerate', '20', '-i', '/dev/video9']);
    const { logger, lines } = memoryLogger();
    const source = createV4l2Source(rotated, logger, { input: { kind: 'ffmpeg', args: lavfi(settings) }, mode: { kind: 'passthrough' } });
    const sink = new RecordingSink();
    await source.start(sink);
    await sink.waitForFrames(2, 8000);
    await source.stop();
    const meta = await sharp(sink.frames[0]!.data).metadata();
    assert.deepEqual([meta.width, meta.height], [240, 320]);
    assert.ok(lines.some((l) => l.includes('setting not applied by this camera') && l.includes('rotation/flip re-encodes')));
  });

  it('a webcam that lacks the size asked for: frames pass untouched, unless the user set the size, then the agent resizes them', async () => {
    // The "camera" gives 320x240 MJPEG whatever it is asked, as a V4L2 driver does when it lacks a size.
    const asked: CameraSettings = { ...settings, width: 160, height: 120 };
    for (const exact of [false, true]) {
      const source = createV4l2Source(asked, memoryLogger().logger, { input: { kind: 'ffmpeg', args: mjpegInput() }, mode: { kind: 'passthrough' } });
      const out: Buffer[] = [];
      const { logger, lines } = memoryLogger();
      const processor = new FrameProcessor({
        request: () => ({ wanted: asked, exact: { size: exact, quality: false }, overlay: false, applies: source.applies }),
        overlay: undefined,
        output: (frame) => out.push(frame.data),
        onDrop: () => undefined,
        logger,
      });
      await source.start({ frame: (frame) => processor.offer(frame), fatal: (error) => assert.fail(error) });
      await waitFor(() => out.length >= 3, 8000, 'three frames through the processing step');
      await source.stop();
      await processor.stop();
      assert.equal(source.applies.quality, false, 'passthrough keeps the camera\'s quality');
      if (exact) {
        for (const frame of out) assert.deepEqual(readJpegSize(frame), { width: 160, height: 120 });
        assert.ok(lines.some((l) => l.includes('re-encoded') && l.includes('resize 160x120')));
      } else {
        const known = new Set(cameraFrames.map((f) => scanData(f).toString('base64')));
        for (const frame of out) assert.ok(known.has(scanData(frame).toString('base64')), 'the camera\'s own JPEG');
        assert.equal(lines.filter((l) => l.includes('the camera gives 320x240 frames, not the 160x120 asked for')).length, 1);
      }
    }
  });

  it('device passthrough uses the documented ffmpeg command line', () => {
    const plan = ffmpegV4l2Plan(settings, { kind: 'device', path: '/dev/video0' }, { kind: 'passthrough' });
    assert.deepEqual(plan.args.slice(plan.args.indexOf('-f')), ['-f', 'v4l2', '-input_format', 'mjpeg', '-video_size', '320x240', '-framerate', '20',
      '-i', '/dev/video0', '-map', '0:v:0', '-an', '-c:v', 'copy', '-bsf:v', 'mjpeg2jpeg', '-f', 'mjpeg', 'pipe:1']);
    const withAwb = ffmpegV4l2Plan({ ...settings, awb: 'daylight' }, { kind: 'device', path: '/dev/video0' }, { kind: 'passthrough' });
    assert.deepEqual(withAwb.ignored.map((i) => i.field), ['awb']);
  });

  it('reads ffmpeg\'s V4L2 format list', () => {
    const text = [
      '[video4linux2,v4l2 @ 0x5581c1e0] Raw       :     yuyv422 :           YUYV 4:2:2 : 640x480 320x240 1280x720',
      '[video4linux2,v4l2 @ 0x5581c1e0] Compressed:       mjpeg :          Motion-JPEG : 640x480 1280x720 1920x1080',
      '[video4linux2,v4l2 @ 0x5581c1e0] Compressed: Unsupported :                 HEVC : 1920x1080',
      '/dev/video0: Immediate exit requested',
    ].join('\n');
    assert.deepEqual(parseFfmpegFormatList(text), { compressed: ['mjpeg'], raw: ['yuyv422'] });
  });

  it('lists capture devices, skipping Pi codec/ISP nodes and UVC metadata nodes', async () => {
    const root = fs.mkdtempSync(path.join(tmp, 'sys-'));
    const dev = path.join(root, 'dev');
    const sys = path.join(root, 'sys');
    fs.mkdirSync(dev);
    const node = (n: number, name: string, driver: string, index: number): void => {
      fs.writeFileSync(path.join(dev, `video${n}`), '');
      const dir = path.join(sys, `video${n}`);
      fs.mkdirSync(path.join(dir, 'device'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'name'), `${name}\n`);
      fs.writeFileSync(path.join(dir, 'index'), `${index}\n`);
      fs.writeFileSync(path.join(dir, 'device', 'uevent'), `DRIVER=${driver}\n`);
    };
    node(10, 'bcm2835-codec-decode', 'bcm2835-codec', 0);
    node(0, 'unicam-image', 'unicam', 0);
    node(2, 'HD Pro Webcam C920', 'uvcvideo', 1);
    node(1, 'HD Pro Webcam C920', 'uvcvideo', 0);
    const devices = await listV4l2Devices({ devDir: dev, sysDir: sys });
    assert.deepEqual(devices.map((d) => [path.basename(d.path), d.skipped === undefined]), [['video0', false], ['video1', true], ['video2', false], ['video10', false]]);

    fs.rmSync(path.join(dev, 'video1'));
    const source = createV4l2Source(settings, memoryLogger().logger, { paths: { devDir: dev, sysDir: sys } });
    await assert.rejects(source.start(new RecordingSink()), (e: unknown) => e instanceof NoCameraError && /unicam-image is not a camera/.test(e.message));
  });
});
