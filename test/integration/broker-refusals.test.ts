import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { after, test } from 'node:test';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { VIEWER_CLI, runNode } from '../helpers/processes.js';
import { startAgent, stopWithin } from '../helpers/stream-rig.js';

// Brokers that refuse a client the way a real mosquitto does. Neither program may loop silently: each
// says why at the default log level.

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
  const agent = startAgent(broker.url, 'full', source.dir, 5);
  cleanup.push(() => agent.stop('SIGKILL'));
  await agent.waitFor(line);
  assert.match(broker.log(), /denied: max_connections exceeded/, 'the broker did refuse them');
  // Once there is room, it connects; the reason was said once, not at every attempt.
  for (const holder of holders) await holder.endAsync();
  await agent.waitFor(/first frame published/);
  for (const p of [viewer, agent]) assert.equal((p.output().match(/closed before the broker accepted it/g) ?? []).length, 1, p.output());
  assert.equal(await stopWithin(agent), 0);
});
