import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.js';

/**
 * Headless Chromium driven over the DevTools protocol directly, for measurements. Playwright enables the
 * protocol's Network domain on every page, and Chromium then copies every WebSocket message the page
 * receives, base64, to the driving process: 6.8 MB/s for one enlarged 720p30 camera, serialised by the browser
 * and parsed by the benchmark, on the same two cores as what is measured. This client enables only the Page
 * domain: it opens windows, runs scripts in them and reads the answers.
 *
 * The protocol runs over a pipe (--remote-debugging-pipe: Chromium reads fd 3 and writes fd 4, messages end
 * with a NUL), so no port is opened.
 */

/** A page in a window of its own. */
export interface DevToolsPage {
  /** Runs `fn(arg)` in the page (awaiting a promise it returns) and returns its JSON value. */
  evaluate<T, A = undefined>(fn: (arg: A) => T | Promise<T>, arg?: A): Promise<T>;
  /** Resolves once `fn(arg)` is truthy in the page, checked every 100 ms; rejects after `timeoutMs`. */
  waitForFunction<A>(fn: (arg: A) => unknown, arg: A, timeoutMs: number): Promise<void>;
}

export interface DevToolsChromium {
  /** The browser's own process (its children are the renderers, the GPU process and the rest). */
  readonly pid: number;
  /** Bytes the browser has sent over the protocol so far: what driving it costs. */
  protocolBytes(): number;
  /** Opens `url` in a new window of `size`, with `initScript` run before the page's own scripts. */
  openWindow(url: string, size: { width: number; height: number }, initScript?: string): Promise<DevToolsPage>;
  /** Closes the browser and removes its profile. Idempotent. */
  close(): Promise<void>;
}

interface Reply { id: number; result?: Record<string, unknown>; error?: { message: string } }

export async function launchDevToolsChromium(): Promise<DevToolsChromium> {
  if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: run \`apt-get install chromium\` (bash .ci/run does this)`);
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-chromium-'));
  const child: ChildProcess = spawn(CHROMIUM_PATH, [...CHROMIUM_ARGS, '--remote-debugging-pipe', `--user-data-dir=${userDataDir}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
  const toBrowser = child.stdio[3] as Writable;
  const fromBrowser = child.stdio[4] as Readable;
  const waiting = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void; method: string }>();
  let nextId = 1;
  let buffered = '';
  let exited = false;
  let protocolBytes = 0;
  fromBrowser.on('data', (chunk: Buffer) => {
    protocolBytes += chunk.length;
    // Chromium writes the protocol's JSON in ASCII (\uXXXX for anything else), so a chunk never ends inside a character.
    buffered += chunk.toString();
    let end: number;
    while ((end = buffered.indexOf('\0')) >= 0) {
      const message = JSON.parse(buffered.slice(0, end)) as Partial<Reply>;
      buffered = buffered.slice(end + 1);
      // Events are not asked for; only replies are read.
      if (message.id === undefined) continue;
      const pending = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error) pending?.reject(new Error(`${pending.method}: ${message.error.message}`));
      else pending?.resolve(message.result ?? {});
    }
  });
  child.once('exit', (code) => {
    exited = true;
    for (const p of waiting.values()) p.reject(new Error(`chromium exited (${code}) during ${p.method}: ${stderr.trim().split('\n').at(-1) ?? ''}`));
    waiting.clear();
  });

  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> => {
    if (exited) return Promise.reject(new Error(`chromium has exited; cannot ${method}`));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject, method });
      toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  };
  // The first reply proves the pipe is up.
  await send('Browser.getVersion');

  const evaluateIn = async (sessionId: string, expression: string): Promise<unknown> => {
    const result = await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId);
    const exception = result.exceptionDetails as { exception?: { description?: string }; text?: string } | undefined;
    if (exception) throw new Error(`in the page: ${exception.exception?.description ?? exception.text ?? 'exception'}`);
    return (result.result as { value?: unknown }).value;
  };

  let closed = false;
  return {
    pid: child.pid!,
    protocolBytes: () => protocolBytes,
    async openWindow(url, size, initScript) {
      const { targetId } = await send('Target.createTarget', { url: 'about:blank', newWindow: true, width: size.width, height: size.height });
      const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
      await send('Emulation.setDeviceMetricsOverride', { width: size.width, height: size.height, deviceScaleFactor: 1, mobile: false }, sessionId);
      // The Page domain's few events (navigation, load) are what its init scripts need to run.
      await send('Page.enable', {}, sessionId);
      if (initScript) await send('Page.addScriptToEvaluateOnNewDocument', { source: initScript }, sessionId);
      await send('Page.navigate', { url }, sessionId);
      const page: DevToolsPage = {
        async evaluate(fn, arg) {
          return (await evaluateIn(sessionId, `(${fn.toString()})(${JSON.stringify(arg)})`)) as never;
        },
        async waitForFunction(fn, arg, timeoutMs) {
          const until = Date.now() + timeoutMs;
          for (;;) {
            // Before the navigation commits, the old document answers; a throwing check counts as not yet.
            if (await page.evaluate(fn as (a: typeof arg) => unknown, arg).catch(() => false)) return;
            if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting in ${url} for ${fn.toString().slice(0, 120)}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        },
      };
      return page;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (!exited) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        await send('Browser.close').catch(() => undefined);
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      }
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
