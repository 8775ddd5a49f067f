import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../common/logger.js';
import { ClientFeed } from './client-feed.js';

/** What the page server reads from the rest of the viewer. */
export interface PageData {
  /** JSON-able state of every camera, for the page and /api/cameras. */
  snapshot(): unknown;
  /** The newest frame of a camera (by key or id), or undefined. */
  latestJpeg(camera: string): Buffer | undefined;
}

const STATIC: Record<string, { file: URL; type: string }> = {
  '/': { file: new URL('../../viewer/page/index.html', import.meta.url), type: 'text/html; charset=utf-8' },
  '/style.css': { file: new URL('../../viewer/page/style.css', import.meta.url), type: 'text/css; charset=utf-8' },
  '/app.js': { file: new URL('./page/app.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
};

/**
 * The local web page: static files, a JSON API and one WebSocket per tab that carries camera summaries
 * (text, once a second) and frames (binary, newest only per camera).
 */
export class WebServer {
  private server: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly feeds = new Map<WebSocket, ClientFeed>();
  private summaryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly data: PageData, private readonly logger: Logger) {}

  get clientCount(): number {
    return this.feeds.size;
  }

  async start(host: string, port: number): Promise<{ host: string; port: number }> {
    const server = http.createServer((req, res) => this.route(req, res));
    this.server = server;
    this.wss = new WebSocketServer({ server, path: '/ws', maxPayload: 64 * 1024 });
    this.wss.on('connection', (socket) => {
      const feed = new ClientFeed(socket);
      this.feeds.set(socket, feed);
      feed.sendText(JSON.stringify({ type: 'cameras', ...(this.data.snapshot() as object) }));
      socket.on('close', () => { feed.close(); this.feeds.delete(socket); });
      socket.on('error', () => socket.terminate());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { server.off('error', reject); resolve(); });
    });
    this.summaryTimer = setInterval(() => this.broadcastSummary(), 1000);
    const address = server.address() as AddressInfo;
    return { host: address.address, port: address.port };
  }

  /** Sends a frame message to every connected page (each decides per camera what to keep). */
  broadcastFrame(cameraKey: string, message: Buffer): void {
    for (const feed of this.feeds.values()) feed.offer(cameraKey, message);
  }

  async stop(): Promise<void> {
    clearInterval(this.summaryTimer);
    this.summaryTimer = undefined;
    for (const [socket, feed] of this.feeds) { feed.close(); socket.terminate(); }
    this.feeds.clear();
    const wss = this.wss;
    const server = this.server;
    this.wss = undefined;
    this.server = undefined;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private broadcastSummary(): void {
    if (this.feeds.size === 0) return;
    const text = JSON.stringify({ type: 'cameras', ...(this.data.snapshot() as object) });
    for (const feed of this.feeds.values()) feed.sendText(text);
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.reply(res, 405, 'text/plain', 'method not allowed');
    const asset = STATIC[url.pathname];
    if (asset) {
      fs.readFile(asset.file, (error, body) => {
        if (error) return this.reply(res, 500, 'text/plain', 'page file missing: run npm run build');
        this.reply(res, 200, asset.type, body);
      });
      return;
    }
    if (url.pathname === '/api/cameras') return this.reply(res, 200, 'application/json', JSON.stringify(this.data.snapshot()));
    const snapshot = /^\/api\/cameras\/(.+)\/latest\.jpg$/.exec(url.pathname);
    if (snapshot) {
      const jpeg = this.data.latestJpeg(decodeURIComponent(snapshot[1]!));
      if (!jpeg) return this.reply(res, 404, 'text/plain', 'no frame from that camera yet');
      return this.reply(res, 200, 'image/jpeg', jpeg);
    }
    this.reply(res, 404, 'text/plain', 'not found');
  }

  private reply(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(body);
  }
}
