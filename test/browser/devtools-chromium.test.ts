import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { launchDevToolsChromium, type DevToolsChromium } from '../../harness/devtools-chromium.js';

// The benchmark's own browser driver (harness/devtools-chromium.ts), against a real Chromium: windows of the
// asked size that both count as visible, init scripts before the page's own, answers and errors from the
// page, and the point of it: the page's WebSocket traffic does not come back over the protocol.

const MESSAGES = 40;
const MESSAGE_BYTES = 128 * 1024;
const PAGE = `<!doctype html><script>
  window.__pageSawInit = window.__init === 'before';
  window.__bytes = 0;
  const socket = new WebSocket('ws://' + location.host);
  socket.binaryType = 'arraybuffer';
  socket.onmessage = (e) => { window.__bytes += e.data.byteLength; };
</script>`;

let server: http.Server;
let url: string;
let chromium: DevToolsChromium;

before(async () => {
  server = http.createServer((_request, response) => response.end(PAGE));
  const sockets = new WebSocketServer({ server });
  sockets.on('connection', (socket) => { for (let i = 0; i < MESSAGES; i++) socket.send(Buffer.alloc(MESSAGE_BYTES, i)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  chromium = await launchDevToolsChromium();
});

after(async () => {
  await chromium?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

test('two windows of the asked size, both visible; init script first; answers, errors and waits', async () => {
  const size = { width: 1000, height: 700 };
  const pages = [await chromium.openWindow(url, size, "window.__init = 'before';"), await chromium.openWindow(url, size, "window.__init = 'before';")];
  const facts = await Promise.all(pages.map(async (page) => {
    await page.waitForFunction((n) => (window as unknown as { __bytes: number }).__bytes >= n, MESSAGES * MESSAGE_BYTES, 20_000);
    return page.evaluate(() => ({ width: innerWidth, height: innerHeight, visibility: document.visibilityState, sawInit: (window as unknown as { __pageSawInit: boolean }).__pageSawInit }));
  }));
  for (const f of facts) assert.deepEqual(f, { width: 1000, height: 700, visibility: 'visible', sawInit: true });
  assert.equal(await pages[0]!.evaluate((n) => Promise.resolve(n * 2), 21), 42, 'an argument in, a promise\'s value out');
  await assert.rejects(pages[0]!.evaluate(() => { throw new Error('boom in the page'); }), /in the page: Error: boom in the page/);
  await assert.rejects(pages[1]!.waitForFunction(() => false, undefined, 300), /timed out after 300 ms waiting in http:\/\/127\.0\.0\.1:\d+\/ for/);
  // Each page received 5 MiB over its WebSocket; the protocol carried replies only.
  assert.ok(chromium.protocolBytes() < 256 * 1024, `protocol bytes ${chromium.protocolBytes()}`);
});

test('close ends the browser, twice is harmless, and a closed browser says so', async () => {
  const own = await launchDevToolsChromium();
  const page = await own.openWindow(url, { width: 400, height: 300 });
  const pid = own.pid;
  await own.close();
  await own.close();
  assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the browser process is gone');
  await assert.rejects(page.evaluate(() => 1), /chromium has exited/);
});
