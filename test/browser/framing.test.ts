import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Viewer } from '../../viewer/viewer.js';
import { launchChromium, type RunningChromium } from '../../harness/chromium.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { startViewerInProcess } from '../helpers/viewer-harness.js';

// Clickjacking (issue 16, item 8), in a real Chromium: another local web site puts the viewer in a frame
// under a decoy button. The viewer's answers forbid framing, so the frame stays empty. The page itself still works under its Content-Security-Policy.

let broker: RunningBroker;
let viewer: Viewer;
let chromium: RunningChromium;
let foreign: http.Server;
let foreignUrl: string;
let saveDir: string;

before(async () => {
  broker = await startMosquitto();
  saveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-framing-'));
  viewer = await startViewerInProcess(broker.url, ['--save-dir', saveDir]);
  // The attacker's page, on another loopback origin: the viewer's page in a frame over the whole window.
  foreign = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><body style="margin:0"><iframe id="victim" src="${viewer.url}/" style="border:0;width:1200px;height:700px;opacity:0.01"></iframe></body>`);
  });
  await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.3', resolve));
  foreignUrl = `http://127.0.0.3:${(foreign.address() as AddressInfo).port}/`;
  chromium = await launchChromium();
});
after(async () => {
  await chromium?.close();
  foreign?.close();
  await viewer?.stop();
  await broker?.stop();
  fs.rmSync(saveDir, { recursive: true, force: true });
});

test('another site cannot frame the viewer: Chromium refuses to show it in the frame, so there is nothing to click', async () => {
  const page = await chromium.context.newPage();
  const loaded = page.waitForEvent('console', { predicate: (m) => /frame-ancestors|X-Frame-Options/i.test(m.text()), timeout: 10_000 }).catch(() => undefined);
  await page.goto(foreignUrl);
  await page.locator('#victim').waitFor();
  const refusal = await loaded;
  const frame = page.frames().find((f) => f !== page.mainFrame());
  const hasViewer = await frame?.evaluate(() => document.getElementById('record') !== null).catch(() => false);
  assert.equal(hasViewer, false, 'the viewer page did not load inside the foreign frame');
  assert.ok(refusal, 'Chromium reports that the viewer refused to be framed');
  await page.close();
});

test('the page itself runs under its Content-Security-Policy: no violation, the live feed connects', async () => {
  const page = await chromium.context.newPage();
  const violations: string[] = [];
  page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text()); });
  await page.goto(viewer.url);
  await page.locator('#link.connected').waitFor({ timeout: 10_000 });
  await page.locator('#record:not([disabled])').click();
  await page.locator('#record.active').waitFor({ timeout: 10_000 });
  assert.equal(viewer.recorder.state().active, true, 'a click in the page itself starts recording');
  await page.locator('#record').click();
  await page.locator('#record:not(.active)').waitFor({ timeout: 10_000 });
  assert.deepEqual(violations, []);
  await page.close();
});
