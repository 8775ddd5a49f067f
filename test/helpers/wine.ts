import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sleep } from './processes.js';

/** Debian's wine64 (package wine64): the program is not on PATH. */
export function wine64Path(): string {
  for (const candidate of ['/usr/lib/wine/wine64', '/usr/bin/wine64']) if (fs.existsSync(candidate)) return candidate;
  throw new Error('wine64 is not installed: run `apt-get install wine64 wine` (bash .ci/run does this)');
}

/** The Windows name of a Linux path inside Wine (drive Z: is the Linux root). */
export const windowsPath = (linuxPath: string): string => `Z:${linuxPath.replaceAll('/', '\\')}`;

export interface WinePrefix {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** The Linux folder that is %APPDATA% for programs in this prefix. */
  appData: string;
  /** Ends every Wine process of the prefix (wineserver -k) and removes it. */
  destroy(): void;
}

/**
 * A throwaway Wine prefix set to Windows 10 (Node refuses older Windows). Its first start creates the prefix,
 * about 20 s on a two-core machine.
 */
export function createWinePrefix(): WinePrefix {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-wine-'));
  const env = { ...process.env, WINEPREFIX: dir, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
  const made = spawnSync(wine64Path(), ['winecfg', '-v', 'win10'], { env, stdio: 'ignore', timeout: 180_000 });
  if (made.status !== 0) throw new Error(`wine64 winecfg -v win10 failed (status ${made.status}, ${made.error?.message ?? made.signal ?? ''})`);
  const appData = path.join(dir, 'drive_c', 'users', os.userInfo().username, 'AppData', 'Roaming');
  return {
    dir,
    env,
    appData,
    destroy() {
      spawnSync('wineserver', ['-k'], { env, stdio: 'ignore', timeout: 30_000 });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface WineProcess {
  child: ChildProcess;
  /** What the program wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<number | string>;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends the signal (Wine turns SIGINT into the console's Ctrl-C), waits up to timeoutMs, then SIGKILLs. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

/**
 * Runs a Windows program in the prefix. Its stdout and stderr go to a file: under Wine, Node's console set-up
 * fails on a pipe. The file is read back as the program writes it.
 */
export function runWine(prefix: WinePrefix, program: string, args: string[], env: NodeJS.ProcessEnv = {}): WineProcess {
  const logFile = path.join(prefix.dir, `out-${Date.now()}-${Math.random().toString(16).slice(2)}.log`);
  const fd = fs.openSync(logFile, 'w');
  const child = spawn(wine64Path(), [program, ...args], { env: { ...prefix.env, ...env }, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const output = (): string => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
  let done = false;
  void exited.then(() => { done = true; });
  return {
    child,
    output,
    exited,
    async waitFor(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = output().match(pattern);
        if (match) return match;
        if (done) throw new Error(`the program exited before printing ${pattern}; output:\n${output()}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output:\n${output()}`);
        await sleep(100);
      }
    },
    async stop(signal = 'SIGINT', timeoutMs = 15_000) {
      if (done) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}
