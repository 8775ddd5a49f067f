import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { freePort, startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { VIEWER_CLI, runNode, type RunningProcess } from '../helpers/processes.js';
import { rawGet, rawRequest } from '../helpers/raw-http.js';
import { stopWithin } from '../helpers/stream-rig.js';

// The page server against requests no browser of the user's would send: malformed targets that used to
// stop the viewer, foreign Host names (DNS rebinding) on a viewer shared on the network, and the headers
// that keep other pages from framing it. Each viewer is a real picam-viewer process, so a crash shows as
// an exit; traffic goes to loopback only, with Host headers forged where a test needs another name.

let broker: RunningBroker;
const viewers: RunningProcess[] = [];
before(async () => { broker = await startMosquitto(); });
after(async () => {
  for (const v of viewers) await v.stop('SIGKILL');
  await broker.stop();
});

async function spawnViewerOn(listenHost: string, extra: string[] = []): Promise<{ process: RunningProcess; port: number }> {
  const port = await freePort();
  const bracketed = listenHost.includes(':') ? `[${listenHost}]` : listenHost;
  const viewer = runNode(VIEWER_CLI, ['--broker', broker.url, '--listen', `${bracketed}:${port}`, ...extra]);
  viewers.push(viewer);
  await viewer.waitFor(/picam-viewer: open http/);
  return { process: viewer, port };
}

const stillRunning = (viewer: RunningProcess): void =>
  assert.equal(viewer.child.exitCode, null, `the viewer is still running; its output:\n${viewer.output().slice(-2000)}`);

test('malformed request targets get 400 and the viewer carries on (issue 16, item 1)', async () => {
  const { process: viewer, port } = await spawnViewerOn('127.0.0.1');
  const cases: Array<[method: string, target: string]> = [
    ['GET', '//'],
    ['GET', '//example.com/x'],
    ['GET', '/api/cameras/%ZZ/latest.jpg'],
    ['GET', '/api/cameras/%E0%A4%A/latest.jpg'],
    ['POST', '/api/cameras/%E0%A4%A/snapshot'],
    ['POST', '/api/cameras/%ZZ/control'],
    ['GET', '*'],
    ['GET', 'http://127.0.0.1/'],
  ];
  for (const [method, target] of cases) {
    const answer = await rawGet(port, target, method === 'POST' ? { 'content-length': '0' } : {}, method);
    assert.equal(answer.status, 400, `${method} ${target}: ${answer.text.slice(0, 200)}`);
    stillRunning(viewer);
  }
  const cameras = await rawGet(port, '/api/cameras');
  assert.equal(cameras.status, 200);
  assert.equal(await stopWithin(viewer), 0, 'the viewer stops cleanly');
});

test('a page in another local origin cannot stop the viewer with <img src="//">', async () => {
  // What a browser sends for the issue's <img>: the same target, with a foreign Origin-less image request.
  const { process: viewer, port } = await spawnViewerOn('127.0.0.1');
  const answer = await rawGet(port, '//', { accept: 'image/avif,image/webp,*/*', referer: 'http://127.0.0.9:8000/' });
  assert.equal(answer.status, 400);
  assert.equal((await rawGet(port, '/api/cameras')).status, 200);
  stillRunning(viewer);
});

test('shared on the network (--listen 0.0.0.0), only this computer\'s names and --allow-host are answered (issue 16, item 6)', async () => {
  const { process: viewer, port } = await spawnViewerOn('0.0.0.0', ['--allow-host', 'viewer.example.test']);
  await viewer.waitFor(/reachable from other computers/);
  const withHost = (host: string, path = '/api/cameras') => rawGet(port, path, { host: `${host}:${port}` });
  for (const own of ['127.0.0.1', 'localhost', os.hostname(), 'viewer.example.test', 'VIEWER.example.test.']) {
    assert.equal((await withHost(own)).status, 200, `Host ${own} is answered`);
  }
  for (const foreign of ['evil.example', 'evil.example@127.0.0.1', '127.0.0.1.evil.example', 'attacker.test']) {
    const answer = await withHost(foreign);
    assert.equal(answer.status, 403, `Host ${foreign} is refused: ${answer.text.slice(0, 200)}`);
    assert.match(answer.text, /--allow-host/);
    assert.equal((await withHost(foreign, '/')).status, 403, `the page itself is refused for Host ${foreign}`);
  }
  // A rebound name carries a matching Origin: the action is refused all the same.
  const control = await rawRequest(port, [
    'POST /api/cameras/garden/control HTTP/1.1', `host: evil.example:${port}`, `origin: http://evil.example:${port}`,
    'content-type: application/json', 'content-length: 10', 'connection: close', '', '{"fps": 1}',
  ].join('\r\n'));
  assert.equal(control.status, 403);
  // And so is the live feed.
  const refused = await new Promise<number>((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { host: `evil.example:${port}`, origin: `http://evil.example:${port}` } });
    socket.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); socket.terminate(); });
    socket.once('open', () => { socket.terminate(); reject(new Error('the WebSocket opened for a foreign Host')); });
    socket.once('error', () => undefined);
  });
  assert.equal(refused, 403);
  assert.match(viewer.output(), /request refused.*evil\.example/);
  stillRunning(viewer);
});

test('every loopback address counts as loopback: --listen 127.0.0.2 and [::1] answer only loopback names', async () => {
  for (const listen of ['127.0.0.2', '::1']) {
    const { process: viewer, port } = await spawnViewerOn(listen);
    const own = listen.includes(':') ? `[${listen}]` : listen;
    const get = (host: string) => rawRequest(port, `GET /api/cameras HTTP/1.1\r\nhost: ${host}:${port}\r\nconnection: close\r\n\r\n`, { host: listen });
    assert.equal((await get(own)).status, 200, `Host ${own}`);
    assert.equal((await get('localhost')).status, 200, 'Host localhost');
    assert.equal((await get('evil.example')).status, 403, `a foreign Host on ${listen}`);
    assert.equal((await get(os.hostname())).status, 403, `on loopback the machine's own name is not needed, so it is refused (${listen})`);
    assert.doesNotMatch(viewer.output(), /reachable from other computers/, `${listen} is not announced as reachable from the network`);
    assert.equal(await stopWithin(viewer), 0);
  }
});

test('no other page may frame the viewer: every answer forbids it, with a tight CSP (issue 16, item 8)', async () => {
  const { port } = await spawnViewerOn('127.0.0.1');
  for (const path of ['/', '/app.js', '/style.css', '/api/cameras', '/api/cameras/none/latest.jpg', '/nothing', '//']) {
    const answer = await rawGet(port, path);
    const csp = answer.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/, `${path}: CSP ${csp}`);
    assert.match(csp, /default-src 'none'/, `${path}: CSP ${csp}`);
    assert.match(csp, /script-src 'self'(;|$)/, `${path}: no inline or foreign script`);
    assert.equal(answer.headers.get('x-frame-options'), 'DENY', path);
  }
});
