import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Logger } from '../../common/logger.js';
import { archInfo, type ArchInfo, type ReleaseArch } from './arch.js';
import { EF_ARM_ABI_FLOAT_HARD, machineName } from './elf.js';
import { runCommand } from './run-command.js';
import { writeTarball } from './tarball.js';
import { copyInstaller } from './installer.js';
import { hashTree, sha256File, type TreeEntry } from './tree-hash.js';

export const MANIFEST_FILE = 'MANIFEST.json';
export const SUMS_FILE = 'SHA256SUMS';
/** Folders compiled into dist/ (keep in step with tsconfig.release.json); their other files are assets. */
export const RUNTIME_DIRS = ['agent', 'viewer', 'protocol', 'common'] as const;
/** Copied into the release when the project has them (the deploy's unit and config templates). */
export const OPTIONAL_TREES = ['deploy/templates'] as const;
/** The program a release must contain; the others in package.json "bin" are shipped when built. */
export const REQUIRED_BIN = 'picam-agent';

export interface ReleaseOptions {
  arch: ReleaseArch;
  /** The project: package.json, package-lock.json, tsconfig.release.json. */
  projectDir: string;
  /** Where the tarball goes. */
  outDir: string;
  logger: Logger;
  /** Time stamp of every file in the tarball; default SOURCE_DATE_EPOCH, else the last commit's time. */
  sourceDateEpoch?: number;
}

export interface NativeFile {
  path: string;
  machine: string;
  bits: 32 | 64;
  hardFloat?: boolean;
}

export interface ReleaseManifest {
  schema: 1;
  name: string;
  version: string;
  arch: ReleaseArch;
  platform: 'linux';
  /** `process.arch` the release is for. */
  nodeArch: string;
  debianArch: string;
  machines: string;
  /** Node.js versions the release runs on (package.json engines.node). */
  node: string;
  /** Oldest glibc the native code needs (from sharp's platform packages), if any native code is shipped. */
  glibc?: string;
  commit?: string;
  dirty?: boolean;
  sourceDateEpoch: number;
  /** Programs, relative to the release's root (executable scripts run with `node`). */
  bin: Record<string, string>;
  native: NativeFile[];
  /** Regular files listed in SHA256SUMS (this manifest and SHA256SUMS excluded), their total size, and sha256(SHA256SUMS). */
  files: number;
  bytes: number;
  treeSha256: string;
}

export interface ReleaseResult {
  tarball: string;
  /** The same file under a name without the version (a hard link), for the deploy to find the latest build. */
  stableTarball: string;
  sha256: string;
  /** Size of the .tar.gz. */
  bytes: number;
  manifest: ReleaseManifest;
}

/** A release could not be built: names the step and what to do. */
export class ReleaseError extends Error {
  constructor(readonly step: string, message: string, options?: { cause?: unknown }) {
    super(`release ${step}: ${message}`, options);
    this.name = 'ReleaseError';
  }
}

interface PackageJson {
  name: string;
  version: string;
  engines?: { node?: string };
  bin?: Record<string, string>;
}

export function releaseName(name: string, version: string, arch: ReleaseArch): string {
  return `${name}-${version}-linux-${arch}`;
}

export function stableName(name: string, arch: ReleaseArch): string {
  return `${name}-linux-${arch}`;
}

/**
 * Builds `<outDir>/<name>-<version>-linux-<arch>.tar.gz` (plus `.sha256`, and a hard link without the version):
 * the compiled JS, package.json, the production node_modules for the target CPU, the deploy templates, SHA256SUMS
 * and MANIFEST.json at the archive's top level. Fails when any native file is built for another machine.
 */
export async function buildRelease(options: ReleaseOptions): Promise<ReleaseResult> {
  const info = archInfo(options.arch);
  const log = options.logger;
  const pkg = readPackageJson(options.projectDir);
  const name = releaseName(pkg.name, pkg.version, info.arch);
  fs.mkdirSync(options.outDir, { recursive: true });
  const stageParent = path.join(options.outDir, `.stage-${info.arch}`);
  const stage = path.join(stageParent, name);
  fs.rmSync(stageParent, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  try {
    const sourceDateEpoch = options.sourceDateEpoch ?? (await defaultSourceDateEpoch(options.projectDir));
    await compile(options.projectDir, stage, log);
    for (const file of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(options.projectDir, file), path.join(stage, file));
    await installProduction(stage, info, log);
    copyAssets(options.projectDir, stage);
    copyOptionalTrees(options.projectDir, stage, log);
    const missingInstaller = copyInstaller(options.projectDir, stage);
    if (missingInstaller.length > 0) throw new ReleaseError('installer', `${missingInstaller.join(', ')} missing: every release carries install.sh and the playbook`);
    const bin = markPrograms(stage, pkg, log);

    const tree = hashTree(stage, new Set([MANIFEST_FILE, SUMS_FILE]));
    const native = checkNative(tree.entries, info);
    const git = await gitState(options.projectDir);
    const manifest: ReleaseManifest = {
      schema: 1,
      name: pkg.name,
      version: pkg.version,
      arch: info.arch,
      platform: 'linux',
      nodeArch: info.nodeArch,
      debianArch: info.debianArch,
      machines: info.machines,
      node: pkg.engines?.node ?? '*',
      ...(native.length > 0 ? { glibc: nativeGlibc(stage) } : {}),
      ...git,
      sourceDateEpoch,
      bin,
      native,
      files: tree.files,
      bytes: tree.bytes,
      treeSha256: tree.treeSha256,
    };
    fs.writeFileSync(path.join(stage, SUMS_FILE), tree.sha256sums);
    fs.writeFileSync(path.join(stage, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');

    const tarball = path.join(options.outDir, `${name}.tar.gz`);
    await writeTarball({ dir: stage, out: tarball, mtime: sourceDateEpoch });
    const sha256 = sha256File(tarball);
    fs.writeFileSync(`${tarball}.sha256`, `${sha256}  ${path.basename(tarball)}\n`);
    const stable = path.join(options.outDir, `${stableName(pkg.name, info.arch)}.tar.gz`);
    fs.rmSync(stable, { force: true });
    fs.linkSync(tarball, stable);
    const bytes = fs.statSync(tarball).size;
    log.info('release written', { file: tarball, bytes, files: tree.files, unpackedBytes: tree.bytes });
    return { tarball, stableTarball: stable, sha256, bytes, manifest };
  } finally {
    fs.rmSync(stageParent, { recursive: true, force: true });
  }
}

function readPackageJson(projectDir: string): PackageJson {
  const file = path.join(projectDir, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<PackageJson>;
  if (typeof pkg.name !== 'string' || typeof pkg.version !== 'string') throw new ReleaseError('setup', `${file} needs "name" and "version"`);
  return pkg as PackageJson;
}

export async function defaultSourceDateEpoch(projectDir: string): Promise<number> {
  const fromEnv = Number(process.env.SOURCE_DATE_EPOCH);
  if (process.env.SOURCE_DATE_EPOCH && Number.isInteger(fromEnv) && fromEnv >= 0) return fromEnv;
  try {
    const { stdout } = await runCommand('git', ['log', '-1', '--format=%ct'], { cwd: projectDir, timeoutMs: 10_000 });
    const value = Number(stdout.trim());
    if (Number.isInteger(value)) return value;
  } catch {
    // Not a git checkout: fall through to a fixed time, which keeps the archive reproducible.
  }
  return 0;
}

async function gitState(projectDir: string): Promise<{ commit?: string; dirty?: boolean }> {
  try {
    const head = await runCommand('git', ['rev-parse', 'HEAD'], { cwd: projectDir, timeoutMs: 10_000 });
    const status = await runCommand('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: projectDir, timeoutMs: 10_000 });
    return { commit: head.stdout.trim(), dirty: status.stdout.trim().length > 0 };
  } catch {
    return {};
  }
}

/** A clean compile of only the runtime folders, so no stale or test output reaches the Pi. */
async function compile(projectDir: string, stage: string, log: Logger): Promise<void> {
  const tsconfig = path.join(projectDir, 'tsconfig.release.json');
  if (!fs.existsSync(tsconfig)) throw new ReleaseError('compile', `${tsconfig} is missing`);
  const tsc = createRequire(path.join(projectDir, 'package.json')).resolve('typescript/bin/tsc');
  try {
    const { ms } = await runCommand(process.execPath, [tsc, '-p', tsconfig, '--outDir', path.join(stage, 'dist')], { cwd: projectDir, timeoutMs: 300_000 });
    log.info('compiled', { ms: Math.round(ms) });
  } catch (error) {
    throw new ReleaseError('compile', 'tsc failed (run `npx tsc -p tsconfig.release.json --noEmit` to see why)', { cause: error });
  }
}

/**
 * npm picks optional native packages (sharp's prebuilt libvips) by --os/--cpu/--libc instead of by the
 * machine it runs on. Scripts are not run: none is needed and none could run for a foreign CPU anyway.
 */
async function installProduction(stage: string, info: ArchInfo, log: Logger): Promise<void> {
  const args = ['ci', '--omit=dev', '--os=linux', `--cpu=${info.nodeArch}`, '--libc=glibc', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'];
  try {
    const { ms } = await runCommand('npm', args, { cwd: stage, timeoutMs: 600_000 });
    log.info('installed production dependencies', { cpu: info.nodeArch, ms: Math.round(ms) });
  } catch (error) {
    throw new ReleaseError('install', `npm ${args.join(' ')} failed (is the npm registry reachable?)`, { cause: error });
  }
}

/** Non-TypeScript files of the runtime folders (the viewer's page), at the paths the code reads them from. */
function copyAssets(projectDir: string, stage: string): void {
  for (const dir of RUNTIME_DIRS) {
    const from = path.join(projectDir, dir);
    if (!fs.existsSync(from)) continue;
    fs.cpSync(from, path.join(stage, dir), { recursive: true, filter: (source) => fs.statSync(source).isDirectory() || !source.endsWith('.ts') });
  }
  // cpSync also creates the folders that only held .ts files; they would be empty noise in the tarball.
  removeEmptyDirs(stage, RUNTIME_DIRS);
}

function removeEmptyDirs(root: string, dirs: readonly string[]): void {
  const prune = (dir: string): boolean => {
    if (!fs.existsSync(dir)) return true;
    let empty = true;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory() && prune(path.join(dir, entry.name))) continue;
      empty = false;
    }
    if (empty) fs.rmdirSync(dir);
    return empty;
  };
  for (const dir of dirs) prune(path.join(root, dir));
}

function copyOptionalTrees(projectDir: string, stage: string, log: Logger): void {
  for (const tree of OPTIONAL_TREES) {
    const from = path.join(projectDir, tree);
    if (!fs.existsSync(from)) {
      log.info('not in this checkout, skipped', { tree });
      continue;
    }
    fs.cpSync(from, path.join(stage, tree), { recursive: true });
  }
}

/** Makes each built program executable; picam-agent must exist, others are shipped when built. */
function markPrograms(stage: string, pkg: PackageJson, log: Logger): Record<string, string> {
  const bin: Record<string, string> = {};
  for (const [program, target] of Object.entries(pkg.bin ?? {})) {
    const file = path.join(stage, target);
    if (!fs.existsSync(file)) {
      if (program === REQUIRED_BIN) throw new ReleaseError('compile', `${target} (${program}) was not built`);
      log.warn('program not built, left out of the release', { program, target });
      continue;
    }
    fs.chmodSync(file, 0o755);
    bin[program] = path.normalize(target);
  }
  return bin;
}

/** Lists the native files of a staged tree; throws when one is for another machine (or soft-float ARM). */
export function checkNative(entries: readonly TreeEntry[], info: ArchInfo): NativeFile[] {
  const native: NativeFile[] = [];
  const wrong: string[] = [];
  for (const entry of entries) {
    if (!entry.elf) continue;
    const file: NativeFile = { path: entry.path, machine: machineName(entry.elf.machine), bits: entry.elf.bits };
    if (entry.elf.machine === 40) file.hardFloat = (entry.elf.flags & EF_ARM_ABI_FLOAT_HARD) !== 0;
    native.push(file);
    // Raspberry Pi OS and Debian armhf are hard-float; a soft-float library would not load.
    if (entry.elf.machine !== info.elfMachine || file.hardFloat === false) wrong.push(`${entry.path} (${file.machine}${file.hardFloat === false ? ', soft-float' : ''})`);
  }
  if (wrong.length > 0) {
    throw new ReleaseError('check', `native files not built for ${machineName(info.elfMachine)}: ${wrong.join(', ')}`);
  }
  return native;
}

/** The highest `config.glibc` requirement among the installed prebuilt packages (sharp declares one per platform). */
function nativeGlibc(stage: string): string | undefined {
  const scope = path.join(stage, 'node_modules', '@img');
  if (!fs.existsSync(scope)) return undefined;
  let best: { text: string; parts: number[] } | undefined;
  for (const dir of fs.readdirSync(scope).sort()) {
    const file = path.join(scope, dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const glibc = (JSON.parse(fs.readFileSync(file, 'utf8')) as { config?: { glibc?: unknown } }).config?.glibc;
    if (typeof glibc !== 'string') continue;
    const parts = (glibc.match(/\d+(\.\d+)*/)?.[0] ?? '0').split('.').map(Number);
    if (!best || compareParts(parts, best.parts) > 0) best = { text: glibc, parts };
  }
  return best?.text;
}

function compareParts(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
