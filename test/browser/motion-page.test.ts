import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { clipSpecs, makeClip, writeClip } from '../../bench/motion-clips.js';
import type { Viewer } from '../../viewer/viewer.js';
import { launchChromium, type RunningChromium } from '../../harness/chromium.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { AGENT_CLI, runNode, type RunningProcess } from '../helpers/processes.js';
import { startViewerInProcess } from '../helpers/viewer-harness.js';

// Motion on the page, in a real Chromium: picam-agent --motion replays a clip with a walking figure (file:
// source), the page marks the camera while the agent says ON, and lists the event with its picture.

const KEY = 'picam/walk';
const tile = `.tile[data-key="${KEY}"]`;
let broker: RunningBroker;
let viewer: Viewer;
let agent: RunningProcess;
let chromium: RunningChromium;
let page: Page;
let dir: string;

before(async () => {
  broker = await startMosquitto();
  viewer = await startViewerInProcess(broker.url);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-motion-page-'));
  writeClip(await makeClip(clipSpecs(320, 240).find((s) => s.name === 'medium')!), dir);
  agent = runNode(AGENT_CLI, ['--broker', broker.url, '--camera-id', 'walk', '--source', `file:${dir}`, '--fps', '10', '--motion', '--motion-hold', '1', '--no-adaptive']);
  chromium = await launchChromium();
  page = await chromium.context.newPage();
  await page.goto(viewer.url);
});

after(async () => {
  await chromium?.close();
  await agent?.stop('SIGKILL');
  await viewer?.stop();
  await broker?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The tile's motion state and its badge, read in one turn of the page: the clip loops, so the state can change
 *  between two separate reads. */
async function tileWhen(state: 'ON' | 'OFF'): Promise<{ badgeShown: boolean; className: string }> {
  const handle = await page.waitForFunction(([selector, wanted]) => {
    const root = document.querySelector<HTMLElement>(selector);
    if (root?.dataset.motion !== wanted) return null;
    const badge = root.querySelector<HTMLElement>('.badge.motion');
    return { badgeShown: badge !== null && getComputedStyle(badge).display !== 'none', className: root.className };
  }, [tile, state] as const, { timeout: 20_000 });
  return (await handle.jsonValue())!;
}

test('the page marks a camera in motion and lists its events with a picture', async () => {
  assert.equal((await tileWhen('OFF')).badgeShown, false, 'no badge while OFF');

  const on = await tileWhen('ON');
  assert.equal(on.badgeShown, true, 'a badge while ON');
  assert.match(on.className, /in-motion/);
  const item = page.locator(`${tile} ol.events li`).first();
  await item.waitFor({ timeout: 10_000 });
  const loaded = await item.locator('img').evaluate(async (img: HTMLImageElement) => {
    if (!img.complete) await new Promise((resolve) => img.addEventListener('load', resolve, { once: true }));
    return img.naturalWidth;
  });
  assert.equal(loaded, 320, 'the event\'s picture is the camera\'s frame');
  assert.match(await item.innerText(), /going on|\d+(\.\d)? s/);

  assert.equal((await tileWhen('OFF')).badgeShown, false, 'the badge goes with OFF');
  assert.match(await page.locator(`${tile} ol.events li`).first().innerText(), /\d+(\.\d)? s · /, 'the ended event shows its length');
});
