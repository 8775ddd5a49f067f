import type { IncomingHttpHeaders } from 'node:http';

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function hostName(hostHeader: string): string | undefined {
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Why a request must be refused, or undefined. The page has no login, so two browser tricks are closed:
 * another web site driving the viewer through the user's own browser (cross-site POST or WebSocket: the
 * browser's Origin must be this server), and DNS rebinding (a foreign name resolving to 127.0.0.1: while
 * the viewer listens on loopback only, the Host must be a loopback name). Programs that send no Origin
 * (curl, scripts) are welcome.
 */
export function requestProblem(headers: IncomingHttpHeaders, options: { loopbackOnly: boolean; checkOrigin: boolean }): string | undefined {
  const host = headers.host;
  if (!host) return 'request without a Host header';
  if (options.loopbackOnly) {
    const name = hostName(host);
    if (!name || !LOOPBACK_NAMES.has(name)) return `Host ${host} is not this computer; open the page as http://127.0.0.1:<port>`;
  }
  if (options.checkOrigin) {
    const origin = headers.origin;
    if (origin !== undefined) {
      let originHost: string | undefined;
      try {
        originHost = new URL(origin).host;
      } catch {
        originHost = undefined;
      }
      if (originHost !== host) return `Origin ${origin} is not this page`;
    }
  }
  return undefined;
}
