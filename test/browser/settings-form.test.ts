import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium, type RunningChromium } from '../../harness/chromium.js';
import { freePort } from '../../harness/mosquitto.js';
import { ROOT, runNode, type RunningProcess } from '../helpers/processes.js';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.js';

// The desktop viewer (picam-viewer.exe's entry point, run here by Linux Node: the settings file goes under
// $XDG_CONFIG_HOME instead of %APPDATA%) in a real Chromium: first start on the form, a wrong password told in
// the page, the Settings button, the saved file for its owner only, SIGHUP (a closed console) stops it cleanly,
// and the next start connects at once. The same flow runs inside the real exe under Wine in test/windows/.

const EXE_MAIN = path.join(ROOT, 'dist/viewer/desktop/exe-main.js');
let secure: SecureBroker;
let chromium: RunningChromium;
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-desktop-'));
const running: RunningProcess[] = [];

before(async () => {
  secure = await startSecureBroker();
  chromium = await launchChromium();
});
after(async () => {
  for (const p of running) await p.stop('SIGKILL');
  await chromium?.close();
  await secure?.stop();
  fs.rmSync(home, { recursive: true, force: true });
});

test('first start opens the form; a wrong password is told in the page; the saved settings are the next start\'s', async () => {
  const port = await freePort();
  const env = { XDG_CONFIG_HOME: home, PICAM_VIEWER_LISTEN: `127.0.0.1:${port}`, PICAM_VIEWER_OPEN: 'false' };
  let viewer = runNode(EXE_MAIN, [], env);
  running.push(viewer);
  await viewer.waitFor(/the page is at http:\/\/127\.0\.0\.1:\d+/);
  const page = await chromium.context.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForURL(/\/settings$/);
  assert.equal(await page.isVisible('#ca-row'), false, 'no CA field for mqtt://');
  await page.fill('input[name=broker]', 'mqtts://127.0.0.1:1');
  assert.equal(await page.isVisible('#ca-row'), true, 'the CA field shows for mqtts://');
  await page.fill('input[name=caFile]', path.join(home, 'missing.pem'));
  await page.click('button[type=submit]');
  await page.waitForSelector('#settings-problems:not([hidden])');
  assert.match(await page.textContent('#settings-problems') ?? '', /^CA file .*missing\.pem cannot be read \(ENOENT\)/);

  await page.fill('input[name=broker]', secure.url);
  await page.fill('input[name=username]', 'viewer');
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('button[type=submit]');
  await page.waitForURL(`http://127.0.0.1:${port}/`, { timeout: 30_000 });
  // The page's alert gains the reason once the viewer has tried the broker.
  await page.waitForFunction(() => /retrying\. \S/.test(document.getElementById('alerts')?.textContent ?? ''), undefined, { timeout: 30_000 });
  const alert = await page.textContent('#alerts') ?? '';
  assert.match(alert, /not connected to the MQTT broker; it keeps retrying\. the broker refused the login: check the user name and password/);
  console.log(`# wrong password, in the page: ${alert}`);

  await page.click('#settings');
  await page.waitForURL(/\/settings$/);
  assert.equal(await page.inputValue('input[name=username]'), 'viewer');
  assert.equal(await page.getAttribute('input[name=password]', 'placeholder'), '(saved; type to change)');
  await page.fill('input[name=password]', secure.passwords.viewer);
  await page.click('button[type=submit]');
  await page.waitForURL(`http://127.0.0.1:${port}/`, { timeout: 30_000 });
  await page.waitForFunction(() => document.getElementById('alerts')?.textContent === '', undefined, { timeout: 30_000 });
  await page.close();

  const file = path.join(home, 'picam-viewer', 'viewer.yaml');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'the settings file is its owner\'s only');
  assert.match(fs.readFileSync(file, 'utf8'), new RegExp(`^password: ${secure.passwords.viewer}$`, 'm'));
  assert.equal(fs.readdirSync(path.dirname(file)).length, 1, 'no temporary file left beside it');

  // Closing the console window is SIGHUP to Node on Windows (and a closed terminal here).
  assert.equal(await viewer.stop('SIGHUP'), 0, viewer.output());
  assert.match(viewer.output(), /viewer stopped/);
  assert.doesNotMatch(viewer.output(), new RegExp(secure.passwords.viewer), 'the password is never logged');

  viewer = runNode(EXE_MAIN, [], env);
  running.push(viewer);
  await viewer.waitFor(/connected to broker/);
  const settings = (await (await fetch(`http://127.0.0.1:${port}/api/settings`)).json()) as Record<string, unknown>;
  assert.equal(settings.configured, true);
  assert.equal(settings.hasPassword, true);
  assert.equal(JSON.stringify(settings).includes(secure.passwords.viewer), false, 'the password never leaves the viewer');
  assert.equal(await viewer.stop('SIGTERM'), 0, viewer.output());
});
