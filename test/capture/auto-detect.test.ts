import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { detectCamera, parseCameraList, parseGetCamera } from '../../agent/capture/auto-detect.js';
import { NoCameraError, UnknownSource } from '../../agent/capture/capture-errors.js';
import { DEFAULT_CAMERA_SETTINGS } from '../../agent/capture/camera-settings.js';
import { AutoSource, createSource } from '../../agent/capture/registry.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { STANDIN_BIN, standinEnv } from '../../harness/standin-path.js';
import { RecordingSink } from './frame-source-contract.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-auto-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const settings = { ...DEFAULT_CAMERA_SETTINGS, width: 160, height: 120, fps: 20, loop: true, label: 'test' };

/** A PATH holding only the named stand-ins (plus node and the system tools they need). */
function pathWith(tools: string[]): string {
  const bin = fs.mkdtempSync(path.join(tmp, 'bin-'));
  for (const tool of tools) fs.symlinkSync(path.join(STANDIN_BIN, tool), path.join(bin, tool));
  return [bin, path.dirname(process.execPath), '/usr/bin', '/bin'].join(':');
}

function fakeV4l2(devices: Array<{ n: number; name: string; driver: string }>) {
  const root = fs.mkdtempSync(path.join(tmp, 'v4l2-'));
  fs.mkdirSync(path.join(root, 'dev'));
  for (const d of devices) {
    fs.writeFileSync(path.join(root, 'dev', `video${d.n}`), '');
    fs.mkdirSync(path.join(root, 'sys', `video${d.n}`, 'device'), { recursive: true });
    fs.writeFileSync(path.join(root, 'sys', `video${d.n}`, 'name'), d.name);
    fs.writeFileSync(path.join(root, 'sys', `video${d.n}`, 'index'), '0');
    fs.writeFileSync(path.join(root, 'sys', `video${d.n}`, 'device', 'uevent'), `DRIVER=${d.driver}\n`);
  }
  return { devDir: path.join(root, 'dev'), sysDir: path.join(root, 'sys') };
}

const noV4l2 = fakeV4l2([]);

describe('camera auto-detection', () => {
  it('parses rpicam-vid --list-cameras and vcgencmd get_camera output', () => {
    const text = 'Available cameras\n-----------------\n0 : imx708_wide [4608x2592 10-bit RGGB] (/base/axi/pcie@120000/rp1/i2c@88000/imx708@1a)\n' +
      "    Modes: 'SRGGB10_CSI2P' : 1536x864 [120.13 fps - (768, 432)/3072x1728 crop]\n" +
      '1 : HD Pro Webcam C920 [1920x1080] (/base/axi/pcie@120000/rp1/usb@200000-1:1.0-046d:082d)\n';
    assert.deepEqual(parseCameraList(text).map((c) => [c.index, c.model]), [[0, 'imx708_wide'], [1, 'HD Pro Webcam C920']]);
    assert.deepEqual(parseCameraList('No cameras available!\n'), []);
    assert.equal(parseGetCamera('supported=1 detected=1, libcamera interfaces=0'), 1);
    assert.equal(parseGetCamera('supported=0 detected=0'), 0);
  });

  it('picks rpicam when rpicam-vid lists a camera', async () => {
    const found = await detectCamera({ env: standinEnv(), v4l2Paths: noV4l2 });
    assert.deepEqual(found.source, { kind: 'rpicam' });
    assert.match(found.reason, /rpicam-vid lists camera imx219/);
  });

  it('passes over rpicam without a camera, then takes raspistill', async () => {
    const env = { ...process.env, PATH: pathWith(['rpicam-vid', 'raspistill']), PICAM_STANDIN_CAMERAS: 'none' };
    const found = await detectCamera({ env, v4l2Paths: noV4l2 });
    assert.deepEqual(found.source, { kind: 'raspistill' });
    assert.deepEqual(found.skipped, ['rpicam: rpicam-vid lists no camera']);
  });

  it('falls through to the first V4L2 capture device', async () => {
    const env = { ...process.env, PATH: pathWith([]) };
    const v4l2 = fakeV4l2([{ n: 0, name: 'unicam-image', driver: 'unicam' }, { n: 3, name: 'USB Camera', driver: 'uvcvideo' }]);
    const found = await detectCamera({ env, v4l2Paths: v4l2 });
    assert.deepEqual(found.source, { kind: 'v4l2', device: path.join(v4l2.devDir, 'video3') });
    assert.deepEqual(found.skipped, ['rpicam: rpicam-vid/libcamera-vid not installed', 'raspistill: not installed']);
  });

  it('with no camera at all, fails with every check and the way out in one message', async () => {
    const env = { ...process.env, PATH: pathWith(['rpicam-vid']), PICAM_STANDIN_CAMERAS: 'none' };
    await assert.rejects(detectCamera({ env, v4l2Paths: noV4l2 }), (e: unknown) => {
      assert.ok(e instanceof NoCameraError);
      assert.deepEqual(e.checked, ['rpicam: rpicam-vid lists no camera', 'raspistill: not installed', 'v4l2: no /dev/video* devices']);
      assert.match(e.message, /--source synthetic/);
      assert.match(e.message, /video group/);
      return true;
    });
  });
});

describe('source registry', () => {
  it('rejects unknown or malformed --source values naming the option', () => {
    const { logger } = memoryLogger();
    for (const bad of ['webcam', 'rpicam:0', 'v4l2:', 'auto:x', 'toString']) {
      assert.throws(() => createSource(bad, settings, logger), (e: unknown) => e instanceof UnknownSource && e.spec === bad && e.message.startsWith(`unknown source '${bad}'`), bad);
    }
  });

  it('auto starts the detected camera and says which and why', async () => {
    const { logger, lines } = memoryLogger();
    const source = createSource('auto', settings, logger, { env: standinEnv(), v4l2Paths: noV4l2 });
    assert.ok(source instanceof AutoSource);
    assert.equal(source.kind, 'auto');
    const sink = new RecordingSink();
    try {
      await source.start(sink);
      await sink.waitForFrames(2, 5000);
      assert.equal(source.kind, 'rpicam');
      assert.ok(lines.some((l) => l.includes('using --source rpicam') && l.includes('reason="rpicam-vid lists camera imx219"')));
    } finally {
      await source.stop();
    }
  });

  it('auto with no camera rejects start() with NoCameraError', async () => {
    const source = createSource('auto', settings, memoryLogger().logger, { env: { ...process.env, PATH: pathWith([]) }, v4l2Paths: noV4l2 });
    await assert.rejects(source.start(new RecordingSink()), NoCameraError);
    await source.stop();
  });
});
