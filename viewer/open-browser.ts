import { spawn } from 'node:child_process';
import type { Logger } from '../common/logger.js';

/** The program and arguments that open a URL in the default browser; run without a shell. */
export interface BrowserCommand {
  command: string;
  args: string[];
  /** Windows only: pass the arguments to cmd.exe exactly as written (cmd has its own quoting rules). */
  verbatim: boolean;
}

// Only plain http(s)://host:port/path URLs built by the viewer itself; nothing that cmd.exe or a shell
// could read as an operator (& | < > ^ " % spaces), so no quoting question arises on any platform.
const SAFE_URL = /^https?:\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/;

export class UnsafeUrlError extends Error {
  constructor(readonly url: string) {
    super(`refusing to open ${JSON.stringify(url)}: not a plain http(s)://host:port URL`);
    this.name = 'UnsafeUrlError';
  }
}

export function browserCommand(url: string, platform: NodeJS.Platform = process.platform): BrowserCommand {
  if (!SAFE_URL.test(url)) throw new UnsafeUrlError(url);
  // `start` is a cmd.exe built-in, hence cmd; the empty "" is start's window title, without which a
  // quoted first argument would be taken as the title. /d skips AutoRun commands from the registry.
  if (platform === 'win32') return { command: 'cmd.exe', args: ['/d', '/c', 'start', '""', url], verbatim: true };
  if (platform === 'darwin') return { command: 'open', args: [url], verbatim: false };
  return { command: 'xdg-open', args: [url], verbatim: false };
}

/** The address a browser on this computer should use for a server bound to `host` (0.0.0.0 is not browsable). */
export function browsableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/**
 * Opens the URL in the default browser, detached, and does not wait for it. A missing opener (no desktop,
 * no xdg-open) is a warning naming the URL to open by hand, never an error.
 */
export function openInBrowser(url: string, logger: Logger, platform: NodeJS.Platform = process.platform): void {
  let command: BrowserCommand;
  try {
    command = browserCommand(url, platform);
  } catch (error) {
    logger.warn('cannot open a browser', { reason: (error as Error).message });
    return;
  }
  const child = spawn(command.command, command.args, { shell: false, detached: true, stdio: 'ignore', windowsHide: true, windowsVerbatimArguments: command.verbatim });
  child.once('error', (error: NodeJS.ErrnoException) => {
    logger.warn('could not open the page in a browser; open it yourself', { url, command: command.command, reason: error.code ?? error.message });
  });
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) logger.warn('the browser opener failed; open the page yourself', { url, command: command.command, exitCode: code });
  });
  child.unref();
  logger.info('opening the page in the default browser', { url, command: command.command });
}
