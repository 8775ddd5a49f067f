import type { IClientPublishOptions } from 'mqtt';
import type { Logger } from '../common/logger.js';
import { chunkBufferSize, chunkFrame } from '../protocol/chunker.js';
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
  /** QoS of the chunks. With 0, the last chunk of each frame still goes at QoS 1 (see below). */
  qos: 0 | 1;
  /** MQTT 5 message expiry of each chunk, seconds; undefined over MQTT 3.1.1. */
  expiryS: number | undefined;
  /** Frames sent but not yet acknowledged by the broker. Default 2. */
  maxInFlight?: number;
}

interface Pending {
  frame: CapturedFrame;
  seq: number;
}

/** Payload bytes of the acknowledged tail chunk: small, since MQTT.js copies every QoS 1 message it stores. */
const TAIL_BYTES = 64;

/**
 * Sends frames as chunk messages. A frame counts as in flight until the broker has acknowledged its last
 * chunk: that chunk goes at QoS 1, and since one TCP connection keeps order, its PUBACK means the broker has
 * every chunk of the frame. At most `maxInFlight` frames are in flight and one more waits; a newer frame
 * replaces the waiting one (newest wins), and a frame arriving while the link is down is dropped at once.
 *
 * The acknowledged chunk carries only the frame's last 64 bytes, and the chunk buffers are reused once a frame
 * is acknowledged (by then every byte of it has left the socket), so the pacing costs little CPU.
 *
 * Waiting for the broker rather than for the local socket matters: the kernel's socket buffers hold
 * megabytes, so "written to the socket" says nothing about a slow uplink and would let seconds of stale
 * video pile up. With the acknowledgement, at most a couple of frames are ever on their way, so a slow link
 * shows up at once as dropped frames (which adaptive quality reacts to) and latency stays low.
 */
export class FramePublisher {
  private inFlight = 0;
  private waiting: Pending | undefined;
  private nextSeq = 0;
  private readonly bodyOptions: IClientPublishOptions;
  private readonly lastOptions: IClientPublishOptions;
  private readonly maxInFlight: number;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  /** Chunk buffers of acknowledged frames, ready for reuse (at most maxInFlight). */
  private readonly spareBuffers: Buffer[] = [];

  constructor(
    private readonly link: PublishLink,
    private readonly options: FramePublisherOptions,
    private readonly stats: StreamStats,
    private readonly logger: Logger,
    /** Called after each frame has been acknowledged by the broker. */
    private readonly onSent: (seq: number, bytes: number) => void = () => {},
  ) {
    const properties = options.expiryS !== undefined ? { properties: { messageExpiryInterval: options.expiryS } } : {};
    this.bodyOptions = { qos: options.qos, retain: false, ...properties };
    this.lastOptions = { qos: 1, retain: false, ...properties };
    this.maxInFlight = options.maxInFlight ?? 2;
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
    if (this.inFlight >= this.maxInFlight) {
      if (this.waiting) this.stats.dropped('busy');
      this.waiting = { frame, seq };
      return;
    }
    this.launch({ frame, seq });
  }

  /** Stops taking frames and waits for those in flight, if any. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.waiting) { this.waiting = undefined; this.stats.dropped('busy'); }
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private launch(item: Pending): void {
    this.inFlight++;
    void this.send(item).finally(() => {
      this.inFlight--;
      const next = this.waiting;
      this.waiting = undefined;
      if (next && !this.stopped) {
        if (this.link.connected) this.launch(next);
        else this.stats.dropped('offline');
      }
      if (this.inFlight === 0) { for (const w of this.idleWaiters) w(); this.idleWaiters = []; }
    });
  }

  private async send({ frame, seq }: Pending): Promise<void> {
    let chunks: Buffer[];
    const tailBytes = this.options.qos === 0 ? TAIL_BYTES : undefined;
    let buffer: Buffer | undefined;
    try {
      const payload = effectiveChunkPayload(this.options.chunkSize, this.options.topic, this.link.maxPacketSize);
      buffer = this.bufferFor(chunkBufferSize(frame.data.length, payload, tailBytes));
      chunks = chunkFrame({ streamId: this.options.streamId, seq, capturedAtUs: frame.capturedAtUs, data: frame.data }, payload, { tailBytes, into: buffer });
    } catch (error) {
      if (buffer) this.spareBuffers.push(buffer);
      this.stats.dropped('too-large');
      this.logger.warn('frame cannot be sent', { seq, bytes: frame.data.length, error: (error as Error).message });
      return;
    }
    try {
      const last = chunks.length - 1;
      // All chunks are handed to MQTT.js at once (it writes them in order); awaiting them is the back-pressure.
      await Promise.all(chunks.map((chunk, i) => this.link.publish(this.options.topic, chunk, i === last ? this.lastOptions : this.bodyOptions)));
    } catch {
      // The buffer is not reused: a socket that failed mid-write may still hold parts of it.
      this.stats.dropped('offline');
      return;
    }
    this.spareBuffers.push(buffer);
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.length;
    this.stats.sent(bytes, chunks.length);
    this.onSent(seq, bytes);
  }

  /** A spare buffer of at least `size` bytes, or a new one with room to grow. */
  private bufferFor(size: number): Buffer {
    const spare = this.spareBuffers.pop();
    if (spare && spare.length >= size) return spare;
    return Buffer.allocUnsafe(Math.ceil(size * 1.25));
  }
}
