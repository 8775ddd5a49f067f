import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';

export interface Peeked { topic: string; payload: Buffer; retain: boolean }

/**
 * The retained messages the broker holds under `topic` (a filter), without waiting a fixed time: mosquitto sends
 * them after the SUBACK of their subscription and before the SUBACK of a second subscription on the same
 * connection, so that second SUBACK is the barrier. At QoS 0, so no in-flight limit holds one back past it.
 */
export async function retainedMessages(url: string, topic: string, options: mqtt.IClientOptions = {}): Promise<Peeked[]> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
  try {
    const seen: Peeked[] = [];
    client.on('message', (t, payload, packet) => { if (packet.retain) seen.push({ topic: t, payload, retain: true }); });
    await client.subscribeAsync(topic, { qos: 0 });
    // Refused or not (an ACL may deny this topic), its SUBACK comes after the retained messages above.
    await client.subscribeAsync(`picam-test/barrier/${randomUUID()}`, { qos: 0 }).catch(() => undefined);
    return seen;
  } finally {
    await client.endAsync();
  }
}

/** The retained payload of one topic as text, or undefined if the broker holds none. */
export async function retainedText(url: string, topic: string, options: mqtt.IClientOptions = {}): Promise<string | undefined> {
  const retained = (await retainedMessages(url, topic, options)).filter((m) => m.topic === topic);
  return retained.at(-1)?.payload.toString('utf8');
}

/** 'ok' when the broker accepted a QoS 1 publish, else its MQTT 5 reason code (135: not authorized; -1: none given). */
export async function publishOutcome(client: mqtt.MqttClient, topic: string, payload: string | Buffer, retain = false): Promise<'ok' | number> {
  return client.publishAsync(topic, payload, { qos: 1, retain }).then(() => 'ok' as const, (e: Error & { code?: number }) => e.code ?? -1);
}
