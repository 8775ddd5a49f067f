import net from 'node:net';
import { listenOnLoopback } from '../../harness/loopback.js';

/**
 * A TCP relay on loopback between a client and a broker, which a test can break the way networks break:
 * `cut()` resets every connection and every new one (a cable pulled, a broker host gone); `freeze()` stops
 * moving bytes without closing anything, so both ends hold a silent half-open connection (Wi-Fi gone),
 * and new connections are accepted but get no answer. `restore()` forwards again: frozen links carry on
 * where they stopped (and die then if the far end gave up meanwhile), held connections reach the broker.
 * `swallowNext()` loses the next connection attempts for good (a SYN that a loaded machine drops).
 */
export class FaultProxy {
  private server: net.Server | undefined;
  private readonly links = new Set<Link>();
  private mode: 'forward' | 'cut' | 'frozen' = 'forward';
  private toSwallow = 0;
  port = 0;
  accepted = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    this.port = await listenOnLoopback(server);
    return this.port;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Open client connections right now. */
  get linkCount(): number {
    return this.links.size;
  }

  cut(): void {
    this.mode = 'cut';
    for (const link of [...this.links]) link.reset();
  }

  freeze(): void {
    this.mode = 'frozen';
    for (const link of this.links) link.freeze();
  }

  restore(): void {
    this.mode = 'forward';
    for (const link of [...this.links]) link.thaw(this.target);
  }

  /**
   * The next `count` connections are accepted and then ignored for good, even after restore(): an attempt
   * lost on its way, which only the client's own time limit ends. Other connections are not affected.
   */
  swallowNext(count = 1): void {
    this.toSwallow = count;
  }

  async stop(): Promise<void> {
    for (const link of [...this.links]) link.reset();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    if (this.mode === 'cut') { client.resetAndDestroy(); return; }
    const link = new Link(client, () => this.links.delete(link));
    this.links.add(link);
    if (this.toSwallow > 0) { this.toSwallow--; link.swallow(); return; }
    if (this.mode === 'frozen') link.freeze();
    else link.thaw(this.target);
  }
}

/** One client connection and, once forwarding, its connection to the broker. */
class Link {
  private upstream: net.Socket | undefined;
  /** Bytes from a client that arrived while no broker connection existed yet (frozen at accept time). */
  private held: Buffer[] = [];
  private frozen = false;
  private swallowed = false;
  private closed = false;

  constructor(private readonly client: net.Socket, private readonly onClosed: () => void) {
    client.on('data', (data: Buffer) => {
      if (!this.upstream) { this.held.push(data); return; }
      if (!this.upstream.write(data)) client.pause();
    });
    client.on('end', () => { if (this.upstream) this.upstream.end(); else this.reset(); });
    client.on('error', () => this.reset());
    client.on('close', () => this.reset());
  }

  /**
   * An established link stops reading both ways, so unacknowledged bytes pile up in the kernel and the
   * sender's writes stall, as on a dead network. A link still without a broker connection keeps reading
   * (nothing is forwarded), only so that a client that gives up on it is noticed and it is not delivered later.
   */
  freeze(): void {
    this.frozen = true;
    if (this.upstream) { this.client.pause(); this.upstream.pause(); }
  }

  /** Frozen for good: restore() does not bring it back. */
  swallow(): void {
    this.swallowed = true;
    this.freeze();
  }

  thaw(target: { host: string; port: number }): void {
    if (this.closed || this.swallowed) return;
    this.frozen = false;
    if (!this.upstream) this.connect(target);
    this.client.resume();
    this.upstream!.resume();
  }

  reset(): void {
    if (this.closed) return;
    this.closed = true;
    // A reset (RST) is what a broken network shows; but on a socket already shut down for writing Node
    // cannot send one and then never closes the handle (the process spins at exit), so destroy that one.
    if (!this.client.destroyed) {
      if (this.client.writableEnded) this.client.destroy();
      else this.client.resetAndDestroy();
    }
    this.upstream?.destroy();
    this.onClosed();
  }

  private connect(target: { host: string; port: number }): void {
    const upstream = net.connect(target.port, target.host);
    this.upstream = upstream;
    for (const data of this.held) upstream.write(data);
    this.held = [];
    upstream.on('data', (data: Buffer) => { if (!this.client.write(data)) upstream.pause(); });
    this.client.on('drain', () => { if (!this.frozen) upstream.resume(); });
    upstream.on('drain', () => { if (!this.frozen) this.client.resume(); });
    upstream.on('end', () => this.client.end());
    upstream.on('error', () => this.reset());
    upstream.on('close', () => this.reset());
  }
}
