import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../common/logger.js';
import { browserCommand, openInBrowser, UnsafeUrlError } from './open-browser.js';

/**
 * Where Windows keeps Microsoft Edge (on every Windows 10 and 11) and Google Chrome, in the order tried. Both
 * open `--app=URL` as a window of its own, without tabs or address bar: the page looks like a program.
 */
export function appWindowCandidates(env: NodeJS.ProcessEnv): string[] {
  const roots = [env['ProgramFiles(x86)'], env.ProgramFiles, env.LOCALAPPDATA].filter((r): r is string => !!r);
  return [
    ...roots.map((root) => path.win32.join(root, 'Microsoft', 'Edge', 'Application', 'msedge.exe')),
    ...roots.map((root) => path.win32.join(root, 'Google', 'Chrome', 'Application', 'chrome.exe')),
  ];
}

/** The first of appWindowCandidates that exists, or undefined (then the default browser opens the page). */
export function appWindowProgram(env: NodeJS.ProcessEnv, exists: (file: string) => boolean = fs.existsSync): string | undefined {
  return appWindowCandidates(env).find((file) => exists(file));
}

/**
 * Opens the page as an app window (Edge, else Chrome) on Windows, else in the default browser. Never throws:
 * a page that cannot be opened is a warning naming the URL to open by hand.
 */
export function openAppWindow(url: string, logger: Logger, env: NodeJS.ProcessEnv = process.env, exists: (file: string) => boolean = fs.existsSync): void {
  if (process.platform !== 'win32') return openInBrowser(url, logger);
  try {
    browserCommand(url, 'win32'); // the same URL check as for the default browser
  } catch (error) {
    if (error instanceof UnsafeUrlError) return logger.warn('cannot open a browser', { reason: error.message });
    throw error;
  }
  const program = appWindowProgram(env, exists);
  if (!program) return openInBrowser(url, logger);
  const child = spawn(program, [`--app=${url}`], { shell: false, detached: true, stdio: 'ignore', windowsHide: false });
  child.once('error', (error: NodeJS.ErrnoException) => {
    logger.warn('could not open the app window; opening the default browser', { program, reason: error.code ?? error.message });
    openInBrowser(url, logger);
  });
  child.unref();
  logger.info('opening the page in an app window', { url, program });
}
