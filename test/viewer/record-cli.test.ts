import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { AGENT_CLI, VIEWER_CLI, waitFor, runNode, type RunningProcess } from '../helpers/processes.js';

// picam-viewer --record DIR: records from the start, rotates by time, and every file plays in ffmpeg.

let broker: RunningBroker;
const running: RunningProcess[] = [];
const temps: string[] = [];

before(async () => { broker = await startMosquitto(); });
after(async () => {
  for (const p of running) await p.stop('SIGKILL');
  await broker.stop();
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

test('--record DIR records every camera from the start into rotating files that ffmpeg decodes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-record-'));
  temps.push(dir);
  const port = await freePort();
  // 0.05 minutes: a new file every 3 s, so a short run shows the rotation.
  const viewer = runNode(VIEWER_CLI, ['--broker', broker.url, '--listen', `127.0.0.1:${port}`, '--record', path.join(dir, 'rec'), '--record-max-minutes', '0.05']);
  running.push(viewer);
  await viewer.waitFor(/recording started/);
  await viewer.waitFor(/connected to broker/);
  const agent = runNode(AGENT_CLI, ['--broker', broker.url, '--camera-id', 'porch', '--source', 'synthetic', '--fps', '8', '--width', '160', '--height', '120']);
  running.push(agent);
  const recDir = path.join(dir, 'rec');
  await waitFor(() => (fs.readdirSync(recDir).filter((f) => f.endsWith('.mjpeg')).length >= 3 ? true : undefined), 20_000, 'three recording files');
  assert.equal(await viewer.stop('SIGTERM'), 0, viewer.output());
  assert.match(viewer.output(), /recording stopped dir=.*framesWritten=\d+/);
  const files = fs.readdirSync(recDir).filter((f) => f.endsWith('.mjpeg')).sort();
  let total = 0;
  for (const file of files) {
    assert.match(file, /^porch_.*Z(-\d+)?\.mjpeg$/);
    const decode = spawnSync('ffmpeg', ['-v', 'error', '-i', path.join(recDir, file), '-f', 'null', '-'], { encoding: 'utf8' });
    assert.equal(decode.status, 0, `ffmpeg decodes ${file}: ${decode.stderr}`);
    assert.equal(decode.stderr.trim(), '', `no decoder complaints for ${file}`);
    const rows = fs.readFileSync(path.join(recDir, file.replace(/\.mjpeg$/, '.csv')), 'utf8').trim().split('\n').length - 1;
    total += rows;
  }
  const written = Number(/recording stopped dir=.*framesWritten=(\d+)/.exec(viewer.output())![1]);
  assert.equal(total, written, 'index rows add up to the frames written');
  console.log(`# --record: ${files.length} files, ${total} frames`);
});

test('--record into a path that cannot be a folder: one clear line naming --record, exit code 2', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'picam-record-bad-')), 'a-file');
  temps.push(path.dirname(file));
  fs.writeFileSync(file, 'x');
  const viewer = runNode(VIEWER_CLI, ['--broker', broker.url, '--listen', '127.0.0.1:0', '--record', path.join(file, 'sub')]);
  assert.equal(await viewer.exited, 2, viewer.output());
  assert.match(viewer.output(), /picam-viewer: config error: --record .*a-file.sub: cannot record into .*: a part of the path is a file, not a folder \(ENOTDIR\); pick a folder you can write to/);
});
