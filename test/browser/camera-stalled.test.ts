import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { Viewer } from '../../viewer/viewer.js';
import { launchChromium, type RunningChromium } from '../../harness/chromium.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { AGENT_CLI, waitFor, runNode, type RunningProcess } from '../helpers/processes.js';
import { standinEnv } from '../../harness/standin-path.js';
import { startViewerInProcess } from '../helpers/viewer-harness.js';

// A camera that hangs while its agent stays connected, as the page shows it in a real Chromium. The agent is
// picam-agent with the stand-in rpicam-vid, which stops writing but keeps running (a hung camera) once the test
// has seen the camera streaming on the page and asks it to (PICAM_STANDIN_HANG_FILE). The agent reports the
// stall in its stats after --stall-timeout; its supervisor kills the silent camera program after 3 s and starts
// it again, so frames come back and the agent reports the stall over.

const KEY = 'picam/hung';
let broker: RunningBroker;
let viewer: Viewer;
let agent: RunningProcess;
let chromium: RunningChromium;
let page: Page;
const hangFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'picam-hang-')), 'hang');

const tile = `.tile[data-key="${KEY}"]`;
const seqOf = async (): Promise<number> => Number((await page.locator(tile).getAttribute('data-seq')) ?? -1);

before(async () => {
  broker = await startMosquitto();
  viewer = await startViewerInProcess(broker.url);
  agent = runNode(
    AGENT_CLI,
    ['--broker', broker.url, '--camera-id', 'hung', '--source', 'rpicam', '--width', '160', '--height', '120', '--fps', '10', '--stall-timeout', '0.5', '--no-adaptive'],
    standinEnv({ PICAM_STANDIN_HANG_FILE: hangFile }),
  );
  chromium = await launchChromium();
  page = await chromium.context.newPage();
  await page.goto(viewer.url);
  // The full stats table, hidden by default since issue 20 (one line per tile), shows on every tile with I.
  await page.keyboard.press('i');
});

after(async () => {
  await chromium?.close();
  await agent?.stop('SIGKILL');
  await viewer?.stop();
  await broker?.stop();
  fs.rmSync(path.dirname(hangFile), { recursive: true, force: true });
});

test('a camera whose agent reports a stall gets a "camera stalled" badge that goes away when frames resume', async () => {
  await page.locator(`${tile}[data-status="online"]`).waitFor({ timeout: 15_000 });
  await waitFor(async () => ((await seqOf()) >= 0 ? true : undefined), 15_000, 'a frame drawn');
  const badge = page.locator(`${tile} .badge.stalled`);
  assert.equal(await badge.isHidden(), true, 'a streaming camera has no stall badge');

  fs.writeFileSync(hangFile, '');

  await page.locator(`${tile}[data-stalled="true"]`).waitFor({ timeout: 15_000 });
  assert.match(agent.output(), /camera stalled: no frame from the source/, 'the agent itself saw the stall');
  assert.equal(await badge.isVisible(), true);
  assert.equal(await badge.innerText(), 'camera stalled');
  assert.match((await badge.getAttribute('title')) ?? '', /^the agent is connected but its camera has given no frame for \d+ s$/);
  assert.equal(await page.locator(`${tile} .badge.status`).innerText(), 'online', 'a stall is not offline: the agent is still there');
  // The overlay is drawn on its own timer (twice a second), so it follows the badge by up to half a second.
  const statsText = (): Promise<string> => page.locator(`${tile} .stats`).innerText();
  await waitFor(async () => /stalls\s+1 \(stalled now\)/.test(await statsText()) || undefined, 5_000, 'the overlay counting the stall');
  const seqAtStall = await seqOf();

  await page.locator(`${tile}[data-stalled="false"]`).waitFor({ timeout: 15_000 });
  assert.match(agent.output(), /camera frames resumed/);
  assert.equal(await badge.isHidden(), true, 'the badge goes away with stalled:false');
  assert.equal(await page.locator(`${tile} .badge.status`).innerText(), 'online');
  const stats = await waitFor(async () => { const text = await statsText(); return /stalled now/.test(text) ? undefined : text; }, 5_000, 'the overlay no longer saying "stalled now"');
  assert.match(stats, /stalls\s+1\n/, 'the overlay keeps the count of stalls');
  await waitFor(async () => ((await seqOf()) > seqAtStall ? true : undefined), 10_000, 'new frames drawn after the stall');
});
