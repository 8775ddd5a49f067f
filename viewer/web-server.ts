import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../common/logger.js';
import { ClientFeed, parseViewMessage } from './client-feed.js';
import { requestProblem } from './request-guard.js';

/** An API request that cannot be done; `status` is the HTTP status, the message is shown in the page. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

/** What the page server reads from, and asks of, the rest of the viewer. */
export interface PageData {
  /** JSON-able state of every camera, for the page and /api/cameras. */
  snapshot(): unknown;
  /** The newest frame of a camera (by key or id), or undefined. */
  latestJpeg(camera: string): Buffer | undefined;
  /** Saves the newest frame of a camera on disk; resolves with what to tell the page. Throws HttpError. */
  saveSnapshot(camera: string): Promise<Record<string, unknown>>;
  /** Starts or stops recording every camera. Throws HttpError. */
  setRecording(on: boolean): Promise<Record<string, unknown>>;
  /** Sends a remote-control request (JSON object) to a camera and resolves with its answer. */
  control(camera: string, request: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export interface PageFeedStats {
  sent: number;
  replaced: number;
  /** Frames not sent because the camera is off screen or over the thumbnail rate. */
  skipped: number;
  bufferedBytes: number;
}

const STATIC: Record<string, { file: URL; type: string }> = {
  '/': { file: new URL('../../viewer/page/index.html', import.meta.url), type: 'text/html; charset=utf-8' },
  '/style.css': { file: new URL('../../viewer/page/style.css', import.meta.url), type: 'text/css; charset=utf-8' },
  '/app.js': { file: new URL('./page/app.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
};

const SNAPSHOT_PATH = /^\/api\/cameras\/(.+)\/(latest\.jpg|snapshot|control)$/;
const MAX_BODY_BYTES = 4096;

/**
 * The local web page: static files, a JSON API and one WebSocket per tab that carries camera summaries
 * (text, once a second) and frames (binary, newest only per camera).
 */
export class WebServer {
  private server: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly feeds = new Map<WebSocket, ClientFeed>();
  private summaryTimer: NodeJS.Timeout | undefined;
  private loopbackOnly = true;

  constructor(private readonly data: PageData, private readonly logger: Logger) {}

  get clientCount(): number {
    return this.feeds.size;
  }

  /** Per open page: frames sent, frames replaced by a newer one before they could be sent, bytes queued. */
  feedStats(): PageFeedStats[] {
    return [...this.feeds].map(([socket, feed]) => ({ sent: feed.sent, replaced: feed.replaced, skipped: feed.skipped, bufferedBytes: socket.bufferedAmount }));
  }

  async start(host: string, port: number): Promise<{ host: string; port: number }> {
    this.loopbackOnly = host === '127.0.0.1' || host === 'localhost' || host === '::1';
    const server = http.createServer((req, res) => this.route(req, res));
    this.server = server;
    this.wss = new WebSocketServer({
      server,
      path: '/ws',
      maxPayload: 64 * 1024,
      verifyClient: ({ req }, done) => {
        const problem = requestProblem(req.headers, { loopbackOnly: this.loopbackOnly, checkOrigin: true });
        if (problem) this.logger.warn('page connection refused', { reason: problem });
        done(problem === undefined, 403, 'Forbidden');
      },
    });
    this.wss.on('connection', (socket) => {
      const feed = new ClientFeed(socket);
      this.feeds.set(socket, feed);
      this.logger.info('page connected', { pages: this.feeds.size });
      feed.sendText(JSON.stringify({ type: 'cameras', ...(this.data.snapshot() as object) }));
      socket.on('close', () => {
        feed.close();
        if (this.feeds.delete(socket)) this.logger.info('page closed', { pages: this.feeds.size, framesSent: feed.sent, framesReplaced: feed.replaced });
      });
      socket.on('error', () => socket.terminate());
      socket.on('message', (data, isBinary) => {
        const view = isBinary ? undefined : parseViewMessage(data.toString());
        if (view) feed.setView(view);
      });
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

  /** Pushes the camera summary to every page now (after a state change the person is waiting for). */
  broadcastSummary(): void {
    if (this.feeds.size === 0) return;
    const text = JSON.stringify({ type: 'cameras', ...(this.data.snapshot() as object) });
    for (const feed of this.feeds.values()) feed.sendText(text);
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

  private route(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const post = req.method === 'POST';
    if (!post && req.method !== 'GET' && req.method !== 'HEAD') return this.reply(res, 405, 'text/plain', 'method not allowed');
    const problem = requestProblem(req.headers, { loopbackOnly: this.loopbackOnly, checkOrigin: post });
    if (problem) {
      this.logger.warn('request refused', { path: url.pathname, reason: problem });
      return this.reply(res, 403, 'text/plain', problem);
    }
    if (post) {
      readBody(req, MAX_BODY_BYTES).then(
        (body) => this.action(url.pathname, body, res),
        (error: Error) => this.reply(res, 413, 'application/json', JSON.stringify({ error: error.message })),
      );
      return;
    }
    const asset = STATIC[url.pathname];
    if (asset) {
      fs.readFile(asset.file, (error, body) => {
        if (error) return this.reply(res, 500, 'text/plain', 'page file missing: run npm run build');
        this.reply(res, 200, asset.type, body);
      });
      return;
    }
    if (url.pathname === '/api/cameras') return this.reply(res, 200, 'application/json', JSON.stringify(this.data.snapshot()));
    const snapshot = SNAPSHOT_PATH.exec(url.pathname);
    if (snapshot && snapshot[2] === 'latest.jpg') {
      const jpeg = this.data.latestJpeg(decodeURIComponent(snapshot[1]!));
      if (!jpeg) return this.reply(res, 404, 'text/plain', 'no frame from that camera yet');
      return this.reply(res, 200, 'image/jpeg', jpeg);
    }
    this.reply(res, 404, 'text/plain', 'not found');
  }

  private action(pathname: string, body: string, res: http.ServerResponse): void {
    let work: Promise<Record<string, unknown>> | undefined;
    const snapshot = SNAPSHOT_PATH.exec(pathname);
    if (snapshot && snapshot[2] === 'snapshot') work = this.data.saveSnapshot(decodeURIComponent(snapshot[1]!));
    else if (snapshot && snapshot[2] === 'control') work = parseJsonObject(body).then((request) => this.data.control(decodeURIComponent(snapshot[1]!), request));
    else if (pathname === '/api/recording/start') work = this.data.setRecording(true);
    else if (pathname === '/api/recording/stop') work = this.data.setRecording(false);
    if (!work) return this.reply(res, 404, 'application/json', JSON.stringify({ error: 'not found' }));
    work.then(
      (body) => {
        this.reply(res, 200, 'application/json', JSON.stringify(body));
        this.broadcastSummary();
      },
      (error: Error) => {
        const status = error instanceof HttpError ? error.status : 500;
        if (status === 500) this.logger.error('request failed', { path: pathname, error: error.message });
        this.reply(res, status, 'application/json', JSON.stringify({ error: error.message }));
        this.broadcastSummary();
      },
    );
  }

  private reply(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(body);
  }
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) { reject(new Error(`request body larger than ${limit} bytes`)); req.destroy(); return; }
      parts.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

async function parseJsonObject(body: string): Promise<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new HttpError(400, 'the request body must be JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'the request body must be a JSON object');
  return value as Record<string, unknown>;
}
