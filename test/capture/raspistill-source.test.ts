import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_CAMERA_SETTINGS, type CameraSettings } from '../../agent/capture/camera-settings.js';
import { RaspistillSource, SupervisedRaspistillExecutor } from '../../agent/capture/raspistill-source.js';
import { headerSegments, isWholeJpeg } from '../../harness/jpeg-tools.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { isAlive } from '../helpers/process-table.js';
import { waitFor } from '../helpers/processes.js';
import { standinEnv } from '../../harness/standin-path.js';
import { frameSourceContract, RecordingSink } from './frame-source-contract.js';

const settings: CameraSettings = { ...DEFAULT_CAMERA_SETTINGS, width: 320, height: 240, fps: 10, quality: 75 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-raspistill-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

frameSourceContract('raspistill', () => new RaspistillSource(settings, memoryLogger().logger, { supervision: { env: standinEnv() } }), {
  spawnsProcesses: true,
  frames: 4,
});

describe('raspistill source', () => {
  it('asks node-raspistill for a timelapse to stdout without thumbnail, and passes ev through', async () => {
    const log = path.join(tmp, 'flags.log');
    const custom: CameraSettings = { ...settings, rotation: 90, vflip: true, awb: 'daylight', exposure: 'night', ev: -1 };
    const source = new RaspistillSource(custom, memoryLogger().logger, { supervision: { env: standinEnv({ PICAM_STANDIN_LOG: log }) } });
    const sink = new RecordingSink();
    await source.start(sink);
    await sink.waitForFrames(2, 5000);
    await source.stop();
    const argv: string[] = JSON.parse(fs.readFileSync(log, 'utf8').split('\n')[0]!).argv;
    const pairs = new Map<string, string>();
    for (let i = 0; i < argv.length; i++) if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) pairs.set(argv[i]!, argv[i + 1]!);
    assert.equal(pairs.get('-th'), 'none');
    assert.equal(pairs.get('-t'), '0');
    assert.equal(pairs.get('-tl'), '100');
    assert.equal(pairs.get('-e'), 'jpg');
    assert.equal(pairs.get('-w'), '320');
    assert.equal(pairs.get('-rot'), '90');
    assert.equal(pairs.get('-awb'), 'sun');
    assert.equal(pairs.get('-ex'), 'night');
    assert.equal(argv[argv.indexOf('-ev') + 1], '-6');
    assert.ok(argv.includes('-n') && argv.includes('-vf') && !argv.includes('-hf'));
    assert.equal(argv[argv.indexOf('-o') + 1], '-');
    // Rotated by 90: the frames are portrait.
    assert.deepEqual([source.width, source.height], [240, 320]);
  });

  it('the executor cuts images with EXIF thumbnails (raspistill without -th none) into whole frames', async () => {
    const frames: Buffer[] = [];
    const executor = new SupervisedRaspistillExecutor({
      logger: memoryLogger().logger,
      command: 'raspistill',
      extraArgs: [],
      supervision: { env: standinEnv(), stallTimeoutMs: 5000 },
      onFatal: () => {},
    });
    const done = executor.spawnAndGetImages(['-n', '-w', '320', '-h', '240', '-t', '0', '-tl', '100', '-o', '-'], (image) => frames.push(image));
    await executor.started;
    await waitFor(() => frames.length >= 3, 5000, '3 images');
    await executor.stop();
    await done;
    for (const f of frames) {
      assert.ok(isWholeJpeg(f));
      assert.equal(headerSegments(f)[0]!.code, 0xe1, 'EXIF first');
      assert.ok(f.indexOf(Buffer.from([0xff, 0xd9])) < f.length - 2, 'thumbnail inside');
    }
  });

  it('restarts raspistill when it is killed mid-stream', async () => {
    const { logger, lines } = memoryLogger();
    const source = new RaspistillSource(settings, logger, { supervision: { env: standinEnv(), backoff: { initialMs: 50 } } });
    const sink = new RecordingSink();
    try {
      await source.start(sink);
      await sink.waitForFrames(2, 5000);
      const first = source.pid!;
      process.kill(first, 'SIGKILL');
      await waitFor(() => !isAlive(first), 2000, 'raspistill to die');
      const count = sink.frames.length;
      await sink.waitForFrames(count + 2, 6000);
      assert.equal(source.restarts, 1);
      assert.notEqual(source.pid, first);
      assert.ok(lines.some((l) => l.includes('raspistill was killed by SIGKILL; restarting')));
    } finally {
      await source.stop();
    }
  });
});
