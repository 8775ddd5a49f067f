import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readElf, type ElfInfo } from './elf.js';

export interface TreeEntry {
  /** Path relative to the tree's root, with '/' separators. */
  path: string;
  kind: 'file' | 'symlink';
  bytes: number;
  /** sha256 of the content (file) or of the link target text (symlink). */
  sha256: string;
  executable: boolean;
  elf?: ElfInfo;
}

export interface TreeSummary {
  entries: TreeEntry[];
  files: number;
  bytes: number;
  /** `sha256sum -c` compatible listing of every regular file, sorted by path. */
  sha256sums: string;
  /** sha256 of sha256sums: one value that changes when any file does. */
  treeSha256: string;
}

/** Walks a directory (not following symlinks) and hashes every file, in a stable order. */
export function hashTree(root: string, exclude: ReadonlySet<string> = new Set()): TreeSummary {
  const entries: TreeEntry[] = [];
  const walk = (relative: string): void => {
    const names = fs.readdirSync(path.join(root, relative)).sort();
    for (const name of names) {
      const rel = relative ? `${relative}/${name}` : name;
      if (exclude.has(rel)) continue;
      const full = path.join(root, rel);
      const stat = fs.lstatSync(full);
      if (stat.isDirectory()) {
        walk(rel);
      } else if (stat.isSymbolicLink()) {
        const target = fs.readlinkSync(full);
        entries.push({ path: rel, kind: 'symlink', bytes: 0, sha256: sha256(Buffer.from(target)), executable: false });
      } else if (stat.isFile()) {
        const data = fs.readFileSync(full);
        const elf = readElf(data.subarray(0, 64));
        entries.push({ path: rel, kind: 'file', bytes: data.length, sha256: sha256(data), executable: (stat.mode & 0o111) !== 0, ...(elf ? { elf } : {}) });
      }
    }
  };
  walk('');
  const files = entries.filter((e) => e.kind === 'file');
  const sha256sums = files.map((e) => `${e.sha256}  ${e.path}\n`).join('');
  return {
    entries,
    files: files.length,
    bytes: files.reduce((sum, e) => sum + e.bytes, 0),
    sha256sums,
    treeSha256: sha256(Buffer.from(sha256sums)),
  };
}

export function sha256(data: Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

export function sha256File(file: string): string {
  return sha256(fs.readFileSync(file));
}
