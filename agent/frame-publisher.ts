import type { IClientPublishOptions } from 'mqtt';
import type { Logger } from '../common/logger.js';
import { chunkBufferSize, chunkFrame } from '../protocol/chunker.js';
import { HEADER_LENGTH } from '../protocol/header.js';
import { effectiveChunkPayload } from '../protocol/packet-size.js';
import type { CameraLinkStats } from '../protocol/messages.js';
import type { CapturedFrame } from './capture/frame-source.js';
import { LinkEstimator, type FrameSend } from './link/link-estimator.js';
import { SendPacer, type PacedFrame } from './link/send-pacer.js';
import type { StreamStats } from './stream-stats.js';

/** What the publisher needs of the MQTT link; MqttConnection provides it. */
export interface PublishLink {
  readonly connected: boolean;
  /** Connections made so far: a new one may take another path, so what was measured starts again. */
  readonly connects: number;
  readonly maxPacketSize: number | undefined;
  publish(topic: string, payload: Buffer, options: IClientPublishOptions): Promise<void>;
}

export interface FramePublisherOptions {
  topic: string;
  streamId: number;
  /** Largest chunk message in bytes, header included. */
  chunkSize: number;
  /** QoS of the chunks. With 0, the head chunk of each frame still goes at QoS 1 (see below). */
  qos: 0 | 1;
  /** MQTT 5 message expiry of each chunk, seconds; undefined over MQTT 3.1.1. */
  expiryS: number | undefined;
  /** Hard cap on frames whose head is not yet acknowledged, whatever the path allows. Default 32. */
  maxFramesInFlight?: number;
}

interface Waiting {
  frame: CapturedFrame;
  seq: number;
  /** Set once the frame could not go the moment it came: the path, not the camera, sets the pace. */
  held: boolean;
}

interface InFlight {
  seq: number;
  send: FrameSend;
  paced: PacedFrame;
  estimator: LinkEstimator;
  /** Bytes of the frame, and of its chunk messages. */
  frameBytes: number;
  chunkBytes: number;
  chunkCount: number;
  /** The chunks' buffer, reused once the broker has the whole frame. */
  buffer: Buffer;
}

/** Payload bytes of the acknowledged head and tail chunks: small, since MQTT.js copies every QoS 1 message it stores. */
const EDGE_BYTES = 64;
/** MQTT framing around a chunk (fixed header, topic length, packet id, MQTT 5 properties), roughly. */
const PUBLISH_OVERHEAD = 12;

/**
 * Sends frames as chunk messages, as fast as the path to the broker carries them and no faster.
 *
 * Each frame starts with a small head chunk at QoS 1 (the others go at the configured QoS). Over one TCP
 * connection the broker handles messages in order, so the head's PUBACK comes back one round trip (plus any
 * queue ahead of it) after it was sent, and means the broker has every earlier frame whole. A frame that
 * takes longer than a round trip on the path also ends in a small tail chunk at QoS 1. From these
 * acknowledgements the LinkEstimator measures the round trip, the queue and the delivery rate, and the
 * SendPacer lets a frame go only when the path has room: paced at the delivery rate, with no more in flight
 * than rate × round trip and headroom, and never into a queue. A frame that cannot go yet waits here, and a
 * newer frame replaces it (newest wins, the older one counts as dropped `busy`); a frame arriving while the
 * link is down is dropped at once (`offline`).
 *
 * So a long link with room to spare carries every frame (many frames are in flight at once), while a narrow
 * one carries as many as fit, freshest first, with no queue of stale video in socket buffers or routers: the
 * kernel's buffers hold megabytes, and "written to the socket" says nothing about a slow uplink.
 *
 * A frame counts as sent once a later frame's head is acknowledged, or its own tail (with QoS 1 chunks, its
 * last chunk); at stop, once written (the `offline` status that follows is acknowledged after it). Its chunk
 * buffer is reused only then: MQTT.js calls back for a QoS 0 chunk before the socket has taken its bytes,
 * but once the broker has the frame every byte has left.
 */
export class FramePublisher {
  private nextSeq = 0;
  private readonly bodyOptions: IClientPublishOptions;
  private readonly edgeOptions: IClientPublishOptions;
  private readonly topicBytes: number;
  private readonly maxFramesInFlight: number;
  private estimator = new LinkEstimator();
  private pacer: SendPacer;
  private connection = -1;
  private waiting: Waiting | undefined;
  private releaseTimer: NodeJS.Timeout | undefined;
  /** Frames sent and not yet known delivered, oldest first. */
  private readonly inFlight: InFlight[] = [];
  /** Frames whose chunks are not all written (or failed) yet. */
  private writing = 0;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  private roomWaiters: Array<() => void> = [];
  private readonly spareBuffers: Buffer[] = [];
  /** Frames and bytes handed to the publisher: what the current settings ask of the link. */
  offeredFrames = 0;
  offeredBytes = 0;
  /** Bytes of the frames the broker has (frame bytes, without chunk headers). */
  deliveredBytes = 0;

  constructor(
    private readonly link: PublishLink,
    private readonly options: FramePublisherOptions,
    private readonly stats: StreamStats,
    private readonly logger: Logger,
    /** Called for each frame the broker has whole. */
    private readonly onSent: (seq: number, bytes: number) => void = () => {},
  ) {
    const properties = options.expiryS !== undefined ? { properties: { messageExpiryInterval: options.expiryS } } : {};
    this.bodyOptions = { qos: options.qos, retain: false, ...properties };
    this.edgeOptions = { qos: 1, retain: false, ...properties };
    this.topicBytes = Buffer.byteLength(options.topic);
    this.maxFramesInFlight = options.maxFramesInFlight ?? 32;
    this.pacer = new SendPacer(this.estimator, { maxFramesInFlight: this.maxFramesInFlight });
  }

  /**
   * Takes a frame (counted captured where it entered the pipeline); returns its sequence number. Never blocks
   * and never throws. Every frame offered is later counted sent or dropped in the stream's counter. Sequence
   * numbers count every frame offered.
   */
  offer(frame: CapturedFrame): number {
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) >>> 0;
    this.offeredFrames++;
    this.offeredBytes += frame.data.length;
    if (this.stopped || !this.link.connected) {
      this.stats.dropped('offline');
      return seq;
    }
    if (this.waiting) this.stats.dropped('busy');
    this.waiting = { frame, seq, held: this.waiting !== undefined };
    this.pump();
    return seq;
  }

  /** Frames offered and not yet counted sent or dropped: the one waiting and those in flight. */
  get holding(): number {
    return (this.waiting ? 1 : 0) + this.inFlight.length;
  }

  /** Resolves once no frame waits to go: a frame offered then would not replace one (for a sender that can wait). */
  whenRoom(): Promise<void> {
    if (!this.waiting) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** What the publisher knows of the path now, for the stats message. */
  linkStats(): CameraLinkStats {
    const now = performance.now();
    const rate = this.estimator.bandwidthRate();
    const rtt = this.estimator.minRttMs(now);
    return {
      rttMs: rtt === undefined ? null : round1(rtt),
      queueMs: round1(this.estimator.queueDelayMs(now)),
      kbps: rate === undefined ? null : Math.round(rate * 8),
      inFlight: this.inFlight.length,
      mode: this.pacer.mode,
    };
  }

  /** The capacity the path showed, bytes/s (Infinity: no limit seen), or undefined when unknown. */
  capacityHint(): number | undefined {
    const hint = this.estimator.capacityHint(performance.now());
    return hint === undefined ? undefined : hint * 1000;
  }

  /** The rate the path delivers as estimated now, bytes/s, or undefined before the first estimate. */
  rateEstimate(): number | undefined {
    const rate = this.estimator.bandwidthRate();
    return rate === undefined ? undefined : rate * 1000;
  }

  /** Whether the pacer is still finding the path's rate (then drops say little about the link's width). */
  get measuring(): boolean {
    return this.pacer.mode === 'startup';
  }

  /** Stops taking frames and waits until those in flight are written, if any. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    if (this.waiting) { this.waiting = undefined; this.stats.dropped('busy'); }
    this.roomMade();
    if (this.writing > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.deliveredUpTo(this.inFlight.length - 1, performance.now());
  }

  /** Sends the waiting frame if the pacer lets it go; otherwise arranges to ask again. */
  private pump(): void {
    const item = this.waiting;
    if (!item || this.stopped) return;
    if (!this.link.connected) {
      this.waiting = undefined;
      this.stats.dropped('offline');
      this.roomMade();
      return;
    }
    if (this.link.connects !== this.connection) this.newPath();
    const now = performance.now();
    const release = this.pacer.release(now, this.wireBytesOf(item.frame.data.length));
    clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    if (!release.now) {
      item.held = true;
      if (release.inMs !== undefined) this.releaseTimer = setTimeout(() => { this.releaseTimer = undefined; this.pump(); }, Math.ceil(release.inMs));
      return;
    }
    this.waiting = undefined;
    this.launch(item, now);
    this.roomMade();
  }

  private roomMade(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  /** A new connection may be a new path: measure it afresh. */
  private newPath(): void {
    this.connection = this.link.connects;
    this.estimator = new LinkEstimator();
    this.pacer = new SendPacer(this.estimator, { maxFramesInFlight: this.maxFramesInFlight });
  }

  private launch({ frame, seq, held }: Waiting, now: number): void {
    // A long frame has its tail acknowledged too (a capacity sample); with QoS 1 chunks every chunk is.
    const tailAck = this.options.qos === 0 && this.pacer.wantsTailAck(now, this.wireBytesOf(frame.data.length));
    const cutOptions = { headBytes: EDGE_BYTES, tailBytes: tailAck ? EDGE_BYTES : undefined };
    let chunks: Buffer[];
    let buffer: Buffer | undefined;
    try {
      const payload = effectiveChunkPayload(this.options.chunkSize, this.options.topic, this.link.maxPacketSize);
      buffer = this.bufferFor(chunkBufferSize(frame.data.length, payload, cutOptions));
      chunks = chunkFrame({ streamId: this.options.streamId, seq, capturedAtUs: frame.capturedAtUs, data: frame.data }, payload, { ...cutOptions, into: buffer });
    } catch (error) {
      if (buffer) this.spareBuffers.push(buffer);
      this.stats.dropped('too-large');
      this.logger.warn('frame cannot be sent', { seq, bytes: frame.data.length, error: (error as Error).message });
      return;
    }
    let wire = 0;
    let chunkBytes = 0;
    for (const chunk of chunks) {
      chunkBytes += chunk.length;
      wire += chunk.length + this.topicBytes + PUBLISH_OVERHEAD;
    }
    const tailAcked = tailAck && chunks.length > 2;
    const estimator = this.estimator;
    const afterHead = tailAcked ? wire - (chunks[0]!.length + this.topicBytes + PUBLISH_OVERHEAD) : 0;
    const flight: InFlight = {
      seq, estimator, frameBytes: frame.data.length, chunkBytes, chunkCount: chunks.length, buffer: buffer!,
      send: estimator.sent(wire, afterHead, now, !held), paced: this.pacer.sent(now, wire),
    };
    this.inFlight.push(flight);
    this.writing++;
    void this.deliver(chunks, flight, tailAcked).then((ok) => this.written(flight, ok));
  }

  /** Hands every chunk to MQTT.js at once (it writes them in order); resolves once all are written (acknowledged ones acknowledged). */
  private async deliver(chunks: Buffer[], flight: InFlight, tailAcked: boolean): Promise<boolean> {
    const last = chunks.length - 1;
    try {
      await Promise.all(chunks.map((chunk, i) => {
        const acked = i === 0 || (tailAcked && i === last);
        const sent = this.link.publish(this.options.topic, chunk, acked ? this.edgeOptions : this.bodyOptions);
        if (i === 0) return sent.then(() => this.headAcked(flight));
        return tailAcked && i === last ? sent.then(() => this.tailAcked(flight)) : sent;
      }));
      return true;
    } catch {
      return false;
    }
  }

  /** The broker has all of this frame (and every earlier one): a capacity sample too. */
  private tailAcked(flight: InFlight): void {
    const at = this.inFlight.indexOf(flight);
    if (at < 0) return;
    const now = performance.now();
    flight.estimator.tailAcked(flight.send, now);
    this.deliveredUpTo(at, now);
    this.pump();
  }

  /** The broker has every frame sent before this one, and this one's head: a round trip measured. */
  private headAcked(flight: InFlight): void {
    const at = this.inFlight.indexOf(flight);
    if (at < 0) return;
    const now = performance.now();
    flight.estimator.headAcked(flight.send, now);
    const base = flight.estimator.minRttMs(now);
    if (flight.estimator === this.estimator && base !== undefined) this.pacer.headAcked(now - flight.send.sentAt - base, flight.paced);
    this.deliveredUpTo(at - 1, now);
    this.pump();
  }

  /** The frames in flight up to index `last` are delivered, oldest first. */
  private deliveredUpTo(last: number, now: number): void {
    for (const flight of this.inFlight.splice(0, last + 1)) {
      // As many as were in flight at once at most: the pool never holds more than the peak already did.
      if (this.spareBuffers.length < this.maxFramesInFlight) this.spareBuffers.push(flight.buffer);
      const roundEnded = flight.estimator.completed(flight.send, now);
      if (flight.estimator === this.estimator) this.pacer.delivered(now, roundEnded);
      this.stats.sent(flight.chunkBytes, flight.chunkCount);
      this.deliveredBytes += flight.frameBytes;
      this.onSent(flight.seq, flight.chunkBytes);
    }
  }

  private written(flight: InFlight, ok: boolean): void {
    this.writing--;
    if (ok) {
      // With QoS 1 chunks the frame's last acknowledgement is its own.
      if (this.options.qos === 1) this.deliveredUpTo(this.inFlight.indexOf(flight), performance.now());
    } else {
      // The buffer is not reused: a socket that failed mid-write may still hold parts of it.
      const at = this.inFlight.indexOf(flight);
      if (at >= 0) this.inFlight.splice(at, 1);
      flight.estimator.lost(flight.send);
      this.stats.dropped('offline');
    }
    if (this.writing === 0) { for (const w of this.idleWaiters) w(); this.idleWaiters = []; }
    this.pump();
  }

  /** Bytes a frame of `length` bytes will put on the wire, before it is cut (the pacer needs it first). */
  private wireBytesOf(length: number): number {
    const payload = Math.max(1, this.options.chunkSize - HEADER_LENGTH);
    const chunks = Math.ceil(length / payload) + 1; // the head
    return length + chunks * (HEADER_LENGTH + this.topicBytes + PUBLISH_OVERHEAD);
  }

  /** A spare buffer of at least `size` bytes, or a new one with room to grow. */
  private bufferFor(size: number): Buffer {
    const spare = this.spareBuffers.pop();
    if (spare && spare.length >= size) return spare;
    return Buffer.allocUnsafe(Math.ceil(size * 1.25));
  }
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
