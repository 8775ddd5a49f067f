/**
 * Agent CPU per passthrough 1080p frame: the source path (pipe reads, MJPEG splitting, timestamps) and the
 * processing step's check that nothing is asked for (frame header read, hand-on), measured with
 * process.cpuUsage() over N frames, with the stand-in rpicam-vid streaming real 1080p JPEGs at 30 fps, and with
 * ffmpeg passing an MJPEG stream through (the v4l2 source). The camera program's own CPU is not counted: on a Pi
 * that is the camera's encoder, and the agent does not re-encode.
 *
 * Usage: npm run bench:capture [-- FRAMES]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../common/logger.js';
import { DEFAULT_CAMERA_SETTINGS, type CameraSettings } from '../agent/capture/camera-settings.js';
import { APPLIES_ALL, type FrameSource } from '../agent/capture/frame-source.js';
import { FrameProcessor } from '../agent/processing/frame-processor.js';
import { createRpicamSource } from '../agent/capture/rpicam-source.js';
import { createV4l2Source } from '../agent/capture/v4l2-source.js';
import { ffmpegFrames } from '../harness/jpeg-tools.js';
import { standinEnv } from '../harness/standin-path.js';

const frames = Number(process.argv[2] ?? 150);
const settings: CameraSettings = { ...DEFAULT_CAMERA_SETTINGS, width: 1920, height: 1080, fps: 30, quality: 80 };
const logger = createLogger({ level: 'warn', component: 'bench' });

async function run(label: string, source: FrameSource): Promise<void> {
  let count = 0;
  let bytes = 0;
  let begin: NodeJS.CpuUsage | undefined;
  let beganAt = 0;
  const warmup = 15;
  const done = new Promise<{ cpu: NodeJS.CpuUsage; wall: number }>((resolve) => {
    // As in the agent: every frame passes the processing step, which hands it on untouched.
    const processor = new FrameProcessor({
      request: () => ({ wanted: settings, exact: { size: false, quality: false }, overlay: false, applies: source.applies ?? APPLIES_ALL }),
      overlay: undefined,
      onDrop: () => { throw new Error('passthrough frame dropped'); },
      logger,
      output: ({ data }) => {
        count++;
        if (count === warmup) {
          begin = process.cpuUsage();
          beganAt = performance.now();
        } else if (count > warmup) {
          bytes += data.length;
          if (count === warmup + frames) resolve({ cpu: process.cpuUsage(begin), wall: performance.now() - beganAt });
        }
      },
    });
    void source.start({
      frame: (frame) => processor.offer(frame),
      fatal: (e) => {
        console.error(e.message);
        process.exit(1);
      },
    });
  });
  const { cpu, wall } = await done;
  await source.stop();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(`${label.padEnd(46)} ${(cpuMs / frames).toFixed(3)} ms CPU/frame (user ${(cpu.user / 1000 / frames).toFixed(3)}, sys ${(cpu.system / 1000 / frames).toFixed(3)}), ` +
    `${(bytes / frames / 1024).toFixed(0)} KiB/frame, ${(frames / (wall / 1000)).toFixed(1)} fps, ${((100 * cpuMs) / wall).toFixed(1)}% of one core`);
}

console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'}, ${frames} frames after 15 warm-up frames`);
await run('rpicam (stand-in rpicam-vid, 1080p30)', createRpicamSource(settings, logger, { supervision: { env: standinEnv() } }));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-bench-'));
const file = path.join(tmp, 'camera.mjpeg');
const set = ffmpegFrames({ width: 1920, height: 1080, count: 30, qscale: 4 });
fs.writeFileSync(file, Buffer.concat(Array.from({ length: Math.ceil((frames + 30) / 30) + 1 }, () => Buffer.concat(set.frames))));
await run('v4l2 passthrough (ffmpeg -c:v copy, 1080p30)', createV4l2Source(settings, logger, {
  input: { kind: 'ffmpeg', args: ['-re', '-f', 'mjpeg', '-framerate', '30', '-i', file] },
  mode: { kind: 'passthrough' },
}));
fs.rmSync(tmp, { recursive: true, force: true });
