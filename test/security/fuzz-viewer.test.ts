import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { after, test } from 'node:test';
import { FuzzMessages } from '../helpers/fuzz-messages.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { maxIn, mib, probeEnv } from '../helpers/probe-reader.js';
import { waitFor, sleep } from '../helpers/processes.js';
import { seededRandom } from '../helpers/random.js';
import { checkSavedFrames, spawnAgent, spawnViewer, stopWithin } from '../helpers/stream-rig.js';

// 100,000 random and mutated messages on the camera topics of a running picam-viewer while a real
// picam-agent streams in the same run: the viewer stays up, its memory stays bounded, and the genuine
// frames keep arriving intact.

const TOTAL = Number(process.env.PICAM_FUZZ_MESSAGES ?? 100_000);
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => { for (const c of cleanup.reverse()) await c().catch(() => undefined); });

test(`fuzz: ${TOTAL} junk messages on the camera topics; viewer stays up, memory bounded, genuine frames intact`, { timeout: 180_000 }, async () => {
  const seed = Number(process.env.PICAM_FUZZ_SEED ?? 7);
  const broker: RunningBroker = await startMosquitto();
  cleanup.push(() => broker.stop());
  const source = await makeJpegFolder(8, 320, 240);
  const probe = probeEnv('viewer', 250);
  const viewer = await spawnViewer(broker.url, [], probe.env);
  cleanup.push(() => viewer.process.stop('SIGKILL'));
  const agent = spawnAgent(broker.url, 'genuine', source.dir, 15, ['--chunk-size', '4096']);
  cleanup.push(() => agent.stop('SIGKILL'));
  const delivered = async (): Promise<number> => (await viewer.counters('genuine'))?.framesDelivered ?? 0;
  await waitFor(async () => ((await delivered()) >= 15 ? true : undefined), 20_000, 'genuine frames before the fuzz');

  const fuzzer = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
  cleanup.push(() => fuzzer.endAsync(true));
  // Every message must be one the broker accepts, or it would drop the fuzzer and the junk would stop here.
  let fuzzing = true;
  const droppedByBroker = new Promise<never>((_, reject) => fuzzer.once('close', () => { if (fuzzing) reject(new Error(`mosquitto closed the fuzzer's connection:\n${broker.log().slice(-400)}`)); }));
  droppedByBroker.catch(() => undefined);
  const cameraPool = Array.from({ length: 80 }, (_, i) => `fz${i}`); // more than the viewer tracks (64)
  const fuzz = new FuzzMessages(seededRandom(seed), 'picam', 'picam/genuine', cameraPool, source.frames[0]!);
  await sleep(1500); // a window of normal streaming: the memory baseline
  const fuzzStart = Date.now();
  const deliveredBefore = await delivered();
  const progress: number[] = [];
  for (let sent = 0; sent < TOTAL; ) {
    const batch: Array<Promise<unknown>> = [];
    for (let i = 0; i < 500 && sent < TOTAL; i++, sent++) {
      const m = fuzz.next();
      batch.push(fuzzer.publishAsync(m.topic, m.payload, { qos: 0 }));
    }
    await Promise.race([Promise.all(batch), droppedByBroker]);
    await sleep(10); // the fuzzer's pace (a scenario, not a wait): batches of 500 with a breath between them
    if (sent % 20_000 === 0) {
      assert.equal(viewer.process.child.exitCode, null, `viewer still running after ${sent} messages`);
      progress.push(await delivered()); // the page API answers while the junk flows
    }
  }
  const fuzzMs = Date.now() - fuzzStart;
  fuzzing = false;
  // The junk drains from the broker; incomplete junk frames time out (2 s) and are dropped.
  await waitFor(async () => (await viewer.api()).viewer.pendingBytes < 1024 * 1024, 15_000, 'the junk frames in flight dropped').catch(() => undefined);
  const drainedAt = Date.now();
  const deliveredDuring = (await delivered()) - deliveredBefore;
  const api = await viewer.api();
  const genuine = api.cameras.find((c) => c.cameraId === 'genuine')!;
  assert.equal(viewer.process.child.exitCode, null, 'the viewer is still running');
  assert.equal(agent.child.exitCode, null, 'the agent is still running');
  assert.ok(api.cameras.length <= 64, `cameras tracked stay bounded (${api.cameras.length})`);
  assert.equal(genuine.status, 'online');
  assert.equal(genuine.counters!.framesCorrupt, 0);
  assert.equal(genuine.counters!.streamRestarts, 0, 'no junk message was taken for the genuine camera\'s stream');
  // The genuine stream kept coming during the fuzz: every fifth of it saw new frames.
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i]! > progress[i - 1]!, `genuine frames arrived during every stretch of the fuzz: ${progress.join(', ')}`);
  const expected = ((Date.now() - fuzzStart) / 1000) * 15;
  assert.ok(deliveredDuring >= expected * 0.5, `genuine frames during the fuzz: ${deliveredDuring} of about ${Math.round(expected)}`);
  assert.equal(await stopWithin(agent), 0);
  const saved = checkSavedFrames(viewer.saveDir, 'genuine', source.frames);

  const samples = probe.samples();
  const rssBefore = maxIn(samples, fuzzStart - 1500, fuzzStart, (s) => s.rss);
  const rssPeak = maxIn(samples, fuzzStart, drainedAt, (s) => s.rss);
  // Lying headers declare frames of up to 8 MiB; the reassembler holds only the bytes that arrived, so the
  // footprint stays near the genuine stream's. The probe does not force collections here: this is the real
  // process's footprint, garbage included.
  const rssFirstHalf = maxIn(samples, fuzzStart, fuzzStart + fuzzMs / 2, (s) => s.rss);
  assert.ok(rssPeak - rssBefore < 96 * 1024 * 1024, `viewer RSS peak ${mib(rssPeak)} MiB (before ${mib(rssBefore)} MiB)`);
  assert.ok(rssPeak - rssFirstHalf < 32 * 1024 * 1024, `viewer RSS levels off: ${mib(rssFirstHalf)} MiB peak in the first half, ${mib(rssPeak)} MiB overall`);
  assert.ok(api.viewer.pendingBytes < 1024 * 1024, `junk frames in flight were all dropped after the timeout (${api.viewer.pendingBytes} bytes pending)`);
  assert.equal(await stopWithin(viewer.process), 0, 'the viewer stops cleanly after the fuzz');

  const kinds = [...fuzz.counts].map(([k, n]) => `${k} ${n}`).join(', ');
  const rejected = Object.entries(api.viewer.rejectedChunks).map(([k, n]) => `${k} ${n}`).join(', ');
  const malformed = Object.entries(api.viewer.malformed).map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(`# fuzz (seed ${seed}): ${TOTAL} messages in ${(fuzzMs / 1000).toFixed(1)} s (${kinds})`);
  console.log(`# fuzz: viewer rejected chunks: ${rejected}; malformed: ${malformed}; cameras tracked ${api.cameras.length}`);
  console.log(`# fuzz: genuine camera delivered ${deliveredDuring} frames during the fuzz (about ${Math.round(expected)} sent), ${saved.length} saved in all, byte-identical; ` +
    `viewer RSS ${mib(rssBefore)} MiB before, ${mib(rssFirstHalf)} MiB peak in the first half, ${mib(rssPeak)} MiB peak overall`);
});
