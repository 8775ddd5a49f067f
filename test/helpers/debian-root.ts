import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../common/logger.js';
import { runCommand } from '../../scripts/release/run-command.js';

/**
 * A Debian root file system for another CPU, made without running any of its programs: debootstrap's first
 * stage (--foreign) downloads and unpacks the essential packages, then every downloaded .deb is unpacked with
 * dpkg-deb -x. No maintainer script runs, which is enough for `qemu-<arch>-static -L ROOT ROOT/usr/bin/node`.
 * The result is cached as an uncompressed tarball, because downloading is the slow part.
 */

export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

export interface DebianRootSpec {
  /** Debian architecture name (arm64, armhf, ...). */
  arch: string;
  suite: string;
  /** Packages on top of minbase. */
  packages: readonly string[];
  mirror: string;
}

export class DebianRootError extends Error {
  constructor(readonly spec: DebianRootSpec, message: string, options?: { cause?: unknown }) {
    super(`Debian ${spec.suite} ${spec.arch} root: ${message}`, options);
    this.name = 'DebianRootError';
  }
}

/**
 * The Debian mirror apt uses on this machine (deb822 .sources or one-line sources.list), so tests fetch from
 * where the machine is allowed to. Security and third-party repositories are skipped.
 */
export function aptMirrorFrom(texts: readonly string[]): string | undefined {
  for (const text of texts) {
    // deb822 stanzas
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (name: string): string[] => {
        const match = stanza.match(new RegExp(`^${name}:[ \\t]*(.*)$`, 'mi'));
        return match ? match[1]!.trim().split(/\s+/) : [];
      };
      if (!field('Types').includes('deb')) continue;
      const suites = field('Suites');
      const uri = field('URIs').find((u) => isDebianArchive(u));
      if (uri && suites.some((s) => !s.includes('security'))) return uri.replace(/\/+$/, '');
    }
    // one-line form: deb [options] URI suite components
    for (const line of text.split('\n')) {
      const match = line.trim().match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/);
      if (match && isDebianArchive(match[1]!) && !match[2]!.includes('security')) return match[1]!.replace(/\/+$/, '');
    }
  }
  return undefined;
}

function isDebianArchive(uri: string): boolean {
  return /^https?:\/\/[^/]+\/(.*\/)?debian\/?$/.test(uri) && !/security/.test(uri);
}

export function aptMirror(): string {
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  if (fs.existsSync(dir)) for (const name of fs.readdirSync(dir).sort()) if (/\.(list|sources)$/.test(name)) files.push(path.join(dir, name));
  const texts = files.filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, 'utf8'));
  return process.env.PICAM_DEBIAN_MIRROR || aptMirrorFrom(texts) || DEFAULT_MIRROR;
}

export function defaultCacheDir(): string {
  if (process.env.PICAM_TEST_CACHE) return process.env.PICAM_TEST_CACHE;
  const system = '/var/cache/picam-test';
  try {
    fs.mkdirSync(system, { recursive: true });
    fs.accessSync(system, fs.constants.W_OK);
    return system;
  } catch {
    return path.join(os.tmpdir(), 'picam-test-cache');
  }
}

export interface CachedRoot {
  tarball: string;
  /** False when this call had to build it. */
  cached: boolean;
  ms: number;
}

/** Roots older than this are rebuilt, so security updates of the emulated system get picked up. */
const MAX_AGE_MS = 30 * 24 * 3600 * 1000;

export async function cachedRootTarball(spec: DebianRootSpec, cacheDir: string, logger: Logger): Promise<CachedRoot> {
  const started = performance.now();
  const key = `debian-${spec.suite}-${spec.arch}-minbase-${[...spec.packages].sort().join('+')}`;
  const tarball = path.join(cacheDir, `${key}.tar`);
  if (fs.existsSync(tarball) && Date.now() - fs.statSync(tarball).mtimeMs < MAX_AGE_MS) {
    return { tarball, cached: true, ms: performance.now() - started };
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  const work = fs.mkdtempSync(path.join(cacheDir, `${key}.building-`));
  try {
    const root = path.join(work, 'root');
    logger.info('debootstrap (first stage)', { arch: spec.arch, suite: spec.suite, mirror: spec.mirror });
    try {
      await runCommand('debootstrap', [
        `--arch=${spec.arch}`, '--variant=minbase', '--foreign', `--include=${spec.packages.join(',')}`, spec.suite, root, spec.mirror,
      ], { timeoutMs: 600_000 });
    } catch (error) {
      const missing = (error as Error).message.includes('ENOENT');
      throw new DebianRootError(spec, missing ? 'debootstrap is not installed: apt-get install debootstrap' : `debootstrap failed (mirror ${spec.mirror})`, { cause: error });
    }
    const archives = path.join(root, 'var/cache/apt/archives');
    const debs = fs.readdirSync(archives).filter((n) => n.endsWith('.deb')).sort();
    for (const deb of debs) {
      await runCommand('dpkg-deb', ['-x', path.join(archives, deb), root], { timeoutMs: 120_000 });
      fs.rmSync(path.join(archives, deb));
    }
    // What debootstrap keeps for its second stage is of no use here.
    fs.rmSync(path.join(root, 'debootstrap'), { recursive: true, force: true });
    if (!fs.existsSync(path.join(root, 'usr/bin/node'))) throw new DebianRootError(spec, 'usr/bin/node is missing after unpacking');
    const partial = path.join(work, 'root.tar');
    await runCommand('tar', ['--create', '--file', partial, '--directory', root, '.'], { timeoutMs: 300_000 });
    fs.renameSync(partial, tarball);
    const ms = performance.now() - started;
    logger.info('root cached', { tarball, debs: debs.length, ms: Math.round(ms) });
    return { tarball, cached: false, ms };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Unpacks a cached root into a fresh directory that the caller removes (see removeRoot). */
export async function unpackRoot(tarball: string, parent = os.tmpdir()): Promise<string> {
  const dir = fs.mkdtempSync(path.join(parent, 'picam-root-'));
  await runCommand('tar', ['--extract', '--file', tarball, '--directory', dir], { timeoutMs: 300_000 });
  return dir;
}

export function removeRoot(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
