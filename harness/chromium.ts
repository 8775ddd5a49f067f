import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

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
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => undefined);
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
