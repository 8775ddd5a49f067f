import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CameraProcessError, UnsupportedSetting } from '../../agent/capture/capture-errors.js';
import { DEFAULT_CAMERA_SETTINGS, rpicamArgs, type CameraSettings } from '../../agent/capture/camera-settings.js';
import { createRpicamSource } from '../../agent/capture/rpicam-source.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { commandLine, isAlive } from '../helpers/process-table.js';
import { waitFor } from '../helpers/processes.js';
import { STANDIN_BIN, standinEnv } from '../../harness/standin-path.js';
import { frameSourceContract, RecordingSink } from './frame-source-contract.js';

const settings: CameraSettings = { ...DEFAULT_CAMERA_SETTINGS, width: 320, height: 240, fps: 20, quality: 70 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-rpicam-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function invocations(log: string): Array<{ tool: string; pid: number; argv: string[] }> {
  return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : [];
}

frameSourceContract('rpicam', () => createRpicamSource(settings, memoryLogger().logger, { supervision: { env: standinEnv() } }), { spawnsProcesses: true });

describe('rpicam source', () => {
  it('runs rpicam-vid with the documented MJPEG-to-stdout flags built from the settings', async () => {
    const log = path.join(tmp, 'flags.log');
    const custom: CameraSettings = { ...settings, rotation: 180, hflip: true, exposure: 'sport', awb: 'daylight', ev: 0.5 };
    const source = createRpicamSource(custom, memoryLogger().logger, { supervision: { env: standinEnv({ PICAM_STANDIN_LOG: log }) } });
    const sink = new RecordingSink();
    await source.start(sink);
    await sink.waitForFrames(2, 5000);
    await source.stop();
    const [run] = invocations(log);
    assert.equal(run!.tool, 'rpicam-vid');
    assert.deepEqual(run!.argv, rpicamArgs(custom));
    assert.deepEqual(run!.argv.slice(0, 14), ['-t', '0', '-n', '--codec', 'mjpeg', '-q', '70', '--width', '320', '--height', '240', '--framerate', '20', '--flush']);
    for (const flag of ['--rotation', '--hflip', '--exposure', '--awb', '--ev']) assert.ok(run!.argv.includes(flag), flag);
  });

  it('falls back to libcamera-vid when rpicam-vid is not installed', async () => {
    const bin = fs.mkdtempSync(path.join(tmp, 'bin-'));
    fs.symlinkSync(path.join(STANDIN_BIN, 'rpicam-vid'), path.join(bin, 'libcamera-vid'));
    const log = path.join(tmp, 'fallback.log');
    const env = { ...standinEnv({ PICAM_STANDIN_LOG: log }), PATH: [bin, path.dirname(process.execPath), '/usr/bin', '/bin'].join(':') };
    const { logger, lines } = memoryLogger();
    const source = createRpicamSource(settings, logger, { supervision: { env } });
    const sink = new RecordingSink();
    await source.start(sink);
    await sink.waitForFrames(2, 5000);
    await source.stop();
    assert.equal(invocations(log)[0]!.tool, 'libcamera-vid');
    assert.ok(lines.some((l) => l.includes('program=libcamera-vid')));
  });

  it('restarts the camera program when it is killed mid-stream, and frames resume', async () => {
    const { logger, lines } = memoryLogger();
    const source = createRpicamSource(settings, logger, { supervision: { env: standinEnv(), backoff: { initialMs: 100 } } });
    const sink = new RecordingSink();
    try {
      await source.start(sink);
      await sink.waitForFrames(5, 5000);
      const first = source.pid!;
      assert.match(commandLine(first), /rpicam-vid/);
      process.kill(first, 'SIGKILL');
      await waitFor(() => !isAlive(first), 2000, 'the camera process to die');
      const countAtKill = sink.frames.length;
      await sink.waitForFrames(countAtKill + 5, 8000);
      assert.notEqual(source.pid, first, 'a new camera process');
      assert.equal(source.restarts, 1);
      assert.ok(lines.some((l) => l.includes('was killed by SIGKILL; restarting')));
      assert.deepEqual(sink.fatals, []);
    } finally {
      await source.stop();
    }
  });

  it('restarts a camera that stops producing frames (stall timeout)', async () => {
    const { logger, lines } = memoryLogger();
    const source = createRpicamSource(settings, logger, {
      supervision: { env: standinEnv({ PICAM_STANDIN_STALL_AFTER: '3' }), stallTimeoutMs: 400, backoff: { initialMs: 50 } },
    });
    const sink = new RecordingSink();
    try {
      await source.start(sink);
      await sink.waitForFrames(3, 5000);
      const first = source.pid!;
      await sink.waitForFrames(6, 8000); // the next run's frames
      assert.ok(source.restarts >= 1);
      assert.ok(!isAlive(first), 'the hung process was killed');
      assert.ok(lines.some((l) => /produced no frame for \d+ ms; killing it/.test(l)));
    } finally {
      await source.stop();
    }
  });

  it('gives up with the camera program\'s own error when there is no camera', async () => {
    const source = createRpicamSource(settings, memoryLogger().logger, {
      supervision: { env: standinEnv({ PICAM_STANDIN_CAMERAS: 'none' }), maxFailedStarts: 2, backoff: { initialMs: 20 } },
    });
    await assert.rejects(source.start(new RecordingSink()), (error: unknown) => {
      assert.ok(error instanceof CameraProcessError);
      assert.match(error.message, /no cameras available/);
      return true;
    });
    await source.stop();
  });

  it('reports a missing program by name', async () => {
    const source = createRpicamSource(settings, memoryLogger().logger, { supervision: { env: { PATH: tmp } } });
    await assert.rejects(source.start(new RecordingSink()), /neither rpicam-vid nor libcamera-vid is installed/);
  });

  it('leaves a rotation of 90 or 270 to the agent: rpicam-vid is not told, and says it does not rotate', () => {
    for (const rotation of [90, 270] as const) {
      const source = createRpicamSource({ ...settings, rotation, hflip: true }, memoryLogger().logger);
      assert.deepEqual(source.applies, { size: true, quality: true, rotation: false, flips: true });
      assert.deepEqual([source.width, source.height], [settings.width, settings.height], 'frames leave the camera unrotated');
      const args = rpicamArgs({ ...settings, rotation, hflip: true });
      assert.ok(!args.includes('--rotation') && args.includes('--hflip'), args.join(' '));
    }
    assert.equal(createRpicamSource({ ...settings, rotation: 180 }, memoryLogger().logger).applies.rotation, true);
  });

  it('rejects settings rpicam-vid cannot do, naming the field', () => {
    assert.throws(() => createRpicamSource({ ...settings, awb: 'moonlight' }, memoryLogger().logger), (e: unknown) => e instanceof UnsupportedSetting && e.field === 'awb' && /'moonlight' is not a rpicam mode/.test(e.problem));
  });

  it('the stand-in rejects flags rpicam-vid does not document, like the real program', async () => {
    const { execFile } = await import('node:child_process');
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(path.join(STANDIN_BIN, 'rpicam-vid'), ['-t', '0', '--quality-level', '5', '-o', '-'], { env: standinEnv() }, (_e, _o, stderr) => resolve({ code: child.exitCode, stderr }));
    });
    assert.equal(result.code, 255);
    assert.match(result.stderr, /unrecognised option '--quality-level'/);
  });
});
