import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { Agent } from '../../agent/agent.js';
import type { Viewer } from '../../viewer/viewer.js';
import { buildAgentInProcess } from '../helpers/agent-harness.js';
import { launchChromium, type RunningChromium } from '../../harness/chromium.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { waitFor, sleep } from '../helpers/processes.js';
import { startViewerInProcess } from '../helpers/viewer-harness.js';

// The page's remote-control panel and its frame budget, in a real Chromium: six cameras at 15 fps in the
// grid get thumbnails at 5 fps each; an enlarged camera gets every frame and the others none; the panel's
// Apply changes the camera's frame rate through the set topic.

let broker: RunningBroker;
let viewer: Viewer;
let chromium: RunningChromium;
let page: Page;
const agents: Agent[] = [];

before(async () => {
  broker = await startMosquitto();
  for (let i = 0; i < 6; i++) {
    agents.push(buildAgentInProcess(broker.url, ['--camera-id', `wall${i}`, '--source', 'synthetic', '--fps', '15', '--width', '160', '--height', '120', '--no-adaptive']).agent);
  }
  await Promise.all(agents.map((a) => a.start()));
  viewer = await startViewerInProcess(broker.url);
  chromium = await launchChromium({ width: 1600, height: 1400 });
  page = await chromium.context.newPage();
  await page.goto(viewer.url);
  await page.waitForFunction(() => document.querySelectorAll('.tile[data-seq]').length === 6, undefined, { timeout: 20_000 });
});
after(async () => {
  await chromium?.close();
  await viewer?.stop();
  await Promise.all(agents.map((a) => a.stop()));
  await broker?.stop();
});

function pageFeed(): { sent: number; skipped: number } {
  const feeds = viewer.cameraStates().viewer.pageFeeds;
  assert.equal(feeds.length, 1);
  return feeds[0]!;
}

async function framesSentIn(ms: number): Promise<{ sent: number; skipped: number }> {
  const before = pageFeed();
  await sleep(ms); // a window to count frames in: the rate is what is measured
  const after = pageFeed();
  return { sent: after.sent - before.sent, skipped: after.skipped - before.skipped };
}

test('a grid of six cameras gets thumbnails at 5 fps; an enlarged camera gets every frame, the rest none', async () => {
  // The viewer's answer to the page's view of six tiles: thumbnails.
  await page.locator('.tile .line', { hasText: 'thumbnail 5 fps' }).first().waitFor({ timeout: 10_000 });
  const grid = await framesSentIn(3000);
  console.log(`# page budget: grid of 6 × 15 fps: ${grid.sent} frames sent, ${grid.skipped} skipped in 3 s`);
  assert.ok(grid.sent <= 6 * 5 * 3 + 12, `thumbnail rate holds: ${grid.sent}`);
  assert.ok(grid.sent >= 6 * 2 * 3, `every tile still moves: ${grid.sent}`);

  await page.locator('.tile[data-key="picam/wall0"] .picture').click();
  // The page sends its new view (wall0 enlarged) as it hides the other tiles.
  await page.locator('.tile[data-key="picam/wall1"]').waitFor({ state: 'hidden', timeout: 5000 });
  const seqBefore = Number(await page.locator('.tile[data-key="picam/wall0"]').getAttribute('data-seq'));
  const focused = await framesSentIn(3000);
  const seqAfter = Number(await page.locator('.tile[data-key="picam/wall0"]').getAttribute('data-seq'));
  console.log(`# page budget: enlarged camera: ${focused.sent} frames sent in 3 s; its sequence advanced ${seqAfter - seqBefore}`);
  assert.ok(focused.sent >= 30 && focused.sent <= 50, `full rate for the enlarged camera only: ${focused.sent}`);
  assert.ok(seqAfter - seqBefore >= 30, 'the enlarged picture updates at full rate');
});

test('the control panel changes a camera\'s frame rate through the set topic, and shows refusals', async () => {
  // wall0 is enlarged by the previous test; its panel is visible.
  const panel = page.locator('.tile[data-key="picam/wall0"] form.controls');
  await panel.waitFor({ state: 'visible' });
  await panel.locator('input[name="fps"]').fill('5');
  await panel.locator('button[type="submit"]').click();
  await waitFor(async () => ((await page.locator('#notice').textContent())?.includes('wall0: applied') ? true : undefined), 10_000, 'applied notice');
  assert.equal(agents[0]!.camera.settings.fps, 5);
  await waitFor(() => (viewer.registry.lookup('wall0')?.info?.fps === 5 ? true : undefined), 5000, 'info shows fps 5');

  await panel.locator('input[name="fps"]').fill('');
  await panel.locator('input[name="width"]').fill('320'); // width without height
  await panel.locator('button[type="submit"]').click();
  await waitFor(async () => ((await page.locator('#notice').textContent())?.includes('"width" and "height" must be given together') ? true : undefined), 10_000, 'refusal notice');
  assert.equal(agents[0]!.camera.settings.width, 160, 'nothing changed');
});
