import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { after, test } from 'node:test';
import { chunkFrame } from '../../protocol/chunker.js';
import { HEADER_LENGTH } from '../../protocol/header.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { waitFor, sleep } from '../helpers/processes.js';
import { randomBytes, seededRandom, shuffle } from '../helpers/random.js';
import { spawnViewer, type RunningViewer, stopWithin } from '../helpers/stream-rig.js';

// A test publisher sends a camera's frames to a real mosquitto and damages them at given rates: chunks
// lost, whole frames lost, chunks reordered, duplicated, corrupted, interleaved with the next frame, junk
// chunks, old frames replayed. The picam-viewer process must save exactly the intact frames, byte for
// byte, and its counters must equal what was injected.

type Fate = 'intact' | 'lose-chunk' | 'lose-frame' | 'corrupt' | 'duplicate' | 'reorder' | 'junk' | 'interleave' | 'replay-previous';

/** Probability of each fault per frame; the rest are sent intact. */
const RATES: Array<[Fate, number]> = [
  ['lose-chunk', 0.08],
  ['lose-frame', 0.05],
  ['corrupt', 0.06],
  ['duplicate', 0.08],
  ['reorder', 0.15],
  ['junk', 0.05],
  ['interleave', 0.06],
  ['replay-previous', 0.05],
];
const DELIVERED_FATES = new Set<Fate>(['intact', 'duplicate', 'reorder', 'junk', 'interleave', 'replay-previous']);

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => { for (const c of cleanup.reverse()) await c().catch(() => undefined); });

test('lost, reordered, duplicated, corrupted chunks: the viewer saves only intact frames and its counts match what was injected', async () => {
  const seed = Number(process.env.PICAM_FAULT_SEED ?? 20260527);
  const random = seededRandom(seed);
  const broker: RunningBroker = await startMosquitto();
  cleanup.push(() => broker.stop());
  const viewer: RunningViewer = await spawnViewer(broker.url);
  cleanup.push(() => viewer.process.stop('SIGKILL'));
  const source = await makeJpegFolder(6, 320, 240);
  const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  cleanup.push(() => publisher.endAsync(true));
  const topic = 'picam/faulty/frame';
  // QoS 0 over one connection keeps the order this test chooses; loopback loses nothing by itself.
  const send = (message: Buffer): Promise<unknown> => publisher.publishAsync(topic, message, { qos: 0 });

  const frameCount = 500;
  const streamId = 0x5eed0001;
  const fates: Fate[] = [];
  for (let seq = 0; seq < frameCount; seq++) {
    let fate: Fate = 'intact';
    // First and last frames intact, so every fault lies between two delivered frames; a frame interleaved with
    // the one before it is sent intact.
    if (seq > 0 && seq < frameCount - 2 && fates[seq - 1] !== 'interleave') {
      let r = random();
      for (const [candidate, rate] of RATES) { if (r < rate) { fate = candidate; break; } r -= rate; }
      // A replay is only unambiguous ("late") when both frames concerned are delivered.
      if (fate === 'replay-previous' && !DELIVERED_FATES.has(fates[seq - 1]!)) fate = 'intact';
    }
    fates.push(fate);
  }
  const expected = { junk: 0, duplicateChunks: 0, lateChunks: 0 };
  const chunksOf = (seq: number): Buffer[] =>
    chunkFrame({ streamId, seq, capturedAtUs: Date.now() * 1000, data: source.frames[seq % source.frames.length]! }, 1200).map((c) => Buffer.from(c));
  for (let seq = 0; seq < frameCount; seq++) {
    const fate = fates[seq]!;
    let chunks = chunksOf(seq);
    assert.ok(chunks.length >= 3, 'every frame travels as several chunks');
    switch (fate) {
      case 'lose-chunk': chunks.splice(Math.floor(random() * chunks.length), 1); break;
      case 'lose-frame': chunks = []; break;
      case 'corrupt': {
        const victim = chunks[Math.floor(random() * chunks.length)]!;
        const at = HEADER_LENGTH + Math.floor(random() * (victim.length - HEADER_LENGTH));
        victim[at] = victim[at]! ^ (1 + Math.floor(random() * 255));
        break;
      }
      case 'duplicate': {
        const at = Math.floor(random() * chunks.length);
        chunks.splice(at + 1, 0, chunks[at]!);
        expected.duplicateChunks++;
        break;
      }
      case 'reorder': shuffle(random, chunks); break;
      case 'junk': {
        chunks.splice(Math.floor(random() * chunks.length), 0, Buffer.concat([Buffer.from('XX'), randomBytes(random, 200)]));
        expected.junk++;
        break;
      }
      case 'interleave': {
        // This frame and the next go out mixed, this one completing first: both must be delivered.
        const next = chunksOf(seq + 1);
        const mixed: Buffer[] = [];
        for (let i = 0; i < Math.max(chunks.length, next.length); i++) {
          if (i < chunks.length) mixed.push(chunks[i]!);
          if (i < next.length - 1) mixed.push(next[i]!);
        }
        mixed.push(next.at(-1)!);
        chunks = mixed;
        seq++;
        break;
      }
      case 'replay-previous': {
        const previous = chunksOf(seq - 1);
        chunks.push(...previous); // after this frame completed, so every one of them is late
        expected.lateChunks += previous.length;
        break;
      }
      case 'intact': break;
    }
    await Promise.all(chunks.map(send));
    await sleep(4); // a fast camera's pace: the viewer's disk writer never has to skip a frame
  }

  const deliveredSeqs = fates.map((f, seq) => (DELIVERED_FATES.has(f) ? seq : -1)).filter((s) => s >= 0);
  const count = (f: Fate): number => fates.filter((x) => x === f).length;
  // The last frame sent is intact: once it is delivered, the viewer has handled everything sent before it (one
  // connection, QoS 0, keeps the order); then the disk writer catches up with what was delivered.
  await waitFor(async () => ((await viewer.api()).cameras.find((c) => c.cameraId === 'faulty')?.lastSeq === frameCount - 1 ? true : undefined), 15_000, 'the last frame delivered');
  const savedAll = async (): Promise<boolean> => {
    const a = await viewer.api();
    const written = (a.viewer as unknown as { saved: { written: number; skipped: number; failed: number } }).saved;
    return written.written + written.skipped + written.failed >= a.cameras.find((c) => c.cameraId === 'faulty')!.counters!.framesDelivered;
  };
  await waitFor(savedAll, 10_000, 'every delivered frame saved or skipped');
  const api = await viewer.api();
  const counters = api.cameras.find((c) => c.cameraId === 'faulty')!.counters!;
  const rejected = api.viewer.rejectedChunks;

  // Only intact frames are saved, byte for byte. (The disk writer may skip a frame when this busy machine is
  // slow, which it counts; every delivered frame is either saved or counted as skipped.)
  const skipped = (api.viewer as unknown as { saved: { skipped: number } }).saved.skipped;
  const dir = path.join(viewer.saveDir, 'faulty');
  const saved = fs.readdirSync(dir).sort();
  const savedSeqs = saved.map((n) => Number(/-(\d{10})\.jpg$/.exec(n)![1]));
  const intact = new Set(deliveredSeqs);
  assert.deepEqual(savedSeqs.filter((seq) => !intact.has(seq)), [], 'no damaged frame is saved');
  assert.equal(saved.length + skipped, deliveredSeqs.length, 'every delivered frame saved or counted as skipped');
  for (const name of saved) {
    const seq = Number(/-(\d{10})\.jpg$/.exec(name)![1]);
    assert.ok(fs.readFileSync(path.join(dir, name)).equals(source.frames[seq % source.frames.length]!), `${name} is intact`);
  }
  assert.equal(counters.framesDelivered, deliveredSeqs.length);
  assert.equal(counters.framesIncomplete, count('lose-chunk'), 'incomplete = frames that lost a chunk');
  assert.equal(counters.framesCorrupt, count('corrupt'), 'corrupt = frames with a damaged byte');
  assert.equal(counters.framesMissed, count('lose-chunk') + count('corrupt') + count('lose-frame'), 'missed = every sequence number never delivered');
  assert.equal(rejected['duplicate'] ?? 0, expected.duplicateChunks, 'each duplicated chunk rejected as duplicate');
  assert.equal(rejected['late'] ?? 0, expected.lateChunks, 'each chunk of a replayed frame rejected as late');
  assert.equal(rejected['bad-magic'] ?? 0, expected.junk, 'each junk chunk rejected for its header');
  assert.equal(counters.chunksRejected, expected.duplicateChunks + expected.lateChunks + expected.junk);
  assert.equal(api.viewer.pendingBytes, 0, 'nothing left half-assembled');
  assert.equal(await stopWithin(viewer.process), 0);
  const injected = RATES.map(([f]) => `${f} ${count(f)}`).join(', ');
  console.log(`# chunk faults (seed ${seed}, ${frameCount} frames): injected ${injected}; ` +
    `viewer delivered ${counters.framesDelivered} (${saved.length} saved intact, ${skipped} skipped by the disk writer), incomplete ${counters.framesIncomplete}, corrupt ${counters.framesCorrupt}, missed ${counters.framesMissed}; ` +
    `chunks rejected: duplicate ${rejected['duplicate'] ?? 0}, late ${rejected['late'] ?? 0}, bad-magic ${rejected['bad-magic'] ?? 0}`);
});
