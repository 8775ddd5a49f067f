import type { IncomingHttpHeaders } from 'node:http';
import type { HostAllowList } from './host-allow-list.js';

/** host[:port] as a browser sends it: a DNS name or IPv4 address, or an IPv6 address in brackets. */
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::\d{1,5})?$/;

function hostName(hostHeader: string): string | undefined {
  return HOST_HEADER.exec(hostHeader)?.[1];
}

/**
 * Why a request must be refused, or undefined. The page has no login, so two browser tricks are closed:
 * another web site driving the viewer through the user's own browser (cross-site POST or WebSocket: the
 * browser's Origin must be this server), and DNS rebinding (a foreign name resolving to this computer: the
 * Host must be one the allow-list knows). Programs that send no Origin (curl, scripts) are welcome.
 */
export function requestProblem(req: { headers: IncomingHttpHeaders; rawHeaders: string[] }, options: { hosts: HostAllowList; checkOrigin: boolean }): string | undefined {
  const { headers } = req;
  const host = headers.host;
  if (!host) return 'request without a Host header';
  // Node keeps the first of several; no browser sends two, and which one counts would be ours to guess.
  if (req.rawHeaders.filter((_, i) => i % 2 === 0 && req.rawHeaders[i]!.toLowerCase() === 'host').length > 1) return 'request with more than one Host header';
  const name = hostName(host);
  if (!name || !options.hosts.allows(name)) return `Host ${host} is not a name of this viewer; open the page by its address, or start picam-viewer with --allow-host NAME`;
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
