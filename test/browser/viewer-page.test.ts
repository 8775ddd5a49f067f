import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { launchChromium, type RunningChromium } from '../../harness/chromium.js';
import { freePort, startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { AGENT_CLI, VIEWER_CLI, waitFor, runNode, type RunningProcess } from '../helpers/processes.js';

// The viewer's page in a real headless Chromium, fed by two real agents (synthetic source) over a real
// mosquitto: what the person at the desktop sees, clicks and downloads.

let broker: RunningBroker;
let chromium: RunningChromium;
let viewer: RunningProcess;
let page: Page;
let pageUrl: string;
let saveDir: string;
const agents = new Map<string, RunningProcess>();
// Screenshots are always taken; they are kept only when PICAM_TEST_ARTIFACTS names a folder for them.
const keepArtifacts = process.env.PICAM_TEST_ARTIFACTS !== undefined;
const artifacts = process.env.PICAM_TEST_ARTIFACTS ?? fs.mkdtempSync(path.join(os.tmpdir(), 'picam-page-'));

const tile = (id: string): string => `.tile[data-key="picam/${id}"]`;

async function canvasPixels(id: string): Promise<{ data: Buffer; width: number; height: number }> {
  const png = await page.locator(`${tile(id)} canvas`).screenshot();
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

async function seqOf(id: string): Promise<number> {
  return Number((await page.locator(tile(id)).getAttribute('data-seq')) ?? -1);
}

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  broker = await startMosquitto();
  saveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-page-save-'));
  const port = await freePort();
  pageUrl = `http://127.0.0.1:${port}/`;
  viewer = runNode(VIEWER_CLI, ['--broker', broker.url, '--listen', `127.0.0.1:${port}`, '--save-dir', saveDir]);
  await viewer.waitFor(/connected to broker/);
  for (const id of ['cam-a', 'cam-b']) {
    // cam-b draws an overlay (markup characters included: the agent must escape them in its SVG), so the page
    // shows one camera whose frames the agent re-encodes and one whose frames it does not touch.
    const overlay = id === 'cam-b' ? ['--overlay', '<b>{id}</b> {time}'] : [];
    const agent = runNode(AGENT_CLI, ['--broker', broker.url, '--camera-id', id, '--source', 'synthetic', '--fps', '4', '--width', '320', '--height', '240', '--stats-interval', '1', ...overlay]);
    agents.set(id, agent);
  }
  await Promise.all([...agents.values()].map((a) => a.waitFor(/first frame published/)));
  chromium = await launchChromium();
  page = await chromium.context.newPage();
  await page.goto(pageUrl);
});

after(async () => {
  await chromium?.close();
  for (const agent of agents.values()) await agent.stop('SIGKILL');
  await viewer?.stop('SIGTERM');
  await broker?.stop();
  fs.rmSync(saveDir, { recursive: true, force: true });
  if (!keepArtifacts) fs.rmSync(artifacts, { recursive: true, force: true });
});

test('the page shows both cameras live: the picture changes and the stats overlay is filled', async () => {
  await page.locator(`${tile('cam-a')}[data-status="online"]`).waitFor({ timeout: 10_000 });
  await page.locator(`${tile('cam-b')}[data-status="online"]`).waitFor({ timeout: 10_000 });
  assert.ok((await page.locator('.tile').count()) >= 2);
  await waitFor(async () => ((await seqOf('cam-a')) >= 0 && (await seqOf('cam-b')) >= 0 ? true : undefined), 10_000, 'a frame drawn on each tile');

  const first = await canvasPixels('cam-a');
  const seqBefore = await seqOf('cam-a');
  await waitFor(async () => ((await seqOf('cam-a')) >= seqBefore + 2 ? true : undefined), 10_000, 'two newer frames');
  const second = await canvasPixels('cam-a');
  assert.equal(first.data.length, second.data.length);
  let changed = 0;
  for (let i = 0; i < first.data.length; i += 3) {
    const d = Math.abs(first.data[i]! - second.data[i]!) + Math.abs(first.data[i + 1]! - second.data[i + 1]!) + Math.abs(first.data[i + 2]! - second.data[i + 2]!);
    if (d > 48) changed++;
  }
  const share = changed / (first.data.length / 3);
  console.log(`# picture change between two canvas screenshots ${first.width}x${first.height}: ${(share * 100).toFixed(1)}% of pixels`);
  assert.ok(share > 0.01, `the picture moved (${(share * 100).toFixed(2)}% of pixels changed)`);

  // By default a tile shows one line (drawn fps, latency); `I` shows the full table on every tile (issue 20).
  assert.match(await page.locator(`${tile('cam-a')} .line`).innerText(), /^\d+\.\d fps · -?\d+ ms( ⚠ \d+)?$/, 'drawn fps and latency, and a loss badge only if frames were lost');
  assert.equal(await page.locator(`${tile('cam-a')} .stats`).isHidden(), true, 'the full table is hidden by default');
  await page.keyboard.press('i');
  const stats = await page.locator(`${tile('cam-a')} .stats`).innerText();
  assert.match(stats, /drawn\s+\d+\.\d fps/);
  assert.match(stats, /fps\s+\d+\.\d \/ 4/);
  assert.match(stats, /latency\s+-?\d+ ms/);
  assert.match(stats, /size\s+320×240/);
  assert.match(stats, /kbit\/s\s+\d+/);
  assert.match(stats, /missed\s+\d+/);
  assert.match(stats, /incomplete\s+0/);
  assert.match(stats, /corrupt\s+0/);
  assert.match(stats, /processing\s+none/);
  await page.locator(`${tile('cam-b')} .stats`, { hasText: 'overlay' }).waitFor({ timeout: 10_000 });
  assert.match(await page.locator(`${tile('cam-b')} .stats`).innerText(), /processing\s+overlay/);
  assert.equal(await page.locator(`${tile('cam-a')} .stale`).isHidden(), true, 'a live camera is not marked stale');
  await page.keyboard.press('i');
  assert.equal(await page.locator(`${tile('cam-a')} .stats`).isHidden(), true, 'I again hides the tables');
});

test('snapshot: the button and the S key download a valid JPEG, and --save-dir keeps a copy', async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`${tile('cam-a')} .snap`).click()]);
  assert.match(download.suggestedFilename(), /^cam-a_.*_\d+\.jpg$/);
  const jpeg = fs.readFileSync((await download.path())!);
  assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8], 'starts with the JPEG SOI marker');
  const decoded = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  assert.equal(decoded.info.width, 320);
  assert.equal(decoded.info.height, 240);
  await page.locator('#notice', { hasText: 'saved as' }).waitFor({ timeout: 5000 });
  const onDisk = fs.readdirSync(saveDir).filter((f) => /^cam-a_snapshot_.*\.jpg$/.test(f));
  assert.equal(onDisk.length, 1, `one snapshot file in ${saveDir}`);
  assert.equal((await sharp(path.join(saveDir, onDisk[0]!)).metadata()).format, 'jpeg');

  await page.locator(`${tile('cam-b')} canvas`).hover();
  const [byKey] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('s')]);
  assert.match(byKey.suggestedFilename(), /^cam-b_/);
  assert.equal((await sharp(fs.readFileSync((await byKey.path())!)).metadata()).width, 320);

  // Click to enlarge: the other camera is hidden until a second click (or Esc).
  await page.locator(`${tile('cam-a')} canvas`).click();
  assert.equal(await page.locator(tile('cam-b')).isHidden(), true);
  await page.keyboard.press('Escape');
  assert.equal(await page.locator(tile('cam-b')).isVisible(), true);
});

test('recording from the page writes MJPEG files that ffprobe decodes, with a matching index', async () => {
  await page.locator('#record').click();
  await page.locator('#record.active').waitFor({ timeout: 5000 });
  await page.locator(`${tile('cam-a')} .rec:not([hidden])`).waitFor({ timeout: 5000 });
  // Until each camera's index holds three frames (its rows are written frame by frame).
  const indexRows = (id: string): number => fs.readdirSync(saveDir).filter((f) => f.startsWith(`${id}_`) && f.endsWith('.csv'))
    .reduce((n, f) => n + fs.readFileSync(path.join(saveDir, f), 'utf8').trim().split('\n').length - 1, 0);
  await waitFor(() => indexRows('cam-a') >= 3 && indexRows('cam-b') >= 3, 10_000, 'three recorded frames of each camera');
  await page.screenshot({ path: path.join(artifacts, 'viewer-recording.png') });
  await page.locator('#record').click();
  await page.locator('#record:not(.active)').waitFor({ timeout: 5000 });
  const files = fs.readdirSync(saveDir).filter((f) => f.endsWith('.mjpeg'));
  assert.deepEqual(files.map((f) => f.split('_')[0]).sort(), ['cam-a', 'cam-b']);
  for (const file of files) {
    const full = path.join(saveDir, file);
    const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', full], { encoding: 'utf8' });
    assert.equal(probe.status, 0, probe.stderr);
    const stream = (JSON.parse(probe.stdout) as { streams: Array<Record<string, unknown>> }).streams[0]!;
    const rows = fs.readFileSync(full.replace(/\.mjpeg$/, '.csv'), 'utf8').trim().split('\n').length - 1;
    assert.equal(stream.codec_name, 'mjpeg');
    assert.equal(stream.width, 320);
    assert.equal(Number(stream.nb_read_frames), rows, `${file}: ffprobe frames = index rows`);
    assert.ok(rows >= 3, `${file} holds ${rows} frames`);
  }
});

test('a camera whose agent is killed turns offline and greys out with the age of its last frame', async () => {
  await page.screenshot({ path: path.join(artifacts, 'viewer-live.png') });
  await agents.get('cam-b')!.stop('SIGKILL');
  await page.locator(`${tile('cam-b')}[data-status="offline"]`).waitFor({ timeout: 10_000 });
  assert.equal(await page.locator(`${tile('cam-b')} .badge.status`).innerText(), 'offline');
  const stale = page.locator(`${tile('cam-b')} .stale`);
  await stale.waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await stale.innerText(), /^offline · last frame \d+ s ago$/);
  assert.equal(await page.locator(`${tile('cam-a')}[data-status="online"]`).count(), 1, 'the other camera stays online');
  assert.equal(await page.locator(`${tile('cam-a')} .stale`).isHidden(), true, 'and live');
  await page.screenshot({ path: path.join(artifacts, 'viewer-offline.png') });
  if (keepArtifacts) console.log(`# screenshots in ${artifacts}: viewer-recording.png, viewer-live.png, viewer-offline.png`);
});

test('an unwritable folder is a clear error in the page and the log, and the viewer keeps running', async () => {
  // Root ignores permission bits, so make the folder impossible instead: a plain file where it should be. The
  // viewer keeps saving frames into it, so it is moved away in one step (a recursive delete raced those
  // writes in a CI run: ENOTEMPTY) and removed after.
  const moved = `${saveDir}.moved`;
  fs.renameSync(saveDir, moved);
  fs.writeFileSync(saveDir, 'not a folder');
  fs.rmSync(moved, { recursive: true, force: true, maxRetries: 5 });
  await page.locator('#record').click();
  await page.locator('#notice.error', { hasText: 'recording: cannot record into' }).waitFor({ timeout: 5000 });
  await page.locator('#alerts', { hasText: /cannot record into .*\((EEXIST|ENOTDIR)\)/ }).waitFor({ timeout: 5000 });
  await page.locator('#alerts', { hasText: /Saving frames failed: .*\(ENOTDIR\)/ }).waitFor({ timeout: 5000 });
  assert.equal(await page.locator('#record.active').count(), 0);
  assert.match(viewer.output(), /error viewer\/recorder: cannot start recording .*reason=/);
  assert.match(viewer.output(), /error viewer\/saver: cannot save frame/);
  const seq = await seqOf('cam-a');
  await waitFor(async () => ((await seqOf('cam-a')) > seq ? true : undefined), 10_000, 'frames still arriving');
  assert.equal(viewer.child.exitCode, null, 'the viewer is still running');
  fs.rmSync(saveDir, { force: true });
});
