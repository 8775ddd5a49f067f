import net from 'node:net';

export interface RawAnswer {
  /** The status code, or undefined when the server closed the connection without an answer. */
  status?: number;
  /** Header lines of the answer, lower-cased names. */
  headers: Map<string, string>;
  text: string;
}

/**
 * Sends bytes exactly as given (no client normalises the path, method or headers) to a loopback port and
 * reads the answer until the server closes or `timeoutMs` passes. For requests no HTTP client would send.
 */
export function rawRequest(port: number, request: Buffer | string, options: { host?: string; timeoutMs?: number } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, options.host ?? '127.0.0.1');
    const parts: Buffer[] = [];
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer within ${options.timeoutMs ?? 5000} ms to ${JSON.stringify(String(request).slice(0, 200))}`)); }, options.timeoutMs ?? 5000);
    socket.on('data', (chunk: Buffer) => parts.push(chunk));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      // The server may close while we still write (it answered early, e.g. 413): what it sent still counts.
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') { clearTimeout(timer); reject(error); }
    });
    socket.once('close', () => {
      clearTimeout(timer);
      // Interim answers (100 Continue to an Expect header) come before the real one.
      const text = Buffer.concat(parts).toString('latin1').replace(/^(HTTP\/1\.[01] 1\d\d[^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+/, '');
      const [head = ''] = text.split('\r\n\r\n');
      const lines = head.split('\r\n');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1];
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      resolve({ status: status === undefined ? undefined : Number(status), headers, text });
    });
    // No half-close: a server may drop a request whose client has ended before the answer was written.
    socket.once('connect', () => socket.write(request));
  });
}

/** A GET (or other method without body) with `Connection: close` and the given headers. */
export function rawGet(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawAnswer> {
  const lines = [`${method} ${path} HTTP/1.1`, ...Object.entries({ host: `127.0.0.1:${port}`, ...headers }).map(([k, v]) => `${k}: ${v}`), 'connection: close', '', ''];
  return rawRequest(port, lines.join('\r\n'));
}
