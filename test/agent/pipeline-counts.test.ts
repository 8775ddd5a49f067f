import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { silentLogger } from '../../common/logger.js';
import { MqttConnection } from '../../common/mqtt-connection.js';
import { parseOptions } from '../../common/options.js';
import { CameraControl } from '../../agent/camera-control.js';
import { FileSource } from '../../agent/capture/file-source.js';
import { agentOptions, captureSettings } from '../../agent/config.js';
import { Pipeline } from '../../agent/pipeline.js';
import { StreamStats } from '../../agent/stream-stats.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { waitFor } from '../helpers/processes.js';

// The stream's counts add up: every frame the camera gives is counted captured once, and is at every instant
// either sent, dropped with a reason, or inside the pipeline (processing, waiting, in flight). Real parts: a
// file camera, the sharp processing step, the publisher over a real mosquitto that goes away midway.

const brokers: RunningBroker[] = [];
after(async () => { for (const b of brokers) await b.stop(); });

test('captured = sent + dropped (by reason) + inside the pipeline at every instant, and = sent + dropped once stopped; the rate gate\'s skips are dropped as rate-limit', async () => {
  const broker = await startMosquitto();
  brokers.push(broker);
  // 640x480 frames resized to 320x240 (an exact size): every frame goes through sharp.
  const { dir } = await makeJpegFolder(6, 640, 480);
  const config = parseOptions(agentOptions, { argv: ['--camera-id', 'counts', '--fps', '40', '--width', '320', '--height', '240'], env: {}, envPrefix: 'PICAM_TEST_' }).values;
  const link = new MqttConnection({ url: broker.url, clientId: 'counts', protocolVersion: 5, noDelay: true }, silentLogger);
  const counts = new StreamStats(1);
  const violations: string[] = [];
  const camera = new CameraControl(new FileSource({ pattern: dir, fps: 40, loop: true }, silentLogger), captureSettings(config), { size: true, quality: false }, undefined, silentLogger);
  const pipeline = new Pipeline({
    camera, counts, link, overlay: undefined, stallTimeoutS: 10, logger: silentLogger, onFatal: (error) => violations.push(`camera failed: ${error.message}`),
    publisher: { topic: 'picam/counts/frame', streamId: 1, chunkSize: 4096, qos: 0, expiryS: undefined },
  });

  let checks = 0;
  const check = (where: string): void => {
    checks++;
    const inside = pipeline.holding;
    if (counts.framesCaptured !== counts.framesSent + counts.framesDropped + inside && violations.length < 5) {
      violations.push(`${where}: captured ${counts.framesCaptured} != sent ${counts.framesSent} + dropped ${counts.framesDropped} (${JSON.stringify(counts.drops)}) + inside ${inside}`);
    }
    if (counts.framesPending !== inside && violations.length < 5) violations.push(`${where}: pending ${counts.framesPending}, inside ${inside}`);
  };
  pipeline.onCaptured(() => check('frame captured'));
  pipeline.onOutgoing(() => check('frame to the publisher'));
  pipeline.onSent(() => check('frame sent'));
  // Between frame events too: acknowledgements, drops and processing finish on their own schedule.
  const sampler = setInterval(() => check('sampled'), 3);

  link.start();
  await waitFor(() => (link.connected ? true : undefined), 10_000, 'connected');
  await pipeline.start();
  await waitFor(() => (counts.framesSent >= 10 ? true : undefined), 20_000, '10 frames sent');
  // Adaptive quality's frame-rate step, as the adaptive feature makes it: the camera runs on at 40 fps.
  pipeline.limitRate(10);
  const gated = counts.drops['rate-limit'];
  await waitFor(() => (counts.drops['rate-limit'] >= gated + 20 ? true : undefined), 20_000, '20 frames skipped by the rate gate');
  pipeline.limitRate(undefined);
  await broker.stop(); // the broker goes away: frames are dropped as offline
  await waitFor(() => (counts.drops.offline >= 10 ? true : undefined), 20_000, '10 frames dropped offline');
  await pipeline.stop();
  clearInterval(sampler);
  check('stopped');
  await link.stop();

  console.log(`# counts: captured ${counts.framesCaptured}, sent ${counts.framesSent}, dropped ${JSON.stringify(counts.drops)}; processed ${pipeline.processor.framesProcessed}; ${checks} checks`);
  assert.deepEqual(violations, []);
  assert.equal(pipeline.holding, 0, 'nothing left inside once stopped');
  assert.equal(counts.framesCaptured, counts.framesSent + counts.framesDropped, 'captured = sent + dropped once stopped');
  assert.ok(pipeline.processor.framesProcessed >= 10, 'frames went through the processing step');
  assert.ok(counts.drops['rate-limit'] >= 20 && counts.drops.offline >= 10);
});
