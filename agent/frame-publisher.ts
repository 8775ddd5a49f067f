import type { IClientPublishOptions } from 'mqtt';
import type { Logger } from '../common/logger.js';
import { chunkFrame } from '../protocol/chunker.js';
import { effectiveChunkPayload } from '../protocol/packet-size.js';
import type { CapturedFrame } from './capture/frame-source.js';
import type { StreamStats } from './stream-stats.js';

/** What the publisher needs of the MQTT link; MqttConnection provides it. */
export interface PublishLink {
  readonly connected: boolean;
  readonly maxPacketSize: number | undefined;
  publish(topic: string, payload: Buffer, options: IClientPublishOptions): Promise<void>;
}

export interface FramePublisherOptions {
  topic: string;
  streamId: number;
  /** Largest chunk message in bytes, header included. */
  chunkSize: number;
  qos: 0 | 1;
  /** MQTT 5 message expiry of each chunk, seconds; undefined over MQTT 3.1.1. */
  expiryS: number | undefined;
}

/**
 * Sends frames as chunk messages, one frame at a time. While a frame is being written, at most one newer
 * frame waits; a frame arriving then replaces the waiting one (newest wins), and a frame arriving while the
 * link is down is dropped at once. So memory stays at two frames whatever the broker or network does.
 */
export class FramePublisher {
  private sending = false;
  private waiting: { frame: CapturedFrame; seq: number } | undefined;
  private nextSeq = 0;
  private readonly publishOptions: IClientPublishOptions;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(
    private readonly link: PublishLink,
    private readonly options: FramePublisherOptions,
    private readonly stats: StreamStats,
    private readonly logger: Logger,
    /** Called after each frame has been fully written to the socket. */
    private readonly onSent: (seq: number, bytes: number) => void = () => {},
  ) {
    this.publishOptions = {
      qos: options.qos,
      retain: false,
      ...(options.expiryS !== undefined ? { properties: { messageExpiryInterval: options.expiryS } } : {}),
    };
  }

  /** Takes a captured frame. Never blocks and never throws. Sequence numbers count every frame offered. */
  offer(frame: CapturedFrame): void {
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) >>> 0;
    this.stats.captured(frame.data.length);
    if (this.stopped || !this.link.connected) {
      this.stats.dropped('offline');
      return;
    }
    if (this.sending) {
      if (this.waiting) this.stats.dropped('busy');
      this.waiting = { frame, seq };
      return;
    }
    void this.sendLoop({ frame, seq });
  }

  /** Stops taking frames and waits for the frame being written, if any. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.waiting) { this.waiting = undefined; this.stats.dropped('busy'); }
    await this.idle;
  }

  private async sendLoop(first: { frame: CapturedFrame; seq: number }): Promise<void> {
    this.sending = true;
    this.idle = new Promise((resolve) => { this.markIdle = resolve; });
    let next: { frame: CapturedFrame; seq: number } | undefined = first;
    while (next) {
      await this.send(next.frame, next.seq);
      next = this.stopped ? undefined : this.waiting;
      this.waiting = undefined;
    }
    this.sending = false;
    this.markIdle();
  }

  private async send(frame: CapturedFrame, seq: number): Promise<void> {
    let chunks: Buffer[];
    try {
      const payload = effectiveChunkPayload(this.options.chunkSize, this.options.topic, this.link.maxPacketSize);
      chunks = chunkFrame({ streamId: this.options.streamId, seq, capturedAtUs: frame.capturedAtUs, data: frame.data }, payload);
    } catch (error) {
      this.stats.dropped('too-large');
      this.logger.warn('frame cannot be sent', { seq, bytes: frame.data.length, error: (error as Error).message });
      return;
    }
    try {
      // All chunks are handed to the socket at once; awaiting them all is the back-pressure.
      await Promise.all(chunks.map((chunk) => this.link.publish(this.options.topic, chunk, this.publishOptions)));
    } catch {
      this.stats.dropped('offline');
      return;
    }
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.length;
    this.stats.sent(bytes, chunks.length);
    this.onSent(seq, bytes);
  }
}
