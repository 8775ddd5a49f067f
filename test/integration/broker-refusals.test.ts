import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { after, test } from 'node:test';
import { createLogger, type Logger } from '../../common/logger.js';
import { MqttConnection, PACKET_TOO_LARGE, PublishRefusedError } from '../../common/mqtt-connection.js';
import { MIN_CHUNK_SIZE } from '../../protocol/packet-size.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto } from '../../harness/mosquitto.js';
import { VIEWER_CLI, waitFor, runNode, sleep, within } from '../helpers/processes.js';
import { checkSavedFrames, spawnAgent, spawnViewer, stopWithin } from '../helpers/stream-rig.js';

// Brokers that refuse a client, or drop it for a packet over their limit, the way a real mosquitto does.
// Neither program may loop silently: each says why at the default log level, and the agent refuses a
// packet limit it cannot work with instead of connecting and being dropped for ever.

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => { for (const c of cleanup.reverse()) await c().catch(() => undefined); });

test('a broker that closes connections before accepting them (max_connections reached): agent and viewer say so at warn level', async () => {
  const broker = await startMosquitto({ extraConfig: ['max_connections 1'] });
  cleanup.push(() => broker.stop());
  // Fill it: clients until one is refused (mosquitto may count the helper's port probe off by one).
  const holders: mqtt.MqttClient[] = [];
  for (;;) {
    const client = mqtt.connect(broker.url, { reconnectPeriod: 0, connectTimeout: 2000 });
    const accepted = await new Promise<boolean>((resolve) => { client.once('connect', () => resolve(true)); client.once('close', () => resolve(false)); client.once('error', () => resolve(false)); });
    if (!accepted) { client.end(true); break; }
    const holder = client;
    holders.push(holder);
    cleanup.push(() => holder.endAsync(true));
    assert.ok(holders.length <= 3, 'max_connections is in force');
  }
  const source = await makeJpegFolder(3, 160, 120);
  const line = /warn  (agent|viewer)\/mqtt: broker connection problem url=mqtt:\/\/127\.0\.0\.1:\d+ error="the connection was closed before the broker accepted it, 3 times in a row" hint="[^"]*max_connections/;
  // One program at a time, so that each is refused for certain.
  const viewer = runNode(VIEWER_CLI, ['--broker', broker.url, '--listen', '127.0.0.1:0']);
  cleanup.push(() => viewer.stop('SIGKILL'));
  await viewer.waitFor(line);
  assert.equal(await stopWithin(viewer), 0);
  const agent = spawnAgent(broker.url, 'full', source.dir, 5);
  cleanup.push(() => agent.stop('SIGKILL'));
  await agent.waitFor(line);
  assert.match(broker.log(), /denied: max_connections exceeded/, 'the broker did refuse them');
  // Once there is room, it connects; the reason was said once, not at every attempt.
  for (const holder of holders) await holder.endAsync();
  await agent.waitFor(/first frame published/);
  for (const p of [viewer, agent]) assert.equal((p.output().match(/closed before the broker accepted it/g) ?? []).length, 1, p.output());
  assert.equal(await stopWithin(agent), 0);
});

test('MQTT 5: a broker whose Maximum Packet Size cannot carry the info message or the smallest chunk is refused at connect (exit code 2), not looped on', async () => {
  const broker = await startMosquitto({ extraConfig: ['max_packet_size 300'] });
  cleanup.push(() => broker.stop());
  const source = await makeJpegFolder(3, 160, 120);
  const agent = spawnAgent(broker.url, 'tiny', source.dir, 5);
  cleanup.push(() => agent.stop('SIGKILL'));
  const code = await within(agent.exited, 20_000, 'still running after 20 s');
  const out = agent.output();
  assert.equal(code, 2, out);
  assert.match(out, /error agent: the broker's Maximum Packet Size is too small for the agent; stopping maxPacketSize=300 needed=(\d+) hint="chunks of at least 1024 bytes and the info message \(\d+ bytes\) must fit: raise the broker's max_packet_size to \1 or more"/);
  assert.doesNotMatch(out, /reconnected to broker/, 'connected once only');
  assert.doesNotMatch(broker.log(), /oversize packet/, 'nothing too large was sent');
});

test('MQTT 3.1.1 (no limit announced): a broker that keeps dropping the agent for oversize packets is named in the log, and retried at most about once a second', async () => {
  const broker = await startMosquitto({ extraConfig: ['max_packet_size 300'] });
  cleanup.push(() => broker.stop());
  const source = await makeJpegFolder(3, 160, 120);
  const agent = spawnAgent(broker.url, 'old', source.dir, 5, ['--mqtt-version', '4']);
  cleanup.push(() => agent.stop('SIGKILL'));
  await agent.waitFor(/warn  agent\/mqtt: broker connection problem url=\S+ error="the broker closed the connection within 2 s of accepting it, 3 times in a row" hint="a message larger than its max_packet_size/);
  const connectsBefore = (agent.output().match(/connected to broker/g) ?? []).length;
  await sleep(5000); // the rate of reconnects is what is measured: connections counted over 5 s
  const connects = (agent.output().match(/connected to broker/g) ?? []).length - connectsBefore;
  assert.match(broker.log(), /disconnected due to oversize packet/);
  assert.equal(await stopWithin(agent), 0);
  console.log(`# MQTT 3.1.1 and max_packet_size 300: ${connects} connections in 5 s once the log said why`);
  // About 5 at most once the backoff has reached 1 s; without it, 20 or more (a new connection every 0.1-0.2 s).
  assert.ok(connects <= 10, `${connects} connections in 5 s`);
});

test('a message over the broker\'s Maximum Packet Size is refused before it is sent (reason code 149), so the broker does not drop the connection', async () => {
  const broker = await startMosquitto({ extraConfig: ['max_packet_size 2000'] });
  cleanup.push(() => broker.stop());
  const lines: string[] = [];
  const logger: Logger = createLogger({ level: 'debug', component: 'test', write: (l) => lines.push(l) });
  const connection = new MqttConnection({ url: broker.url, clientId: 'big-info', protocolVersion: 5 }, logger);
  cleanup.push(() => connection.stop());
  connection.start();
  await waitFor(() => (connection.connected ? true : undefined), 5000, 'connected');
  assert.equal(connection.maxPacketSize, 2000);
  const refused = await connection.publish('picam/big/info', Buffer.alloc(2500, 0x41), { qos: 1, retain: true }).then(() => undefined, (e: Error) => e);
  assert.ok(refused instanceof PublishRefusedError && refused.reasonCode === PACKET_TOO_LARGE, `refused locally: ${String(refused)}`);
  await connection.publish('picam/big/info', Buffer.alloc(1000, 0x41), { qos: 1, retain: true });
  assert.equal(connection.connected, true);
  assert.equal(connection.connects, 1, 'never dropped and reconnected');
  assert.doesNotMatch(broker.log(), /oversize packet/);
});

test(`at the smallest chunk size (${MIN_CHUNK_SIZE} bytes) a 1280x720 stream arrives whole, with no listener warnings from the publisher`, async () => {
  const broker = await startMosquitto();
  cleanup.push(() => broker.stop());
  const source = await makeJpegFolder(4, 1280, 720, 90);
  const viewer = await spawnViewer(broker.url);
  cleanup.push(() => viewer.process.stop('SIGKILL'));
  const agent = spawnAgent(broker.url, 'small', source.dir, 10, ['--chunk-size', String(MIN_CHUNK_SIZE)]);
  cleanup.push(() => agent.stop('SIGKILL'));
  await waitFor(async () => ((await viewer.counters('small'))?.framesDelivered ?? 0) >= 20 || undefined, 30_000, '20 frames at the smallest chunk size');
  assert.equal(await stopWithin(agent), 0, agent.output());
  const counters = (await viewer.counters('small'))!;
  const saved = checkSavedFrames(viewer.saveDir, 'small', source.frames);
  assert.doesNotMatch(agent.output(), /MaxListenersExceededWarning|stalled/);
  assert.equal(counters.framesCorrupt, 0);
  console.log(`# chunk size ${MIN_CHUNK_SIZE}: frames of ${source.frames.map((f) => f.length).join('/')} bytes (${Math.ceil(source.frames[0]!.length / (MIN_CHUNK_SIZE - 36))} chunks each); ` +
    `viewer delivered ${counters.framesDelivered}, incomplete ${counters.framesIncomplete}, saved ${saved.length} byte-identical`);
});
