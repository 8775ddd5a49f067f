import { randomBytes } from './random.js';

export interface FuzzRequest {
  /** The bytes sent, exactly. */
  bytes: Buffer;
  /** What it was, for failure messages. */
  summary: string;
  /** True when a 2xx is the right answer: a well-formed request for one of the viewer's own pages or actions. */
  maySucceed: boolean;
}

const GOOD_GETS = new Set(['/', '/app.js', '/style.css', '/api/cameras']);
const GOOD_POSTS = new Set(['/api/recording/start', '/api/recording/stop']);
const SEGMENTS = [
  '', 'api', 'cameras', 'ws', 'app.js', 'style.css', 'latest.jpg', 'snapshot', 'control', 'recording', 'start', 'stop',
  '..', '.', '%2e%2e', '%2F', '%2f..%2f', '%ZZ', '%', '%E0%A4%A', '%C0%AF', '%00', '%FF', '%25', '%u0041', '%%', 'picam%2Fgarden',
  'garden', '__proto__', 'constructor', '%F0%9F%93%B7', 'a;b', 'a=b', '~', '\\..\\', 'index.html',
];

/**
 * Random HTTP/1.1 requests for the viewer's page server: methods real and made up, targets built from its
 * own path segments, traversal attempts and broken or overlong percent-encodings, queries and fragments,
 * absolute and asterisk forms, bytes outside ASCII, good, missing, foreign and malformed Host and Origin
 * headers, odd header names and values, and bodies of every shape for POST. Every request is complete (its
 * body matches its length), so the server never waits for more.
 */
export class FuzzRequests {
  constructor(private readonly random: () => number, private readonly port: number) {}

  next(): FuzzRequest {
    const method = this.method();
    const target = this.target();
    const { lines: hostLines, good: goodHost } = this.host();
    const origin = this.pick([undefined, undefined, `http://127.0.0.1:${this.port}`, 'http://evil.example', 'null', this.junk(20)]);
    const headers = [...hostLines];
    if (origin !== undefined) headers.push(`Origin: ${origin}`);
    for (let i = this.int(3); i > 0; i--) headers.push(this.oddHeader());
    const body = method === 'POST' || this.random() < 0.1 ? this.body() : undefined;
    if (body !== undefined) {
      if (this.random() < 0.2) headers.push('Transfer-Encoding: chunked');
      else headers.push(`Content-Length: ${body.length}`);
    }
    headers.push('Connection: close');
    const chunked = headers.includes('Transfer-Encoding: chunked');
    const head = Buffer.from(`${method} ${target} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1');
    const payload = body === undefined ? Buffer.alloc(0) : chunked ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]) : body;
    const pathname = normalisedPath(target);
    const sameOrigin = origin === undefined || origin === `http://127.0.0.1:${this.port}`;
    const maySucceed = goodHost && pathname !== undefined && (
      ((method === 'GET' || method === 'HEAD') && GOOD_GETS.has(pathname)) || (method === 'POST' && sameOrigin && GOOD_POSTS.has(pathname)));
    return { bytes: Buffer.concat([head, payload]), summary: `${method} ${target} [${headers.join(' | ').slice(0, 300)}]`, maySucceed };
  }

  private int(max: number): number {
    return Math.floor(this.random() * max);
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Printable junk without spaces, CR or LF (those would end the request line or header early). */
  private junk(max: number): string {
    return Array.from({ length: 1 + this.int(max) }, () => String.fromCharCode(0x21 + this.int(0x5e))).join('');
  }

  private method(): string {
    return this.pick(['GET', 'GET', 'GET', 'POST', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'PROPFIND', 'get', 'G@T', this.junk(8).replace(/[^A-Za-z]/g, 'X')]);
  }

  private target(): string {
    const r = this.random();
    if (r < 0.03) return '*';
    if (r < 0.06) return `http://${this.pick(['127.0.0.1', 'evil.example', '[::1]'])}${this.path()}`;
    if (r < 0.1) return `/${this.path()}`; // starts with //
    if (r < 0.13) return `/${'a/'.repeat(this.int(3000))}`;
    let path = this.path();
    if (this.random() < 0.2) path += `?${this.pick(['', 'x=1', '%ZZ', this.junk(40), 'a=%E0%A4%A'])}`;
    if (this.random() < 0.05) path += `#${this.junk(10)}`;
    if (this.random() < 0.05) path += Buffer.from([0x80 + this.int(0x80), this.int(0x20)]).toString('latin1');
    return path;
  }

  private path(): string {
    const parts = Array.from({ length: 1 + this.int(6) }, () => {
      const r = this.random();
      if (r < 0.7) return this.pick(SEGMENTS);
      if (r < 0.85) return Array.from({ length: 1 + this.int(4) }, () => `%${this.pick([...'0123456789ABCDEFabcdefGZ%'])}${this.pick([...'0123456789ABCDEFabcdefGZ/'])}`).join('');
      return this.junk(30).replace(/[/?#]/g, '_');
    });
    if (this.random() < 0.3) return `/api/cameras/${parts.join('/')}/${this.pick(['latest.jpg', 'snapshot', 'control'])}`;
    return `/${parts.join('/')}`;
  }

  private host(): { lines: string[]; good: boolean } {
    const r = this.random();
    if (r < 0.5) return { lines: [`Host: 127.0.0.1:${this.port}`], good: true };
    if (r < 0.6) return { lines: [`Host: localhost:${this.port}`], good: true };
    if (r < 0.65) return { lines: [], good: false };
    if (r < 0.7) return { lines: [`Host: 127.0.0.1:${this.port}`, 'Host: evil.example'], good: false };
    return { lines: [`Host: ${this.pick(['evil.example', '', 'evil.example@127.0.0.1', '127.0.0.1.nip.example', '[::1', ':80', '127.0.0.1:99999999', this.junk(30)])}`], good: false };
  }

  private oddHeader(): string {
    return this.pick([
      `X-${this.junk(10).replace(/[^A-Za-z0-9-]/g, '')}: ${this.junk(50)}`,
      `Cookie: ${this.junk(200)}`,
      `Referer: http://${this.junk(20)}/`,
      `Accept: ${this.junk(20)}`,
      `Content-Type: ${this.pick(['application/json', 'text/plain', this.junk(20)])}`,
      `X-Long: ${'a'.repeat(this.pick([100, 9000, 20_000]))}`,
      `Bad Header: ${this.junk(5)}`,
      `Upgrade: ${this.pick(['h2c', 'websocket', this.junk(5)])}`,
      `Expect: ${this.pick(['100-continue', this.junk(5)])}`,
    ]);
  }

  private body(): Buffer {
    return this.pick([
      () => Buffer.from('{"fps":1}'),
      () => Buffer.from('{'),
      () => Buffer.from(`${'['.repeat(3000)}${']'.repeat(3000)}`),
      () => Buffer.from(`{"a":${'{"a":'.repeat(1000)}1${'}'.repeat(1001)}`),
      () => Buffer.from(JSON.stringify({ fps: this.junk(10), width: -1, id: this.junk(100) })),
      () => Buffer.alloc(5000, 0x7b),
      () => randomBytes(this.random, this.int(600)),
      () => Buffer.alloc(0),
    ])();
  }
}

/** The path the viewer routes on for a target, or undefined when it is not an origin-form path. */
function normalisedPath(target: string): string | undefined {
  if (!target.startsWith('/') || target.startsWith('//')) return undefined;
  try {
    return new URL(target, 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}
