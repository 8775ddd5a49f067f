import mqtt from 'mqtt';

/** Subscribes to `topic`, collects messages for `ms` milliseconds (retained ones arrive first), then disconnects. */
export async function collectMessages(url: string, topic: string, ms: number, options: mqtt.IClientOptions = {}): Promise<Array<{ topic: string; payload: Buffer; retain: boolean }>> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
  const seen: Array<{ topic: string; payload: Buffer; retain: boolean }> = [];
  client.on('message', (t, payload, packet) => seen.push({ topic: t, payload, retain: packet.retain }));
  await client.subscribeAsync(topic);
  await new Promise((r) => setTimeout(r, ms));
  await client.endAsync();
  return seen;
}

/** The retained payload of one topic as text, or undefined if none arrives within ms. */
export async function retainedText(url: string, topic: string, ms = 300): Promise<string | undefined> {
  const seen = await collectMessages(url, topic, ms);
  const retained = seen.filter((m) => m.retain && m.topic === topic);
  return retained.at(-1)?.payload.toString('utf8');
}

/** 'ok' when the broker accepted a QoS 1 publish, else its MQTT 5 reason code (135: not authorized; -1: none given). */
export async function publishOutcome(client: mqtt.MqttClient, topic: string, payload: string | Buffer, retain = false): Promise<'ok' | number> {
  return client.publishAsync(topic, payload, { qos: 1, retain }).then(() => 'ok' as const, (e: Error & { code?: number }) => e.code ?? -1);
}
