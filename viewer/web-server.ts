import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../common/logger.js';
import { ClientFeed, DEFAULT_THUMBNAIL_FPS } from './client-feed.js';
import type { CameraStates, FrameMeta, PageFeedStats, ServerMessage } from './page/contract.js';
import { HostAllowList } from './host-allow-list.js';
import { pageAsset, readPageAsset } from './page-assets.js';
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
  /** Every camera's state and the viewer's, for the page and /api/cameras. */
  cameraStates(): CameraStates;
  /** The newest frame of a camera (by key or id), or undefined. */
  latestJpeg(camera: string): Buffer | undefined;
  /** The picture of a camera's motion event (motion-events.ts), or undefined. */
  eventPicture(camera: string, id: number): Buffer | undefined;
  /** Saves the newest frame of a camera on disk; resolves with what to tell the page. Throws HttpError. */
  saveSnapshot(camera: string): Promise<Record<string, unknown>>;
  /** Starts or stops recording every camera. Throws HttpError. */
  setRecording(on: boolean): Promise<Record<string, unknown>>;
  /** Sends a remote-control request (JSON object) to a camera and resolves with its answer. */
  control(camera: string, request: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/**
 * More API routes, answered after the page's own (the desktop settings form). A route that is not its own
 * answers undefined; a refusal throws HttpError. GET bodies are undefined.
 */
export interface ExtraRoutes {
  answer(method: 'GET' | 'POST', pathname: string, body: string | undefined): Promise<Record<string, unknown>> | undefined;
}

const CAMERA_PATH = /^\/api\/cameras\/(.+)\/(latest\.jpg|snapshot|control|event-\d{1,15}\.jpg)$/;

/**
 * On every answer. The page may not be framed by any other page (clickjacking: a transparent frame over a
 * decoy button), and it runs only its own script and style, so text from an agent that slipped past escaping
 * could not run either.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const RESPONSE_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};
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
  private hosts = new HostAllowList('127.0.0.1');
  private maxPages = 16;
  private thumbnailFps = DEFAULT_THUMBNAIL_FPS;

  constructor(private readonly data: PageData, private readonly logger: Logger, private readonly extra?: ExtraRoutes) {}

  get clientCount(): number {
    return this.feeds.size;
  }

  /** Per open page: frames sent, replaced by a newer one before they could be sent, skipped, acknowledged, bytes queued. */
  feedStats(): PageFeedStats[] {
    return [...this.feeds.values()].map((feed) => feed.stats);
  }

  /** Listens on host:port; the page answers to the Host names of HostAllowList, plus `allowHosts`. */
  async start(host: string, port: number, options: { allowHosts?: readonly string[]; maxPages?: number; thumbnailFps?: number } = {}): Promise<{ host: string; port: number }> {
    this.hosts = new HostAllowList(host, options.allowHosts);
    this.maxPages = options.maxPages ?? 16;
    this.thumbnailFps = options.thumbnailFps ?? DEFAULT_THUMBNAIL_FPS;
    const server = http.createServer((req, res) => this.route(req, res));
    // Node closes a CONNECT without a word when nobody listens for it; a client deserves an answer.
    server.on('connect', (_req, socket: Duplex) => {
      socket.on('error', () => undefined);
      socket.end(`HTTP/1.1 405 Method Not Allowed\r\n${Object.entries(RESPONSE_HEADERS).map(([k, v]) => `${k}: ${v}\r\n`).join('')}connection: close\r\ncontent-length: 0\r\n\r\n`);
    });
    this.server = server;
    this.wss = new WebSocketServer({
      server,
      path: '/ws',
      maxPayload: 64 * 1024,
      verifyClient: ({ req }, done) => {
        const problem = requestProblem(req, { hosts: this.hosts, checkOrigin: true });
        if (problem) this.logger.warn('page connection refused', { reason: problem });
        // Each open page may hold up to two unacknowledged frames per camera and one waiting.
        const full = !problem && this.feeds.size >= this.maxPages;
        if (full) this.logger.warn('page connection refused: too many pages open', { maxPages: this.maxPages });
        if (problem) done(false, 403, 'Forbidden');
        else if (full) done(false, 503, `at most ${this.maxPages} pages may be open at once (--max-pages)`);
        else done(true);
      },
    });
    this.wss.on('connection', (socket) => {
      const feed = new ClientFeed(socket, this.thumbnailFps);
      this.feeds.set(socket, feed);
      this.logger.info('page connected', { pages: this.feeds.size });
      feed.sendText(this.camerasMessage());
      socket.on('close', () => {
        feed.close();
        const { sent, replaced, refused } = feed.stats;
        if (this.feeds.delete(socket)) this.logger.info('page closed', { pages: this.feeds.size, framesSent: sent, framesReplaced: replaced, messagesRefused: refused });
      });
      socket.on('error', () => socket.terminate());
      socket.on('message', (data, isBinary) => {
        if (isBinary) feed.receive('');
        else feed.receive(data.toString());
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

  /** The Host names the page answers to, for the start-up log. */
  get hostNames(): string[] {
    return this.hosts.describe();
  }

  /** Offers a frame to every connected page (each feed decides per camera what to send and what to keep). */
  broadcastFrame(meta: FrameMeta, jpeg: Buffer): void {
    for (const feed of this.feeds.values()) feed.offer(meta, jpeg);
  }

  /** Lets every page's feed forget a camera that left the registry. */
  forgetCamera(cameraKey: string): void {
    for (const feed of this.feeds.values()) feed.forget(cameraKey);
  }

  /** Pushes the camera summary to every page now (after a state change the person is waiting for). */
  broadcastSummary(): void {
    if (this.feeds.size === 0) return;
    const text = this.camerasMessage();
    for (const feed of this.feeds.values()) feed.sendText(text);
  }

  private camerasMessage(): string {
    return JSON.stringify({ type: 'cameras', ...this.data.cameraStates() } satisfies ServerMessage);
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

  /** Nothing a request carries may stop the viewer: whatever goes wrong answering it is that request's 500. */
  private route(req: http.IncomingMessage, res: http.ServerResponse): void {
    try {
      this.answer(req, res);
    } catch (error) {
      this.failed(res, req.url, error);
    }
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const post = req.method === 'POST';
    if (!post && req.method !== 'GET' && req.method !== 'HEAD') return this.reply(res, 405, 'text/plain', 'method not allowed');
    const pathname = requestPath(req.url);
    if (pathname === undefined) return this.reply(res, 400, 'text/plain', 'malformed request path');
    const problem = requestProblem(req, { hosts: this.hosts, checkOrigin: post });
    if (problem) {
      this.logger.warn('request refused', { path: pathname.slice(0, 200), reason: problem.slice(0, 300) });
      return this.reply(res, 403, 'text/plain', problem);
    }
    if (post) {
      readBody(req, MAX_BODY_BYTES)
        .then(
          (body) => this.action(pathname, body, res),
          (error: Error) => {
            // Answered before the rest of the body is read, then the connection is closed: nothing more is read.
            res.setHeader('connection', 'close');
            res.once('finish', () => req.destroy());
            this.reply(res, 413, 'application/json', JSON.stringify({ error: error.message }));
          },
        )
        .catch((error: unknown) => this.failed(res, pathname, error));
      return;
    }
    const asset = pageAsset(pathname);
    if (asset) {
      readPageAsset(asset.asset).then(
        (body) => this.reply(res, 200, asset.type, body),
        () => this.reply(res, 500, 'text/plain', 'page file missing: run npm run build'),
      );
      return;
    }
    if (pathname === '/api/cameras') return this.reply(res, 200, 'application/json', JSON.stringify(this.data.cameraStates()));
    const camera = cameraPath(pathname);
    if (camera === 'malformed') return this.reply(res, 400, 'text/plain', 'malformed camera name in the path');
    if (camera?.what === 'latest.jpg') {
      const jpeg = this.data.latestJpeg(camera.name);
      if (!jpeg) return this.reply(res, 404, 'text/plain', 'no frame of that camera kept: none came yet, or it was let go to stay within --max-latest-bytes');
      return this.reply(res, 200, 'image/jpeg', jpeg);
    }
    if (camera?.what.startsWith('event-')) {
      const jpeg = this.data.eventPicture(camera.name, Number(camera.what.slice(6, -4)));
      if (!jpeg) return this.reply(res, 404, 'text/plain', 'no picture of that event kept');
      return this.reply(res, 200, 'image/jpeg', jpeg);
    }
    const extra = this.extra?.answer('GET', pathname, undefined);
    if (extra) return this.settle(pathname, extra, res, false);
    this.reply(res, 404, 'text/plain', 'not found');
  }

  private action(pathname: string, body: string, res: http.ServerResponse): void {
    let work: Promise<Record<string, unknown>> | undefined;
    const camera = cameraPath(pathname);
    if (camera === 'malformed') return this.reply(res, 400, 'application/json', JSON.stringify({ error: 'malformed camera name in the path' }));
    if (camera?.what === 'snapshot') work = this.data.saveSnapshot(camera.name);
    else if (camera?.what === 'control') work = Promise.resolve(body).then((text) => this.data.control(camera.name, parseJsonObject(text)));
    else if (pathname === '/api/recording/start') work = this.data.setRecording(true);
    else if (pathname === '/api/recording/stop') work = this.data.setRecording(false);
    else work = this.extra?.answer('POST', pathname, body);
    if (!work) return this.reply(res, 404, 'application/json', JSON.stringify({ error: 'not found' }));
    this.settle(pathname, work, res);
  }

  /** Answers an API request with its work's result as JSON, or its HttpError; after an action, tells every page the news. */
  private settle(pathname: string, work: Promise<Record<string, unknown>>, res: http.ServerResponse, changed = true): void {
    work
      .then(
        (body) => {
          this.reply(res, 200, 'application/json', JSON.stringify(body));
          if (changed) this.broadcastSummary();
        },
        (error: Error) => {
          const status = error instanceof HttpError ? error.status : 500;
          if (status === 500) this.logger.error('request failed', { path: pathname, error: error.message });
          this.reply(res, status, 'application/json', JSON.stringify({ error: error.message }));
          if (changed) this.broadcastSummary();
        },
      )
      .catch((error: unknown) => this.failed(res, pathname, error));
  }

  private failed(res: http.ServerResponse, path: string | undefined, error: unknown): void {
    this.logger.error('request failed', { path: path?.slice(0, 200), error: error instanceof Error ? error.message : String(error) });
    this.reply(res, 500, 'text/plain', 'internal error');
  }

  private reply(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { 'content-type': type, ...RESPONSE_HEADERS });
    res.end(body);
  }
}

/** The path of an origin-form request target ("/a/b?c" gives "/a/b"); undefined for anything else ("//", "*", "http://…"). */
function requestPath(target: string | undefined): string | undefined {
  if (!target || !target.startsWith('/') || target.startsWith('//')) return undefined;
  try {
    return new URL(target, 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

/** `/api/cameras/<name>/<what>` with the name percent-decoded; 'malformed' when it does not decode. */
function cameraPath(pathname: string): { name: string; what: string } | 'malformed' | undefined {
  const match = CAMERA_PATH.exec(pathname);
  if (!match) return undefined;
  try {
    return { name: decodeURIComponent(match[1]!), what: match[2]! };
  } catch {
    return 'malformed';
  }
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const parts: Buffer[] = [];
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(new Error(`request body larger than ${limit} bytes`));
        return;
      }
      parts.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/** A request body that must be one JSON object; anything else is a 400 saying so. */
export function parseJsonObject(body: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new HttpError(400, 'the request body must be JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'the request body must be a JSON object');
  return value as Record<string, unknown>;
}
