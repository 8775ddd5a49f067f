import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Finds a program the way a shell would (PATH search), so a missing camera tool is reported by name before
 * anything is spawned, and so a wrapper (setpriv) can be given an absolute path.
 */
export async function findExecutable(name: string, searchPath: string = process.env.PATH ?? ''): Promise<string | undefined> {
  const candidates = name.includes('/') ? [name] : searchPath.split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    try {
      const stat = await fs.stat(candidate);
      if (!stat.isFile()) continue;
      await fs.access(candidate, fs.constants.X_OK);
      return path.resolve(candidate);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The first of `names` found on the search path, with its absolute path. */
export async function findFirstExecutable(names: readonly string[], searchPath?: string): Promise<{ name: string; path: string } | undefined> {
  for (const name of names) {
    const found = await findExecutable(name, searchPath);
    if (found) return { name, path: found };
  }
  return undefined;
}
