import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { Viewer } from '../../viewer/viewer.js';
import { launchChromium, type RunningChromium } from '../../harness/chromium.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { AGENT_CLI, runNode, waitFor, type RunningProcess } from '../helpers/processes.js';
import { startViewerInProcess } from '../helpers/viewer-harness.js';

// A live tile's stale label is set in advance, as an animation that starts the moment its picture would stop
// being live (viewer/page/stale-look.ts), so a page whose scripts run late still never paints an old picture as
// live.
// One real agent (synthetic, 5 fps) is frozen with SIGSTOP (its connection stays, its frames stop) and thawed.

const KEY = 'picam/look';
const FPS = 5;
let broker: RunningBroker;
let viewer: Viewer;
let agent: RunningProcess;
let chromium: RunningChromium;
let page: Page;
const tile = `.tile[data-key="${KEY}"]`;

interface Look {
  filter: string;
  labelVisible: boolean;
  labelText: string;
  /** The scheduled animations that have not started yet: when each starts (Date.now() clock). */
  pendingStartsAtMs: number[];
  capturedAtMs: number;
}

async function look(): Promise<Look> {
  return page.evaluate((selector) => {
    const root = document.querySelector<HTMLElement>(selector)!;
    const canvas = root.querySelector('canvas')!;
    const label = root.querySelector<HTMLElement>('.stale')!;
    // document.timeline's clock is performance.now(); Date.now() - performance.now() maps it to wall time.
    const wallOffset = Date.now() - performance.now();
    const pending = [...canvas.getAnimations(), ...label.getAnimations()]
      .filter((a) => a.effect?.getComputedTiming().progress === null && a.playState === 'running')
      .map((a) => wallOffset + Number(a.startTime) + Number(a.effect!.getTiming().delay));
    return {
      filter: getComputedStyle(canvas).filter,
      labelVisible: getComputedStyle(label).visibility === 'visible',
      labelText: label.textContent ?? '',
      pendingStartsAtMs: pending,
      capturedAtMs: Number(root.dataset.capturedAt),
    };
  }, tile);
}

before(async () => {
  broker = await startMosquitto();
  viewer = await startViewerInProcess(broker.url);
  agent = runNode(AGENT_CLI, ['--broker', broker.url, '--camera-id', 'look', '--source', 'synthetic', '--fps', String(FPS), '--width', '160', '--height', '120', '--no-adaptive']);
  await agent.waitFor(/first frame published/);
  chromium = await launchChromium();
  page = await chromium.context.newPage();
  await page.goto(viewer.url);
});

after(async () => {
  agent?.child.kill('SIGCONT');
  await chromium?.close();
  await agent?.stop('SIGKILL');
  await viewer?.stop();
  await broker?.stop();
});

test('a live tile has its stale label set for the moment its frame gets too old, and not shown yet', async () => {
  await page.locator(`${tile}[data-health="live"][data-seq]`).waitFor({ timeout: 15_000 });
  // The label, with its words, is scheduled at capture + 1 s + one frame interval (+1 ms): the moment
  // tile-health.ts calls the picture behind, when no newer frame came first. The picture itself is not animated.
  const now = await look();
  assert.equal(now.filter, 'none');
  assert.equal(now.labelVisible, false);
  assert.equal(now.pendingStartsAtMs.length, 1, 'the label only');
  const due = now.capturedAtMs + 1000 + 1000 / FPS + 1;
  for (const at of now.pendingStartsAtMs) assert.ok(Math.abs(at - due) < 50, `scheduled at ${at}, due ${due}`);
  assert.match(now.labelText, /^(behind by 1\.2 s|last frame 1 s ago)$/);
});

test('frames stop: the label shows and the tile greys; they resume: it is live, with no label left over', async () => {
  agent.child.kill('SIGSTOP');
  const grey = await waitFor(async () => {
    const l = await look();
    return l.filter !== 'none' && l.labelVisible ? l : undefined;
  }, 10_000, 'the tile greyed, its label shown');
  assert.match(grey.filter, /grayscale\(1\)/);
  assert.match(grey.labelText, /^(behind by \d+\.\d s|last frame \d+ s ago)$/);

  agent.child.kill('SIGCONT');
  const live = await waitFor(async () => {
    const l = await look();
    return l.filter === 'none' && !l.labelVisible && l.capturedAtMs > grey.capturedAtMs ? l : undefined;
  }, 15_000, 'the tile live again');
  assert.equal(await page.locator(tile).getAttribute('data-health'), 'live');
  assert.equal(live.pendingStartsAtMs.length, 1, 'a new label is scheduled for the new frame');
});
