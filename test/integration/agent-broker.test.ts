import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { silentLogger } from '../../common/logger.js';
import { MqttConnection } from '../../common/mqtt-connection.js';
import { CameraRegistry } from '../../viewer/camera-registry.js';
import { MessageReceiver } from '../../viewer/message-receiver.js';
import { receiverSubscriptions } from '../../protocol/topics.js';
import { startAgentInProcess } from '../helpers/agent-harness.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { waitFor } from '../helpers/processes.js';

// The agent and the viewer's receiver in one process, over a real mosquitto, to check the protocol's
// broker-facing rules: MQTT 3.1.1 and 5, Maximum Packet Size, and no queueing while the broker is away.

const brokers: RunningBroker[] = [];
after(async () => { for (const b of brokers) await b.stop(); });

async function receiverOn(url: string, version: 4 | 5, options: { maxFrameBytes?: number } = {}) {
  const receiver = new MessageReceiver(new CameraRegistry(16), options, silentLogger);
  const frames: Buffer[] = [];
  receiver.onFrame((_camera, frame) => frames.push(frame.data));
  let subscribed = false;
  const connection: MqttConnection = new MqttConnection(
    {
      url, clientId: `rx-${Math.random().toString(16).slice(2)}`, protocolVersion: version,
      onConnect: () => void connection.subscribe(receiverSubscriptions('picam')).then(() => { subscribed = true; }),
      onMessage: (topic, payload) => receiver.handle(topic, payload),
    },
    silentLogger,
  );
  connection.start();
  await waitFor(() => subscribed, 5000, 'receiver subscribed');
  return { receiver, frames, connection };
}

for (const version of ['4', '5'] as const) {
  test(`MQTT ${version === '4' ? '3.1.1' : '5'}: frames arrive intact through mosquitto`, async () => {
    const broker = await startMosquitto();
    brokers.push(broker);
    const { frames: source, dir } = await makeJpegFolder(5);
    const rx = await receiverOn(broker.url, version === '5' ? 5 : 4);
    const agent = await startAgentInProcess(broker.url, ['--camera-id', `v${version}`, '--source', `file:${dir}`, '--mqtt-version', version, '--fps', '30', '--chunk-size', '2000']);
    await waitFor(() => (rx.frames.length >= 15 ? true : undefined), 10_000, '15 frames');
    await agent.stop();
    await rx.connection.stop();
    for (const frame of rx.frames) assert.ok(source.some((s) => s.equals(frame)));
    const camera = rx.receiver.registry.lookup(`v${version}`)!;
    assert.equal(camera.info?.chunkSize, 2000);
    assert.equal(rx.receiver.reassembler.counters(camera.key)!.framesCorrupt, 0);
  });
}

test('MQTT 5: chunks shrink to the Maximum Packet Size the broker advertises; nothing is cut off', async () => {
  const broker = await startMosquitto({ extraConfig: ['max_packet_size 16384'] });
  brokers.push(broker);
  const { frames: source, dir } = await makeJpegFolder(4, 640, 480);
  assert.ok(source.every((f) => f.length > 16384), 'frames are larger than the packet limit');
  const rx = await receiverOn(broker.url, 5);
  // Configured far above the limit: the agent must lower it from the CONNACK.
  const agent = await startAgentInProcess(broker.url, ['--camera-id', 'small', '--source', `file:${dir}`, '--fps', '20', '--chunk-size', '1000000']);
  await waitFor(() => (rx.frames.length >= 8 ? true : undefined), 10_000, '8 frames under a 16 KiB packet limit');
  await agent.stop();
  await rx.connection.stop();
  for (const frame of rx.frames) assert.ok(source.some((s) => s.equals(frame)));
  assert.doesNotMatch(broker.log(), /oversize/i);
});

test('with no broker, frames are dropped and counted, not queued', async () => {
  const broker = await startMosquitto();
  const url = broker.url;
  await broker.stop(); // nothing listens there now
  const { dir } = await makeJpegFolder(3);
  const agent = await startAgentInProcess(url, ['--camera-id', 'alone', '--source', `file:${dir}`, '--fps', '50']);
  await waitFor(() => agent.stats.framesCaptured >= 20, 5000, '20 frames captured');
  await agent.stop();
  assert.ok(agent.stats.framesCaptured >= 20, `captured ${agent.stats.framesCaptured}`);
  assert.equal(agent.stats.framesSent, 0);
  assert.equal(agent.stats.drops.offline, agent.stats.framesCaptured);
});
