import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { browserCommand, browsableHost, UnsafeUrlError } from '../../viewer/open-browser.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../harness/chromium.js';
import { freePort } from '../../harness/mosquitto.js';
import { VIEWER_CLI, waitFor, runNode } from '../helpers/processes.js';

/** Pids whose command line mentions `text` (Linux /proc), to see the browser we caused has exited. */
function pidsMentioning(text: string): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  }).map(Number);
}

test('the opener per platform: cmd start on Windows, open on macOS, xdg-open elsewhere; never a shell', () => {
  const url = 'http://127.0.0.1:8080/';
  assert.deepEqual(browserCommand(url, 'win32'), { command: 'cmd.exe', args: ['/d', '/c', 'start', '""', url], verbatim: true });
  assert.deepEqual(browserCommand(url, 'darwin'), { command: 'open', args: [url], verbatim: false });
  assert.deepEqual(browserCommand(url, 'linux'), { command: 'xdg-open', args: [url], verbatim: false });
  assert.deepEqual(browserCommand('http://[::1]:8080/', 'win32').args.at(-1), 'http://[::1]:8080/');
  assert.equal(browsableHost('0.0.0.0'), '127.0.0.1');
  assert.equal(browsableHost('::'), '::1');
  assert.equal(browsableHost('192.168.1.5'), '192.168.1.5');
});

test('URLs that cmd.exe or a shell could read as commands are refused', () => {
  for (const bad of ['http://127.0.0.1:8080/&calc', 'http://127.0.0.1:8080/" & calc & "', 'http://a b/', 'http://x/%PATH%', 'http://x/|calc', 'file:///etc/passwd', 'http://x/^', 'javascript:alert(1)']) {
    assert.throws(() => browserCommand(bad, 'win32'), UnsafeUrlError, bad);
  }
});

test('--open on Linux runs the real xdg-open, which starts the browser named in $BROWSER and it opens the page', async (t) => {
  if (!fs.existsSync('/usr/bin/xdg-open')) { t.skip('xdg-open is not installed (apt-get install xdg-utils)'); return; }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-open-'));
  t.after(() => fs.rmSync(profile, { recursive: true, force: true }));
  const port = await freePort();
  // xdg-open without a desktop uses $BROWSER (%s is the URL). Chromium loads the page, lets it run for
  // 3 s of virtual time (its WebSocket connects), prints the DOM and exits.
  const browser = [CHROMIUM_PATH, ...CHROMIUM_ARGS, `--user-data-dir=${profile}`, '--virtual-time-budget=3000', '--dump-dom', '%s'].join(' ');
  const viewer = runNode(VIEWER_CLI, ['--broker', 'mqtt://127.0.0.1:1', '--listen', `127.0.0.1:${port}`, '--open'], { BROWSER: browser, DISPLAY: '', WAYLAND_DISPLAY: '' });
  try {
    await viewer.waitFor(new RegExp(`opening the page in the default browser url=http://127\\.0\\.0\\.1:${port}/ command=xdg-open`));
    await viewer.waitFor(/page connected pages=1/, 20_000);
    await viewer.waitFor(/page closed pages=0/, 20_000);
    // The browser exits by itself after --dump-dom; wait for that so no process outlives the test.
    await waitFor(() => (pidsMentioning(profile).length === 0 ? true : undefined), 15_000, 'the browser to exit');
  } finally {
    assert.equal(await viewer.stop('SIGTERM'), 0, viewer.output());
  }
});
