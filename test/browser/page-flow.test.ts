import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { Agent } from '../../agent/agent.js';
import { createSource, type CaptureSettings } from '../../agent/capture/registry.js';
import { agentOptions, captureSettings } from '../../agent/config.js';
import { silentLogger } from '../../common/logger.js';
import { parseOptions } from '../../common/options.js';
import { FRAME_CREDIT } from '../../viewer/client-feed.js';
import type { Viewer } from '../../viewer/viewer.js';
import { launchChromium, type RunningChromium } from '../../harness/chromium.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { LinkEmulator } from '../../harness/link-emulator.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { sleep, waitFor } from '../helpers/processes.js';
import { startViewerInProcess } from '../helpers/viewer-harness.js';

// The page at fleet scale (issue 20), in a real Chromium: six cameras replaying JPEG files at 12 fps, shown
// in a grid (more than four tiles: thumbnails). Every frame the page draws is recorded from outside its own
// figures, by a MutationObserver on the tile's data-captured-at (set when a frame goes on the canvas).

const CAMERAS = 6;
const FPS = 12;
const THUMBNAIL_FPS = 3;
let broker: RunningBroker;
let viewer: Viewer;
let chromium: RunningChromium;
let frames: { dir: string };
const agents: Agent[] = [];

const RECORDER = `
  window.__draws = [];
  new MutationObserver((records) => {
    const now = Date.now();
    for (const r of records) window.__draws.push([r.target.dataset.key, Number(r.target.dataset.capturedAt), now]);
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-captured-at'] });
`;
type Draw = [key: string, capturedAtMs: number, drawnAtMs: number];

async function drawsSince(page: Page, index: number): Promise<Draw[]> {
  return page.evaluate((from) => (window as unknown as { __draws: Draw[] }).__draws.slice(from), index);
}
const drawCount = (page: Page): Promise<number> => page.evaluate(() => (window as unknown as { __draws: unknown[] }).__draws.length);

async function openGrid(url: string): Promise<Page> {
  const page = await chromium.context.newPage();
  await page.goto(url);
  await page.waitForFunction((n) => document.querySelectorAll('.tile[data-seq]').length === n, CAMERAS, { timeout: 30_000 });
  return page;
}

before(async () => {
  broker = await startMosquitto();
  frames = await makeJpegFolder(12, 320, 240);
  for (let i = 0; i < CAMERAS; i++) {
    const argv = ['--broker', broker.url, '--camera-id', `flow${i}`, '--source', `file:${frames.dir}`, '--fps', String(FPS), '--no-adaptive', '--stats-interval', '1'];
    const config = parseOptions(agentOptions, { argv, env: {}, envPrefix: 'PICAM_TEST_' }).values;
    const build = (settings: CaptureSettings) => createSource(`file:${frames.dir}`, settings, silentLogger);
    agents.push(new Agent({ config, source: build(captureSettings(config)), recreateSource: build, logger: silentLogger, version: 'test' }));
  }
  await Promise.all(agents.map((a) => a.start()));
  viewer = await startViewerInProcess(broker.url, ['--thumbnail-fps', String(THUMBNAIL_FPS)]);
  chromium = await launchChromium({ width: 1600, height: 1000 });
  await chromium.context.addInitScript(RECORDER);
});
after(async () => {
  await chromium?.close();
  await viewer?.stop();
  await Promise.all(agents.map((a) => a.stop()));
  await broker?.stop();
  if (frames) fs.rmSync(frames.dir, { recursive: true, force: true });
});

test('thumbnails run at the configured rate, chosen by capture time, and the overlay says so', async () => {
  const page = await openGrid(viewer.url);
  await page.locator('.tile .line', { hasText: `thumbnail ${THUMBNAIL_FPS} fps` }).first().waitFor({ timeout: 10_000 });
  const start = await drawCount(page);
  const feedBefore = viewer.cameraStates().viewer.pageFeeds[0]!;
  // Enough draws for a steady figure: 8 per camera.
  await page.waitForFunction(([from, n]) => (window as unknown as { __draws: unknown[] }).__draws.length >= from! + n!, [start, CAMERAS * 8], { timeout: 30_000 });
  const draws = await drawsSince(page, start);
  const feedAfter = viewer.cameraStates().viewer.pageFeeds[0]!;
  const spacing: number[] = [];
  for (let i = 0; i < CAMERAS; i++) {
    const mine = draws.filter((d) => d[0] === `picam/flow${i}`).map((d) => d[1]);
    for (let j = 1; j < mine.length; j++) spacing.push(mine[j]! - mine[j - 1]!);
  }
  spacing.sort((a, b) => a - b);
  const median = spacing[Math.floor(spacing.length / 2)]!;
  const mean = spacing.reduce((a, b) => a + b, 0) / spacing.length;
  console.log(`# thumbnails at ${THUMBNAIL_FPS} fps from ${FPS} fps cameras: capture-time spacing of drawn frames median ${median} ms, mean ${mean.toFixed(0)} ms (${spacing.length} intervals); viewer sent ${feedAfter.sent - feedBefore.sent}, skipped ${feedAfter.skipped - feedBefore.skipped}`);
  // Frames come every 1000/12 ms, thumbnails are due every 1000/3 ms: the median spacing is one interval,
  // within one camera frame; the mean is no shorter (the page may drop one now and then, never add one).
  const interval = 1000 / THUMBNAIL_FPS;
  assert.ok(Math.abs(median - interval) <= 1000 / FPS, `median spacing ${median} ms, expected ${interval.toFixed(0)} ± ${(1000 / FPS).toFixed(0)}`);
  assert.ok(mean >= interval - 1000 / FPS / 2, `mean spacing ${mean.toFixed(0)} ms: never faster than the thumbnail rate`);
  // The overlay: one line, with the drawn rate and the thumbnail limit.
  assert.match(await page.locator('.tile[data-key="picam/flow0"] .line').innerText(), /^\d+\.\d fps · -?\d+ ms · thumbnail 3 fps( ⚠ \d+)?$/);
  await page.close();
});

test('a page whose tab is hidden is sent no frames, and is sent them again when shown', async () => {
  const page = await openGrid(viewer.url);
  const feed = () => viewer.cameraStates().viewer.pageFeeds.at(-1)!;
  // Headless Chromium keeps every page visible: the test stands in for the browser hiding the tab.
  const setHidden = (hidden: boolean) => page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
  await setHidden(true);
  // Two seconds of every camera's frames go by: any frame sent before the page's word arrived has gone by then.
  const skippedAtHide = feed().skipped;
  await waitFor(() => (feed().skipped >= skippedAtHide + 2 * CAMERAS * FPS ? true : undefined), 10_000, 'frames skipped while hidden');
  const sentWhileHidden = feed().sent;
  const skipped = feed().skipped;
  await waitFor(() => (feed().skipped >= skipped + CAMERAS * FPS ? true : undefined), 10_000, 'a second of frames skipped');
  assert.equal(feed().sent, sentWhileHidden, 'no frame sent to a hidden page');
  const drawn = await drawCount(page);
  await setHidden(false);
  await page.waitForFunction((n) => (window as unknown as { __draws: unknown[] }).__draws.length >= n, drawn + CAMERAS, { timeout: 10_000 });
  assert.ok(feed().sent > sentWhileHidden, 'frames again once shown');
  await page.close();
});

test('a deliberately slow page (CPU throttled through CDP) keeps latency bounded, says which tiles are behind, and its overlay keeps updating', async () => {
  const page = await openGrid(viewer.url);
  const cdp = await chromium.context.newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 12 });
  try {
    await sleep(2000); // a warm-up, not a wait: what is measured is the throttled page's steady pace, not the switch to it
    const start = await drawCount(page);
    const summaries = Number(await page.evaluate(() => document.body.dataset.summaries));
    const overlays = Number(await page.evaluate(() => document.body.dataset.overlayUpdates));
    const unflagged: string[] = [];
    let behind = 0;
    let maxUnacknowledged = 0;
    let maxBuffered = 0;
    const until = Date.now() + 8000;
    while (Date.now() < until) {
      const feed = viewer.cameraStates().viewer.pageFeeds[0]!;
      maxUnacknowledged = Math.max(maxUnacknowledged, feed.unacknowledged);
      maxBuffered = Math.max(maxBuffered, feed.bufferedBytes);
      // A tile is behind when its frame is older than 1 s plus a thumbnail interval; the page judges every
      // 250 ms (slower when throttled), so a tile counts as unflagged only 750 ms past that.
      const tiles = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('.tile')).map((t) => ({ key: t.dataset.key!, age: Date.now() - Number(t.dataset.capturedAt), health: t.dataset.health, text: t.querySelector('.stale')!.textContent })));
      for (const t of tiles) {
        if (t.age > 1000 + 1000 / THUMBNAIL_FPS) behind++;
        if (t.age > 1750 + 1000 / THUMBNAIL_FPS && t.health === 'live') unflagged.push(`${t.key} ${t.age} ms`);
        if (t.health === 'behind') assert.match(t.text ?? '', /^behind by \d+(\.\d)? s$/);
      }
      await sleep(300); // the sampling step of the 8 s window
    }
    const draws = await drawsSince(page, start);
    const latencies = draws.map((d) => d[2] - d[1]).sort((a, b) => a - b);
    const p95 = latencies[Math.floor(latencies.length * 0.95)] ?? NaN;
    const newSummaries = Number(await page.evaluate(() => document.body.dataset.summaries)) - summaries;
    const newOverlays = Number(await page.evaluate(() => document.body.dataset.overlayUpdates)) - overlays;
    console.log(`# throttled page (CPU ÷12), 8 s: ${draws.length} frames drawn, capture→draw p95 ${p95} ms, max ${latencies.at(-1)} ms; ` +
      `behind samples ${behind}, looked live ${unflagged.length}; viewer: at most ${maxUnacknowledged} frames unacknowledged, ${maxBuffered} bytes buffered; ` +
      `${newSummaries} summaries and ${newOverlays} overlay refreshes arrived`);
    assert.ok(draws.length > 0, 'the slow page still draws');
    // Bounded: a few frames in flight per camera whatever the page's pace, so latency cannot build up.
    assert.ok(maxUnacknowledged <= CAMERAS * FRAME_CREDIT, `unacknowledged frames ${maxUnacknowledged}`);
    assert.ok(maxBuffered <= CAMERAS * FRAME_CREDIT * 64 * 1024, `bytes buffered for the page ${maxBuffered}`);
    // What bounds latency is the credit above (a frame waits behind at most one other of its camera); the
    // figure itself depends on how starved the shared machine is (2–4 s seen at load 10–28), so only a
    // build-up past any sensible bound fails here. Figures: npm run bench:page.
    assert.ok(p95 < 10_000, `capture → draw p95 ${p95} ms stays bounded`);
    assert.deepEqual(unflagged, [], 'every tile that is behind says so');
    assert.ok(newSummaries >= 4, `summaries keep coming to a busy page: ${newSummaries} in 8 s`);
    assert.ok(newOverlays >= 4, `the overlay keeps refreshing: ${newOverlays} in 8 s`);
  } finally {
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 }).catch(() => undefined);
    await page.close();
  }
});

test('frames that still come but late (a viewer 2 s behind its broker) grey the tiles with "behind by N s"', async () => {
  // The viewer's own link to the broker: straight at first (so it connects and subscribes in good time), then
  // holding every byte for 2 s each way. Frames keep coming at full rate, each 2 s late (the tile's limit is
  // 1 s plus a thumbnail interval).
  const link = new LinkEmulator({ host: '127.0.0.1', port: broker.port }, { rttMs: 0 });
  await link.start();
  let late: Viewer | undefined;
  try {
    late = await startViewerInProcess(link.url, ['--thumbnail-fps', String(THUMBNAIL_FPS)]);
    const page = await openGrid(late.url);
    const tile = page.locator('.tile[data-key="picam/flow0"]');
    assert.equal(await tile.getAttribute('data-health'), 'live', 'live while the link is straight');
    link.setShape({ rttMs: 4000 });
    await page.locator('.tile[data-key="picam/flow0"][data-health="behind"]').waitFor({ timeout: 15_000 });
    assert.match(await tile.locator('.stale').innerText(), /^behind by \d+\.\d s$/);
    assert.equal(await tile.getAttribute('data-stale'), 'true');
    const seq = Number(await tile.getAttribute('data-seq'));
    await waitFor(async () => (Number(await tile.getAttribute('data-seq')) > seq ? true : undefined), 10_000, 'frames still drawn');
    assert.equal(await tile.getAttribute('data-health'), 'behind', 'still behind while frames trickle in');
    await page.close();
  } finally {
    await late?.stop();
    await link.stop();
  }
});
