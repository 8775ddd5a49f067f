import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { findExecutable } from './find-executable.js';

/**
 * Makes a camera process die with the agent, even when the agent itself is killed with SIGKILL or crashes and
 * never runs its stop code. An orphaned camera process would hold the device, and the restarted agent could not
 * open it.
 *
 * Why not rely on the pipe: a child writing to a dead reader gets SIGPIPE, but only on its next write. A camera
 * that hangs, waits for its first frame, or runs a slow timelapse may not write for a long time.
 *
 * The choice, in order:
 * - `pdeathsig`: start the camera through `setpriv --pdeathsig KILL -- <program> ...` (util-linux). setpriv sets
 *   the kernel's parent-death signal and then execs the program, so the camera keeps the same pid (signals and
 *   stall kills reach it directly), no extra process stays around, and the kernel delivers SIGKILL the moment
 *   the agent's thread that spawned it is gone. Node spawns from its main thread, so that is the agent's life.
 *   SIGKILL rather than SIGTERM because nobody is left to read what a graceful exit would flush, and a camera
 *   stuck in a driver call must not survive.
 * - `watchdog`: when setpriv is missing or too old (no --pdeathsig, util-linux < 2.33), a tiny `sh` per child
 *   blocks reading a pipe from the agent; the kernel closes that pipe when the agent dies however it dies, the
 *   read returns, and the shell kills the camera's pid. Costs one small process per camera. The agent kills the
 *   watchdog itself right after the camera exits, so a recycled pid is never signalled.
 * - `none`: only for tests that prove the other two matter.
 */

export type DeathGuardKind = 'pdeathsig' | 'watchdog' | 'none';

export interface GuardedCommand {
  command: string;
  args: string[];
}

export interface Watchdog {
  /** Stops watching (the camera exited normally). */
  release(): void;
}

export interface DeathGuard {
  readonly kind: DeathGuardKind;
  /** The command line to spawn so that the camera runs guarded. */
  wrap(command: string, args: readonly string[]): GuardedCommand;
  /** Called right after spawning; starts whatever watches for the agent's death. */
  attach(child: ChildProcess): Watchdog | undefined;
}

const WATCHDOG_SCRIPT = 'read line; kill -KILL "$1" 2>/dev/null';

export function pdeathsigGuard(setprivPath: string): DeathGuard {
  return {
    kind: 'pdeathsig',
    wrap: (command, args) => ({ command: setprivPath, args: ['--pdeathsig', 'KILL', '--', command, ...args] }),
    attach: () => undefined,
  };
}

export function watchdogGuard(shellPath = '/bin/sh'): DeathGuard {
  return {
    kind: 'watchdog',
    wrap: (command, args) => ({ command, args: [...args] }),
    attach: (child) => {
      if (child.pid === undefined) return undefined;
      // stdin is a pipe whose write end only the agent holds (Node opens it close-on-exec, so no other child
      // inherits it): EOF on it means the agent is gone.
      const dog = spawn(shellPath, ['-c', WATCHDOG_SCRIPT, 'picam-watchdog', String(child.pid)], {
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      dog.on('error', () => {});
      dog.stdin?.on('error', () => {});
      return {
        release: () => {
          if (dog.exitCode === null && dog.signalCode === null) dog.kill('SIGKILL');
        },
      };
    },
  };
}

export const noDeathGuard: DeathGuard = {
  kind: 'none',
  wrap: (command, args) => ({ command, args: [...args] }),
  attach: () => undefined,
};

function setprivSupportsPdeathsig(setprivPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(setprivPath, ['--help'], { timeout: 5000 }, (error, stdout) => {
      resolve(!error && String(stdout).includes('--pdeathsig'));
    });
  });
}

/** Picks the best guard this system offers (see the module comment). */
export async function detectDeathGuard(searchPath?: string): Promise<DeathGuard> {
  const setpriv = await findExecutable('setpriv', searchPath);
  if (setpriv && (await setprivSupportsPdeathsig(setpriv))) return pdeathsigGuard(setpriv);
  const sh = (await findExecutable('sh', searchPath)) ?? '/bin/sh';
  return watchdogGuard(sh);
}

export async function deathGuardOfKind(kind: DeathGuardKind, searchPath?: string): Promise<DeathGuard> {
  if (kind === 'none') return noDeathGuard;
  if (kind === 'watchdog') return watchdogGuard((await findExecutable('sh', searchPath)) ?? '/bin/sh');
  const setpriv = await findExecutable('setpriv', searchPath);
  if (!setpriv || !(await setprivSupportsPdeathsig(setpriv))) {
    throw new Error('setpriv with --pdeathsig (util-linux >= 2.33) is not available');
  }
  return pdeathsigGuard(setpriv);
}
