import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder with the stand-in camera programs (test/fixtures/bin in the source tree). */
export const STANDIN_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/bin');

/** PATH with the stand-ins first; node stays reachable for the stand-ins' wrappers. */
export function standinPath(first: string = STANDIN_BIN): string {
  return [first, path.dirname(process.execPath), process.env.PATH ?? ''].join(path.delimiter);
}

/** An environment for camera programs: stand-ins on PATH plus simulated-hardware knobs. */
export function standinEnv(extra: Record<string, string> = {}, first?: string): NodeJS.ProcessEnv {
  return { ...process.env, PATH: standinPath(first), ...extra };
}
