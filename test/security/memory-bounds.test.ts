import assert from 'node:assert/strict';
import fs from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { chunkFrame } from '../../protocol/chunker.js';
import { HEADER_LENGTH, writeHeader } from '../../protocol/header.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { mib, peakRssOf, rssOf } from '../helpers/probe-reader.js';
import { waitFor } from '../helpers/processes.js';
import { spawnViewer, stopWithin, type RunningViewer } from '../helpers/stream-rig.js';

// The viewer's memory bounds (docs/SECURITY.md §7) against a camera account that tries to break them, on a
// real picam-viewer process: overlapping chunks (issue 16, item 2), many cameras' newest frames (item 13),
// and more page connections than allowed.

let broker: RunningBroker;
const viewers: RunningViewer[] = [];
const clients: MqttClient[] = [];
before(async () => { broker = await startMosquitto(); });
after(async () => {
  for (const c of clients) await c.endAsync(true).catch(() => undefined);
  for (const v of viewers) await v.process.stop('SIGKILL');
  await broker.stop();
});

async function viewer(args: string[] = []): Promise<RunningViewer> {
  const v = await spawnViewer(broker.url, args);
  viewers.push(v);
  return v;
}

async function camera(): Promise<MqttClient> {
  const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
  clients.push(c);
  return c;
}

/** What frames in flight may cost (the reassembler's 64 MiB budget), plus room for messages being parsed and garbage not yet collected. */
const IN_FLIGHT_BOUND = 64 * 1024 * 1024;
const TRANSIENT_ALLOWANCE = 64 * 1024 * 1024;

test('overlapping chunks, 400 MB of them for one frame: the viewer\'s RSS stays within the frames-in-flight bound (item 2)', { timeout: 120_000 }, async () => {
  const v = await viewer();
  const attacker = await camera();
  await attacker.publishAsync('picam/overlap/status', 'online', { qos: 1 });
  const pid = v.process.child.pid!;
  await waitFor(async () => ((await v.api()).cameras.length === 1 ? true : undefined), 10_000, 'the camera is known');
  const before = rssOf(pid);
  const payload = Buffer.alloc(1024 * 1024, 0x55);
  const frameLength = 8 * 1024 * 1024 - 1;
  const capturedAtUs = Date.now() * 1000;
  const batches: Array<Promise<unknown>> = [];
  for (let index = 1; index <= 400; index++) {
    const message = Buffer.alloc(HEADER_LENGTH + payload.length);
    // Each chunk claims a place of its own (offset = index passes the header checks), yet all overlap.
    writeHeader(message, { streamId: 7, seq: 1, index, count: 65535, frameLength, offset: index, crc: 0, capturedAtUs });
    payload.copy(message, HEADER_LENGTH);
    batches.push(attacker.publishAsync('picam/overlap/frame', message, { qos: 0 }));
    if (batches.length === 50) await Promise.all(batches.splice(0));
  }
  await Promise.all(batches);
  // A QoS 1 message after the flood: once the viewer has it, it has read everything before it.
  await attacker.publishAsync('picam/overlap/status', 'offline', { qos: 1 });
  const api = await waitFor(async () => {
    const a = await v.api();
    return a.cameras[0]?.status === 'offline' ? a : undefined;
  }, 60_000, 'the viewer read the whole flood');
  const peak = peakRssOf(pid);
  const counters = api.cameras[0]!.counters!;
  console.log(`# overlapping chunks: 400 x 1 MiB for one frame; viewer RSS ${mib(before)} MiB before, peak ${mib(peak)} MiB, ${mib(rssOf(pid))} MiB after; ` +
    `rejected ${JSON.stringify(api.viewer.rejectedChunks)}, pending ${api.viewer.pendingBytes} bytes`);
  assert.equal(counters.chunksReceived, 400);
  // Seven 1 MiB chunks fill the declared 8 MiB; the rest are refused. (When the flood outlasts the 2 s frame
  // timeout, the frame is dropped and the next chunk starts it again: seven more then fit.)
  assert.ok((api.viewer.rejectedChunks.overflow ?? 0) >= 300, 'the chunks past the declared length were refused');
  assert.ok(peak - before < IN_FLIGHT_BOUND + TRANSIENT_ALLOWANCE, `RSS grew by ${mib(peak - before)} MiB (bound ${mib(IN_FLIGHT_BOUND + TRANSIENT_ALLOWANCE)} MiB)`);
  assert.equal(v.process.child.exitCode, null);
  assert.equal(await stopWithin(v.process), 0);
});

test('the newest frames of many cameras stay within --max-latest-bytes: the stalest let theirs go (item 13)', async () => {
  const v = await viewer(['--max-latest-bytes', String(1024 * 1024)]);
  const { frames, dir } = await makeJpegFolder(1, 1280, 720, 95);
  fs.rmSync(dir, { recursive: true, force: true });
  const jpeg = frames[0]!;
  assert.ok(jpeg.length > 200_000, `a large frame: ${jpeg.length} bytes`);
  const sender = await camera();
  const ids = Array.from({ length: 8 }, (_, i) => `big${i}`);
  for (const [i, id] of ids.entries()) {
    await sender.publishAsync(`picam/${id}/status`, 'online', { qos: 1 });
    for (const c of chunkFrame({ streamId: 1, seq: i, capturedAtUs: Date.now() * 1000, data: jpeg }, 64 * 1024)) await sender.publishAsync(`picam/${id}/frame`, c, { qos: 1 });
    await waitFor(async () => ((await v.counters(id))?.framesDelivered === 1 ? true : undefined), 10_000, `${id}'s frame`);
    const api = (await (await fetch(`${v.url}/api/cameras`)).json()) as { viewer: { latestBytes: number } };
    assert.ok(api.viewer.latestBytes <= Math.max(1024 * 1024, jpeg.length), `newest frames held: ${api.viewer.latestBytes} bytes`);
  }
  const newest = await fetch(`${v.url}/api/cameras/big7/latest.jpg`);
  assert.equal(newest.status, 200);
  assert.deepEqual(Buffer.from(await newest.arrayBuffer()), jpeg);
  const stalest = await fetch(`${v.url}/api/cameras/big0/latest.jpg`);
  assert.equal(stalest.status, 404);
  assert.match(await stalest.text(), /--max-latest-bytes/);
  const summary = (await v.api()).cameras.find((c) => c.cameraId === 'big0')!;
  assert.equal(summary.lastSeq, 0, 'the camera still shows when its last frame came');
  assert.equal(await stopWithin(v.process), 0);
});

test('at most --max-pages page connections: one more is refused with 503 until one closes', async () => {
  const v = await viewer(['--max-pages', '2']);
  const ws = v.url.replace('http', 'ws') + '/ws';
  const open = (): Promise<WebSocket | number> => new Promise((resolve) => {
    const socket = new WebSocket(ws);
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); socket.terminate(); });
    socket.once('error', () => undefined);
  });
  const first = await open();
  const second = await open();
  assert.ok(first instanceof WebSocket && second instanceof WebSocket);
  assert.equal(await open(), 503);
  const closed = new Promise((resolve) => first.once('close', resolve));
  first.close();
  await closed;
  const third = await waitFor(async () => {
    const attempt = await open();
    return attempt instanceof WebSocket ? attempt : undefined;
  }, 5000, 'a place once a page closed');
  third.terminate();
  second.terminate();
  assert.equal(await stopWithin(v.process), 0);
});
