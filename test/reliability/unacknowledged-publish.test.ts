import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { silentLogger } from '../../common/logger.js';
import { MqttConnection, NotConnectedError } from '../../common/mqtt-connection.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { waitFor, sleep, within } from '../helpers/processes.js';

// A QoS 1 publish whose PUBACK never comes because the broker died must fail, not hang: the agent's frame
// publisher counts a frame in flight until that acknowledgement, so a hanging publish would hold a slot
// for ever (fewer frames after every broker crash, and a shutdown that never finishes).

const brokers: RunningBroker[] = [];
after(async () => { for (const b of brokers) { b.process.kill('SIGCONT'); await b.stop(); } });

test('QoS 1 publishes pending when the broker dies are rejected at once, and the connection comes back', async () => {
  const broker = await startMosquitto();
  brokers.push(broker);
  const connection = new MqttConnection({ url: broker.url, clientId: 'unacked', protocolVersion: 5 }, silentLogger);
  connection.start();
  await waitFor(() => (connection.connected ? true : undefined), 5000, 'connected');
  await connection.publish('picam/t/result', 'acknowledged', { qos: 1 });
  broker.process.kill('SIGSTOP'); // the broker stops answering: the next publishes stay unacknowledged
  const pending = [1, 2, 3].map((i) => connection.publish('picam/t/result', `pending ${i}`, { qos: 1 }).then(() => 'acknowledged', (e: Error) => e));
  await sleep(300); // a window for the publishes to leave, unanswered: they are in flight for certain when the broker dies
  const killedAt = Date.now();
  await broker.kill(); // SIGKILL reaches a stopped process: the kernel closes its sockets
  const outcomes = await within(Promise.all(pending), 3000, 'still pending after 3 s' as const);
  assert.notEqual(outcomes, 'still pending after 3 s', 'pending publishes must settle when the connection closes');
  for (const outcome of outcomes as Array<string | Error>) assert.ok(outcome instanceof NotConnectedError, `rejected as not connected: ${String(outcome)}`);
  const settledMs = Date.now() - killedAt;
  const again = await startMosquitto({ port: broker.port });
  brokers.push(again);
  await waitFor(() => (connection.connected ? true : undefined), 5000, 'reconnected');
  await connection.publish('picam/t/result', 'after restart', { qos: 1 });
  // Nothing from before the crash may hold up a clean disconnect (MQTT.js's end() waits for every
  // unacknowledged message): the broker must see a DISCONNECT, and the socket must close.
  const stopAt = Date.now();
  await connection.stop();
  const stopMs = Date.now() - stopAt;
  await waitFor(() => (/Client unacked disconnected\./.test(again.log()) ? true : undefined), 3000, 'a clean disconnect in the broker log');
  assert.ok(stopMs < 1500, `stop() finished by DISCONNECT, not by its 2 s fallback (${stopMs} ms)`);
  console.log(`# unacknowledged QoS 1 publishes rejected ${settledMs} ms after the broker died; publishing works again after the restart; clean disconnect in ${stopMs} ms`);
});
