import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { freePort, startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { AGENT_CLI, VIEWER_CLI, runNode, sleep, type RunningProcess } from '../helpers/processes.js';

// A page that reads its WebSocket far slower than frames come must not make the viewer buffer: each page
// gets the newest frame only. 15 s of a 30 fps camera with large frames, one fast page (a ws client) and
// one deliberately slow page: a raw WebSocket handshake over TCP, then at most one socket buffer read every
// 100 ms (some 160 KiB/s against a stream of several MiB/s). The viewer's RSS is sampled from /proc: queueing
// for the slow page would add some 50 MiB after the baseline, against 1 MiB measured.

const DURATION_MS = 15_000;
const FPS = 30;

let broker: RunningBroker;
let frames: { dir: string; frames: Buffer[] };
const running: RunningProcess[] = [];
const sockets: Array<{ terminate(): void }> = [];

before(async () => {
  broker = await startMosquitto();
  frames = await makeJpegFolder(6, 1280, 720, 90);
});
after(async () => {
  for (const s of sockets) s.terminate();
  for (const p of running) await p.stop('SIGKILL');
  await broker.stop();
  fs.rmSync(frames.dir, { recursive: true, force: true });
});

function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

function openPage(url: string): Promise<{ socket: WebSocket; frames: () => number; bytes: () => number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    sockets.push(socket);
    let count = 0;
    let bytes = 0;
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) { count++; bytes += data.length; }
    });
    socket.once('open', () => resolve({ socket, frames: () => count, bytes: () => bytes }));
    socket.once('error', reject);
  });
}

/** A WebSocket client that reads as slowly as we like: the handshake by hand, then paused-mode reads. */
function openSlowPage(port: number): Promise<{ readSome: () => void; bytes: () => number; close: () => void }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let bytes = 0;
    socket.once('error', reject);
    sockets.push({ terminate: () => socket.destroy() });
    socket.once('connect', () => {
      socket.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      socket.once('readable', () => {
        const head = socket.read() as Buffer | null;
        if (!head || !head.toString('latin1').startsWith('HTTP/1.1 101')) return reject(new Error(`no upgrade: ${head?.toString('latin1').slice(0, 80)}`));
        bytes += head.length;
        resolve({
          readSome: () => { const chunk = socket.read() as Buffer | null; if (chunk) bytes += chunk.length; },
          bytes: () => bytes,
          close: () => socket.destroy(),
        });
      });
    });
  });
}

const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;

test('a slow page for 15 s at 30 fps: the viewer keeps one frame per camera for it and its memory stays flat', async () => {
  const frameBytes = Math.max(...frames.frames.map((f) => f.length));
  const port = await freePort();
  const viewer = runNode(VIEWER_CLI, ['--broker', broker.url, '--listen', `127.0.0.1:${port}`]);
  running.push(viewer);
  await viewer.waitFor(/connected to broker/);
  const agent = runNode(AGENT_CLI, ['--broker', broker.url, '--camera-id', 'busy', '--source', `file:${frames.dir}`, '--fps', String(FPS), '--stats-interval', '1']);
  running.push(agent);
  await agent.waitFor(/first frame published/);

  const fast = await openPage(`ws://127.0.0.1:${port}/ws`);
  const slow = await openSlowPage(port);
  const slowReader = setInterval(() => slow.readSome(), 100);

  const samples: number[] = [];
  const started = Date.now();
  while (Date.now() - started < DURATION_MS) {
    samples.push(rssBytes(viewer.child.pid!));
    await sleep(500); // the sampling step of the window: the test is the stream going on this long
  }
  clearInterval(slowReader);
  const api = (await (await fetch(`http://127.0.0.1:${port}/api/cameras`)).json()) as {
    cameras: Array<{ counters: { framesDelivered: number } }>;
    viewer: { pageFeeds: Array<{ sent: number; replaced: number; bufferedBytes: number }> };
  };
  const delivered = api.cameras[0]!.counters.framesDelivered;
  const feeds = api.viewer.pageFeeds;

  // The first seconds hold start-up allocation (buffers, JIT); the baseline is taken after them.
  const warm = samples.slice(6);
  const baseline = warm.slice(0, 6).reduce((a, b) => a + b, 0) / 6;
  const peak = Math.max(...warm);
  const last = samples.at(-1)!;
  const streamed = delivered * (frames.frames.reduce((a, f) => a + f.length, 0) / frames.frames.length);
  console.log(`# slow page, ${DURATION_MS / 1000} s at ${FPS} fps, frames ~${Math.round(frameBytes / 1024)} KiB: viewer received ${delivered} frames (${mib(streamed)})`);
  console.log(`# fast page got ${fast.frames()} frames (${mib(fast.bytes())}); slow page read ${mib(slow.bytes())}`);
  console.log(`# viewer's per-page feeds: ${JSON.stringify(feeds)}`);
  console.log(`# viewer RSS: first ${mib(samples[0]!)}, baseline ${mib(baseline)}, peak ${mib(peak)}, last ${mib(last)}, growth over baseline ${mib(peak - baseline)} (${samples.length} samples)`);

  assert.ok(delivered > 100, `the camera streamed (${delivered} frames)`);
  assert.equal(feeds.length, 2, 'both pages still connected');
  const slowFeed = feeds.reduce((a, b) => (a.sent <= b.sent ? a : b));
  assert.ok(slowFeed.replaced > 0, 'frames for the slow page were replaced by newer ones, not queued');
  // What waits for the slow page inside the viewer: one frame in flight per camera (plus at most 1 MiB of
  // summaries), never the stream.
  assert.ok(slowFeed.bufferedBytes <= 2 * frameBytes + 1024 * 1024 + 64 * 1024, `bytes queued for the slow page: ${slowFeed.bufferedBytes}`);
  assert.ok(slow.bytes() < fast.bytes() / 4, 'the slow page really was slow');
  // Generous: a viewer that queued for the slow page would grow by about the streamed volume after the
  // baseline (9 s at some 6 MiB/s).
  assert.ok(peak - baseline < 32 * 1024 * 1024, `RSS grew by ${mib(peak - baseline)} over a baseline of ${mib(baseline)}`);
  assert.ok(peak < 400 * 1024 * 1024, `RSS peak ${mib(peak)}`);
});
