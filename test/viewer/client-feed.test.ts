import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { ClientFeed, FRAME_CREDIT, PAGE_CREDIT, THUMBNAIL_CREDIT, parsePageMessage } from '../../viewer/client-feed.js';
import type { FrameMeta, ServerMessage } from '../../viewer/page/contract.js';
import { decodeFrameMessage } from '../../viewer/page/frame-message.js';
import { waitFor } from '../helpers/processes.js';

// One page's feed over a real WebSocket on loopback: what goes out, what waits, what acknowledgements do.

let server: WebSocketServer;
let port: number;
const open: WebSocket[] = [];

before(async () => {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  for (const s of open) s.terminate();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A feed on the server side of a fresh connection, and what its client received. */
async function connect(thumbnailFps = 5): Promise<{ feed: ClientFeed; frames: FrameMeta[]; texts: ServerMessage[]; client: WebSocket; jpegs: Buffer[] }> {
  const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  open.push(client);
  const frames: FrameMeta[] = [];
  const jpegs: Buffer[] = [];
  const texts: ServerMessage[] = [];
  client.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) { texts.push(JSON.parse(data.toString()) as ServerMessage); return; }
    const decoded = decodeFrameMessage(data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer);
    assert.ok(decoded, 'a valid frame message');
    frames.push(decoded.meta);
    jpegs.push(Buffer.from(decoded.jpeg));
  });
  await new Promise((resolve) => client.once('open', resolve));
  const socket = await accepted;
  open.push(socket);
  const feed = new ClientFeed(socket, thumbnailFps);
  // As WebServer wires it.
  socket.on('message', (data: Buffer, isBinary) => feed.receive(isBinary ? '' : data.toString()));
  return { feed, frames, texts, client, jpegs };
}

/** Tells the feed that `keys` (more than four) are on screen, and waits for its answer: thumbnails at `fps`. */
async function viewThumbnails(feed: ClientFeed, texts: ServerMessage[], keys: string[], fps: number): Promise<void> {
  feed.receive(JSON.stringify({ type: 'view', visible: keys, flow: 'ack' }));
  await waitFor(() => (texts.some((t) => t.type === 'feed' && t.thumbnailFps === fps) ? true : undefined), 5000, 'thumbnail rate announced');
}

const meta = (key: string, seq: number, atMs: number): FrameMeta => ({ key, seq, capturedAtUs: atMs * 1000 });
const jpeg = (n: number): Buffer => Buffer.from([0xff, 0xd8, n, 0xff, 0xd9]);

test('page messages are checked: views, acks; anything else is refused', () => {
  assert.deepEqual(parsePageMessage('{"type":"ack","keys":["a","a"]}'), { type: 'ack', keys: ['a', 'a'] });
  assert.deepEqual(parsePageMessage('{"type":"view","visible":["a"],"flow":"ack"}'), { type: 'view', visible: ['a'], focus: undefined, flow: 'ack' });
  for (const bad of ['', 'nope', '{"type":"ack"}', '{"type":"ack","keys":[1]}', '{"type":"view","visible":["a"],"flow":"push"}', '{"type":"x"}', 'null', JSON.stringify({ type: 'ack', keys: Array(5000).fill('a') })]) {
    assert.equal(parsePageMessage(bad), undefined, bad);
  }
});

test('flow ack: at most FRAME_CREDIT unacknowledged per camera, newest wins while waiting, each ack lets the newest go', async () => {
  const { feed, frames, texts, client, jpegs } = await connect();
  feed.receive(JSON.stringify({ type: 'view', visible: ['cam/a', 'cam/b'], flow: 'ack' }));
  await waitFor(() => (texts.some((t) => t.type === 'feed') ? true : undefined), 5000, 'feed answer');
  assert.deepEqual(texts.find((t) => t.type === 'feed'), { type: 'feed', thumbnailFps: null, flow: 'ack' });
  for (let seq = 1; seq <= 6; seq++) feed.offer(meta('cam/a', seq, seq * 33), jpeg(seq));
  feed.offer(meta('cam/b', 1, 33), jpeg(100));
  await waitFor(() => (frames.length === FRAME_CREDIT + 1 ? true : undefined), 5000, 'frames within credit');
  assert.deepEqual(frames.map((f) => `${f.key}#${f.seq}`), ['cam/a#1', 'cam/a#2', 'cam/b#1']);
  assert.deepEqual([...jpegs[0]!], [...jpeg(1)], 'the JPEG arrives byte for byte after its header');
  let stats = feed.stats;
  assert.equal(stats.unacknowledged, 3);
  assert.equal(stats.replaced, 3, 'seq 3, 4 and 5 were replaced while waiting');
  client.send(JSON.stringify({ type: 'ack', keys: ['cam/a'] }));
  await waitFor(() => (frames.length === 4 ? true : undefined), 5000, 'the waiting frame after an ack');
  assert.equal(frames[3]!.seq, 6, 'the newest waiting frame goes, not the oldest');
  // Acks beyond what was sent are refused and counted: credit never grows past FRAME_CREDIT.
  client.send(JSON.stringify({ type: 'ack', keys: ['cam/a', 'cam/a', 'cam/a', 'cam/zzz'] }));
  await waitFor(() => (feed.stats.refused === 2 ? true : undefined), 5000, 'refused acks counted');
  stats = feed.stats;
  assert.equal(stats.acknowledged, 3);
  assert.equal(stats.unacknowledged, 1, 'cam/b only');
  client.send('not json');
  await waitFor(() => (feed.stats.refused === 3 ? true : undefined), 5000, 'a malformed message counted');
  feed.close();
});

test('thumbnails: with more than four cameras on screen each gets thumbnailFps by capture time, one frame of credit', async () => {
  const { feed, frames, texts, client } = await connect(4);
  const keys = ['c/1', 'c/2', 'c/3', 'c/4', 'c/5'];
  await viewThumbnails(feed, texts, keys, 4);
  // Ten seconds of a 15 fps camera with capture-time jitter of ±10 ms, each frame acknowledged as it comes.
  let acked = 0;
  client.on('message', (_data, isBinary) => { if (isBinary) { acked++; client.send(JSON.stringify({ type: 'ack', keys: ['c/1'] })); } });
  for (let seq = 0; seq < 150; seq++) {
    feed.offer(meta('c/1', seq, seq * (1000 / 15) + ((seq * 7919) % 21) - 10), jpeg(seq));
    await waitFor(() => (feed.stats.unacknowledged === 0 ? true : undefined), 5000, 'ack');
  }
  const sent = frames.filter((f) => f.key === 'c/1');
  console.log(`# thumbnails at 4 fps from 10 s of a 15 fps camera: ${sent.length} sent (${acked} acknowledged)`);
  assert.ok(sent.length >= 39 && sent.length <= 41, `4 fps for 10 s: ${sent.length}`);
  const gaps = sent.slice(1).map((f, i) => (f.capturedAtUs - sent[i]!.capturedAtUs) / 1000);
  assert.ok(Math.max(...gaps) < 250 + 1000 / 15 + 21, `no gap longer than an interval plus a frame: ${Math.max(...gaps)}`);
  assert.ok(THUMBNAIL_CREDIT === 1);
  // A thumbnail holds one frame of credit: a second due frame waits.
  feed.offer(meta('c/2', 1, 0), jpeg(1));
  feed.offer(meta('c/2', 2, 300), jpeg(2));
  await waitFor(() => (frames.some((f) => f.key === 'c/2') ? true : undefined), 5000, 'first thumbnail');
  assert.equal(frames.filter((f) => f.key === 'c/2').length, 1);
  // An enlarged camera gets every frame and two of credit; off-screen cameras none.
  feed.receive(JSON.stringify({ type: 'view', visible: keys, focus: 'c/3', flow: 'ack' }));
  feed.offer(meta('c/3', 1, 0), jpeg(1));
  feed.offer(meta('c/3', 2, 33), jpeg(2));
  feed.offer(meta('c/9', 1, 0), jpeg(1));
  await waitFor(() => (frames.filter((f) => f.key === 'c/3').length === 2 ? true : undefined), 5000, 'full rate for the enlarged camera');
  assert.equal(frames.some((f) => f.key === 'c/9'), false, 'nothing for a camera off screen');
  feed.close();
});

test('thumbnails: a thumbnail that came due while the page held the last one goes as the newest frame by the time the page acknowledges', async () => {
  const { feed, frames, texts, client } = await connect(5);
  const keys = ['t/1', 't/2', 't/3', 't/4', 't/5'];
  await viewThumbnails(feed, texts, keys, 5);
  // 15 fps: frame 0 goes; frame 3 (200 ms) is due but the page still draws frame 0, so it waits; frames 4 and 5
  // are not due, yet each is newer than the one waiting and takes its place.
  for (let seq = 0; seq <= 5; seq++) feed.offer(meta('t/1', seq, seq * (1000 / 15)), jpeg(seq));
  await waitFor(() => (frames.length === 1 ? true : undefined), 5000, 'the first thumbnail');
  assert.equal(feed.stats.replaced, 2, 'frames 4 and 5 replaced the waiting one');
  client.send(JSON.stringify({ type: 'ack', keys: ['t/1'] }));
  await waitFor(() => (frames.length === 2 ? true : undefined), 5000, 'the waiting thumbnail after the ack');
  assert.deepEqual(frames.map((f) => f.seq), [0, 5], 'the newest frame, not the one that was due');
  // Once it is sent, the schedule goes on by capture time: the next is due at 400 ms, which is frame 6.
  client.send(JSON.stringify({ type: 'ack', keys: ['t/1'] }));
  await waitFor(() => (feed.stats.unacknowledged === 0 ? true : undefined), 5000, 'ack');
  for (let seq = 6; seq <= 9; seq++) feed.offer(meta('t/1', seq, seq * (1000 / 15)), jpeg(seq));
  await waitFor(() => (frames.length === 3 ? true : undefined), 5000, 'the next due thumbnail');
  assert.equal(frames[2]!.seq, 6, 'due at 400 ms: frame 6 (400 ms) goes');
  feed.close();
});

test('flow socket (a client that never acknowledges): one frame per camera until the socket takes it, newest waits', async () => {
  const { feed, frames } = await connect();
  for (let seq = 1; seq <= 5; seq++) feed.offer(meta('s/a', seq, seq), jpeg(seq));
  await waitFor(() => (frames.length === 2 ? true : undefined), 5000, 'first and newest');
  assert.deepEqual(frames.map((f) => f.seq), [1, 5]);
  assert.equal(feed.stats.flow, 'socket');
  assert.equal(feed.stats.replaced, 3);
  feed.close();
});

test('flow ack: a page holds at most PAGE_CREDIT frames of all its cameras, and the camera that waited longest goes next', async () => {
  const { feed, frames, texts, client } = await connect(5);
  const keys = Array.from({ length: PAGE_CREDIT * 2 }, (_, i) => `p/${String(i).padStart(2, '0')}`);
  await viewThumbnails(feed, texts, keys, 5);
  for (const key of keys) feed.offer(meta(key, 0, 0), jpeg(0));
  await waitFor(() => (frames.length === PAGE_CREDIT ? true : undefined), 5000, 'frames within the page\'s credit');
  assert.deepEqual(frames.map((f) => f.key), keys.slice(0, PAGE_CREDIT), 'in the order they came');
  assert.equal(feed.stats.unacknowledged, PAGE_CREDIT);
  // The first camera's next thumbnail comes due while its first is still in the page: it queues behind the
  // cameras that have waited since the start, even though its own ack is the one that frees the credit.
  feed.offer(meta(keys[0]!, 1, 300), jpeg(1));
  for (let i = 0; i < PAGE_CREDIT; i++) {
    client.send(JSON.stringify({ type: 'ack', keys: [keys[i]] }));
    await waitFor(() => (frames.length === PAGE_CREDIT + i + 1 ? true : undefined), 5000, `the frame after ack ${i}`);
    assert.equal(frames.at(-1)!.key, keys[PAGE_CREDIT + i], `ack ${i} lets the longest-waiting camera go`);
    assert.ok(feed.stats.unacknowledged <= PAGE_CREDIT);
  }
  client.send(JSON.stringify({ type: 'ack', keys: [keys[PAGE_CREDIT]] }));
  await waitFor(() => (frames.length === 2 * PAGE_CREDIT + 1 ? true : undefined), 5000, 'the first camera\'s turn');
  assert.deepEqual([frames.at(-1)!.key, frames.at(-1)!.seq], [keys[0], 1]);
  // A camera that leaves gives back the credit of the frames the page held of it.
  const before = feed.stats.unacknowledged;
  feed.forget(keys[PAGE_CREDIT + 1]!);
  assert.equal(feed.stats.unacknowledged, before - 1);
  feed.close();
});
