import net from 'node:net';
import { listenOnLoopback } from './loopback.js';

/**
 * A wide-area link on loopback, in user space (no root, no `tc`): a TCP relay between clients and a broker
 * that holds every byte for half the round trip in each direction and, where a rate is set, lets bytes
 * through no faster than that rate, behind a bounded queue (the router's buffer). When that queue is full
 * the relay stops reading, so the sender's own socket buffers fill behind it, as with a real narrow uplink.
 *
 * Bytes are timed in packet-sized slices, so a small message behind a large one waits for it exactly as it
 * would on a wire, and the shape can change while connections are open (a link that narrows or widens).
 */

export interface LinkShape {
  /** Round trip the link adds, ms (half in each direction). */
  rttMs: number;
  /** Client → broker rate in bits per second; undefined: unlimited. */
  upBitsPerSecond?: number;
  /** Broker → client rate in bits per second; undefined: unlimited. */
  downBitsPerSecond?: number;
  /** The queue in front of each rate limit, bytes. Default: 250 ms at the rate, at least 32 KiB. */
  queueBytes?: number;
}

export interface LinkCounters {
  /** Bytes delivered to the broker and to the clients since start. */
  upBytes: number;
  downBytes: number;
}

/** Payload of one emulated packet: about an Ethernet frame's TCP payload. */
const SLICE_BYTES = 1448;

export class LinkEmulator {
  private server: net.Server | undefined;
  private readonly connections = new Set<{ close(): void }>();
  private shape: LinkShape;
  readonly counters: LinkCounters = { upBytes: 0, downBytes: 0 };
  port = 0;

  constructor(private readonly target: { host: string; port: number }, shape: LinkShape) {
    this.shape = { ...shape };
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get current(): Readonly<LinkShape> {
    return this.shape;
  }

  async start(): Promise<number> {
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    this.port = await listenOnLoopback(server);
    return this.port;
  }

  /** Changes the link for bytes that arrive from now on; bytes already on their way keep their times. */
  setShape(shape: LinkShape): void {
    this.shape = { ...shape };
  }

  /** Closes every connection and the listening socket. Idempotent. */
  async stop(): Promise<void> {
    for (const c of [...this.connections]) c.close();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    client.pause();
    const upstream = net.connect(this.target.port, this.target.host);
    // The emulated wire sends every slice when it is due; Nagle's algorithm in the relay would add delays of its own.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const up = new DelayLine(client, upstream, () => this.direction('up'), (n) => { this.counters.upBytes += n; });
    const down = new DelayLine(upstream, client, () => this.direction('down'), (n) => { this.counters.downBytes += n; });
    let closed = false;
    const connection = {
      close: (): void => {
        if (closed) return;
        closed = true;
        up.stop();
        down.stop();
        client.destroy();
        upstream.destroy();
        this.connections.delete(connection);
      },
    };
    this.connections.add(connection);
    upstream.once('connect', () => client.resume());
    for (const socket of [client, upstream]) {
      socket.on('error', () => connection.close());
      socket.on('close', () => connection.close());
    }
  }

  private direction(which: 'up' | 'down'): Direction {
    const s = this.shape;
    const bits = which === 'up' ? s.upBitsPerSecond : s.downBitsPerSecond;
    const bytesPerMs = bits === undefined ? undefined : bits / 8 / 1000;
    const queueBytes = s.queueBytes ?? (bytesPerMs === undefined ? Infinity : Math.max(32 * 1024, bytesPerMs * 250));
    return { oneWayMs: s.rttMs / 2, bytesPerMs, queueBytes };
  }
}

interface Direction {
  oneWayMs: number;
  /** undefined: no rate limit. */
  bytesPerMs: number | undefined;
  queueBytes: number;
}

interface Slice {
  data: Buffer;
  deliverAt: number;
}

/** One direction of one connection: a rate limit with its queue, then a fixed delay. */
class DelayLine {
  private readonly slices: Slice[] = [];
  private head = 0;
  /** When the rate limit has sent everything it holds (ms, performance.now clock). */
  private departFree = 0;
  private lastDeliverAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private resumeTimer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;
  private stopped = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly direction: () => Direction,
    private readonly delivered: (bytes: number) => void,
  ) {
    from.on('data', (data: Buffer) => this.take(data));
    to.on('drain', () => { this.waitingForDrain = false; this.deliver(); });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.resumeTimer);
  }

  private take(data: Buffer): void {
    const now = performance.now();
    const d = this.direction();
    if (d.bytesPerMs === undefined) {
      this.enqueue(data, now + d.oneWayMs);
    } else {
      for (let at = 0; at < data.length; at += SLICE_BYTES) {
        const slice = data.subarray(at, Math.min(at + SLICE_BYTES, data.length));
        this.departFree = Math.max(this.departFree, now) + slice.length / d.bytesPerMs;
        this.enqueue(slice, this.departFree + d.oneWayMs);
      }
      // Bytes still waiting for the rate limit are the router's queue; when it is full, stop reading.
      const queued = (this.departFree - now) * d.bytesPerMs;
      if (queued > d.queueBytes && !this.from.isPaused()) {
        this.from.pause();
        const resumeInMs = (queued - d.queueBytes) / d.bytesPerMs;
        this.resumeTimer = setTimeout(() => { if (!this.stopped) this.from.resume(); }, Math.ceil(resumeInMs));
      }
    }
    this.schedule();
  }

  private enqueue(data: Buffer, deliverAt: number): void {
    // Order is kept even when the shape changes to a shorter delay.
    this.lastDeliverAt = Math.max(this.lastDeliverAt, deliverAt);
    this.slices.push({ data, deliverAt: this.lastDeliverAt });
  }

  private schedule(): void {
    if (this.timer || this.stopped || this.waitingForDrain || this.head >= this.slices.length) return;
    const wait = Math.max(0, this.slices[this.head]!.deliverAt - performance.now());
    this.timer = setTimeout(() => { this.timer = undefined; this.deliver(); }, wait);
  }

  private deliver(): void {
    if (this.stopped || this.waitingForDrain) return;
    const now = performance.now();
    const due: Buffer[] = [];
    let bytes = 0;
    while (this.head < this.slices.length && this.slices[this.head]!.deliverAt <= now + 0.5) {
      const slice = this.slices[this.head++]!;
      due.push(slice.data);
      bytes += slice.data.length;
    }
    if (this.head > 1024 && this.head * 2 > this.slices.length) { this.slices.splice(0, this.head); this.head = 0; }
    if (bytes > 0) {
      this.delivered(bytes);
      if (!this.to.destroyed && !this.to.write(due.length === 1 ? due[0]! : Buffer.concat(due, bytes))) this.waitingForDrain = true;
    }
    this.schedule();
  }
}
