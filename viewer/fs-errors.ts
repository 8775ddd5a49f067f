import fs from 'node:fs';
import path from 'node:path';

/** Plain words for the file-system errors a person can act on; the code stays in brackets for searching. */
const MEANINGS: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file with that name is in the way',
  ENOENT: 'the folder does not exist',
  EISDIR: 'a folder with that name is in the way',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** "the disk is full (ENOSPC)" from an fs error, or its message when the code is unknown. */
export function describeFsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') return `${MEANINGS[e.code] ?? e.message} (${e.code})`;
  return e instanceof Error ? e.message : String(error);
}

/** Creates `dir` if missing and proves it writable by writing and removing a probe file; throws the fs error. */
export async function ensureWritableDir(dir: string): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true });
  const probe = path.join(dir, `.picam-write-test-${process.pid}`);
  await fs.promises.writeFile(probe, 'ok');
  await fs.promises.rm(probe, { force: true });
}
