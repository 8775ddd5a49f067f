import mqtt, { type MqttClient } from 'mqtt';
import { nowUs } from '../agent/capture/frame-source.js';
import { parseStats, type CameraStats } from '../protocol/messages.js';
import { Reassembler } from '../protocol/reassembler.js';

/**
 * The receiving end of `npm run bench:link` and the link tests, on the broker's side of the emulated link (a viewer on the
 * broker's LAN): it notes, for every whole frame, when it arrived against the capture time the sender put in
 * it. picam-mqtt frames are reassembled and CRC-checked exactly as the viewer does; plain ones are taken
 * whole from their message. The agent's stats messages are kept too (drops by reason, quality).
 */

export interface Arrival {
  arrivedUs: number;
  capturedAtUs: number;
  bytes: number;
}

export interface StatsSample {
  receivedUs: number;
  stats: CameraStats;
}

export type ReceiverKind = { kind: 'picam'; prefix: string; cameraId: string } | { kind: 'plain'; prefix: string };

export class LinkReceiver {
  readonly arrivals: Arrival[] = [];
  readonly stats: StatsSample[] = [];
  corrupt = 0;
  private readonly reassembler = new Reassembler();

  private constructor(private readonly client: MqttClient, private readonly target: ReceiverKind) {}

  static async start(brokerUrl: string, target: ReceiverKind): Promise<LinkReceiver> {
    const client = await mqtt.connectAsync(brokerUrl, { clientId: `linkbench-rx-${process.pid}-${Date.now()}`, reconnectPeriod: 0, protocolVersion: 5 });
    const receiver = new LinkReceiver(client, target);
    client.on('message', (topic, payload) => receiver.take(topic, payload));
    const filters = target.kind === 'picam' ? [`${target.prefix}/${target.cameraId}/frame`, `${target.prefix}/${target.cameraId}/stats`] : [`${target.prefix}/#`];
    await client.subscribeAsync(filters, { qos: 0 });
    return receiver;
  }

  /** Arrivals from index `from` on: what arrived in a measurement window. */
  since(from: number): Arrival[] {
    return this.arrivals.slice(from);
  }

  latestStats(): CameraStats | undefined {
    return this.stats.at(-1)?.stats;
  }

  async stop(): Promise<void> {
    await this.client.endAsync(true);
  }

  private take(topic: string, payload: Buffer): void {
    const arrivedUs = nowUs();
    if (this.target.kind === 'plain') {
      const capturedAtUs = Number(topic.slice(this.target.prefix.length + 1));
      if (Number.isFinite(capturedAtUs)) this.arrivals.push({ arrivedUs, capturedAtUs, bytes: payload.length });
      return;
    }
    if (topic.endsWith('/stats')) {
      const stats = parseStats(payload);
      if (stats) this.stats.push({ receivedUs: arrivedUs, stats });
      return;
    }
    const result = this.reassembler.push(topic, payload);
    if (result.kind === 'frame') this.arrivals.push({ arrivedUs, capturedAtUs: result.frame.capturedAtUs, bytes: result.frame.data.length });
    else if (result.kind === 'corrupt') this.corrupt++;
  }
}
