import mqtt from 'mqtt';

export interface Seen {
  at: number;
  topic: string;
  payload: Buffer;
  retain: boolean;
}

/**
 * A plain MQTT.js subscriber that reconnects quickly by itself, for watching a camera's status/info/stats
 * through broker restarts and network faults. Keeps every message with its arrival time.
 */
export class TopicMonitor {
  readonly seen: Seen[] = [];
  private client: mqtt.MqttClient | undefined;

  constructor(private readonly url: string, private readonly topics: string[], private readonly options: mqtt.IClientOptions = {}) {}

  /** Resolves once the first subscription is in place (its SUBACK came), so nothing published after it is missed. */
  async start(): Promise<void> {
    const client = mqtt.connect(this.url, { reconnectPeriod: 100, connectTimeout: 2000, ...this.options });
    this.client = client;
    client.on('message', (topic, payload, packet) => this.seen.push({ at: Date.now(), topic, payload, retain: packet.retain }));
    const subscribed = new Promise<void>((resolve) => {
      // Subscribed again on every reconnect (a clean session forgets it).
      client.on('connect', () => { client.subscribeAsync(this.topics).then(() => resolve(), () => resolve()); });
    });
    client.on('error', () => undefined);
    await subscribed;
  }

  /** Stats documents of a topic received at or after `since` (ms epoch). */
  json<T = Record<string, unknown>>(topic: string, since = 0): Array<T & { at: number }> {
    return this.seen.filter((m) => m.topic === topic && m.at >= since).map((m) => ({ ...(JSON.parse(m.payload.toString()) as T), at: m.at }));
  }

  texts(topic: string, since = 0): Array<{ at: number; text: string; retain: boolean }> {
    return this.seen.filter((m) => m.topic === topic && m.at >= since).map((m) => ({ at: m.at, text: m.payload.toString(), retain: m.retain }));
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync(true);
  }
}
