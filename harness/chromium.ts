import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium (apt-get install chromium); playwright-core drives it, it downloads no browser of its own. */
export const CHROMIUM_PATH = process.env.PICAM_TEST_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface RunningChromium {
  context: BrowserContext;
  userDataDir: string;
  /**
   * A page in a window of its own. A second context.newPage() opens a tab behind the first in the same window:
   * Chromium then runs the first page's renderer at background priority (nice 5), and on a busy machine gives
   * it about two animation frames a second, while the page itself still says it is visible. Two pages that
   * are both watched are two windows.
   */
  newWindow(): Promise<Page>;
  /** Closes the browser and removes its profile. Idempotent. */
  close(): Promise<void>;
}

/** A real headless Chromium with a throw-away profile; downloads are accepted (for the snapshot button). */
export async function launchChromium(viewport = { width: 1280, height: 800 }): Promise<RunningChromium> {
  if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: run \`apt-get install chromium\` (bash .ci/run does this)`);
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    viewport,
  });
  let closed = false;
  return {
    context,
    userDataDir,
    async newWindow() {
      // Playwright opens tabs only; the DevTools protocol opens windows (any page's session may ask).
      const session = await context.newCDPSession(context.pages()[0] ?? await context.newPage());
      try {
        const [page] = await Promise.all([context.waitForEvent('page'), session.send('Target.createTarget', { url: 'about:blank', newWindow: true })]);
        return page;
      } finally {
        await session.detach().catch(() => undefined);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => undefined);
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
