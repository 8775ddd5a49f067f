#!/usr/bin/env node
/**
 * npm run release -- --arch arm64|armhf|x64 [--out DIR]
 * Builds the self-contained tarball a Pi runs (see docs/RELEASES.md) and prints where it is and how big.
 * npm run release -- --target win-x64 [--out DIR]
 * Builds picam-viewer-<version>-win-x64.zip: picam-viewer.exe and its README (see docs/WINDOWS.md).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../common/logger.js';
import { ConfigError, helpText, opt, parseOptions } from '../common/options.js';
import { RELEASE_ARCHES, type ReleaseArch } from './release/arch.js';
import { buildRelease } from './release/build-release.js';
import { buildWindowsRelease } from './release/win-x64.js';

const projectDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENV_PREFIX = 'PICAM_RELEASE_';

const releaseOptions = {
  arch: opt.optionalString({ description: `Target architecture: ${RELEASE_ARCHES.join(', ')}. Required.`, arg: 'ARCH', pattern: new RegExp(`^(${RELEASE_ARCHES.join('|')})$`), patternHint: `one of ${RELEASE_ARCHES.join(', ')}` }),
  target: opt.optionalString({ description: 'Build for another platform instead of a Pi: win-x64 (picam-viewer.exe in a zip).', arg: 'TARGET', pattern: /^win-x64$/, patternHint: 'win-x64' }),
  out: opt.string({ description: 'Folder for the tarball and its .sha256.', arg: 'DIR' }, path.join(projectDir, 'release')),
};

export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseOptions(releaseOptions, { argv: process.argv.slice(2), env: process.env, envPrefix: ENV_PREFIX });
    if (!parsed.help && parsed.values.target && parsed.values.arch) throw new ConfigError(['--target and --arch: give one of them (--target win-x64 builds the Windows viewer, --arch a Pi release)']);
    if (!parsed.help && !parsed.values.arch && !parsed.values.target) throw new ConfigError([`--arch is required: use one of ${RELEASE_ARCHES.join(', ')}`]);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`release: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (parsed.help) {
    process.stdout.write(helpText(releaseOptions, { title: 'release: builds the tarball a Pi installs, or picam-viewer.exe for Windows', examples: [['--arch', 'arm64'], ['--arch', 'armhf', '--out', 'release'], ['--target', 'win-x64']], usage: 'Usage: npm run release -- --arch ARCH [--out DIR]\n       npm run release -- --target win-x64 [--out DIR]' }, 'npm run release --', ENV_PREFIX));
    return 0;
  }
  const logger = createLogger({ level: 'info', component: 'release' });
  const shown = (file: string): string => path.relative(process.cwd(), file) || file;
  if (parsed.values.target === 'win-x64') {
    const win = await buildWindowsRelease({ projectDir, outDir: path.resolve(parsed.values.out), logger });
    process.stdout.write(`${shown(win.zip)}: ${formatBytes(win.bytes)} (${win.bytes} bytes), picam-viewer.exe ${formatBytes(win.exeBytes)}\nsha256 ${win.sha256}\n`);
    return 0;
  }
  const result = await buildRelease({ arch: parsed.values.arch as ReleaseArch, projectDir, outDir: path.resolve(parsed.values.out), logger });
  const m = result.manifest;
  process.stdout.write(
    `${shown(result.tarball)}: ${formatBytes(result.bytes)} (${result.bytes} bytes), ` +
      `unpacked ${formatBytes(m.bytes)} in ${m.files} files; node ${m.node}${m.glibc ? `, glibc ${m.glibc}` : ''}\n` +
      `sha256 ${result.sha256} (also as ${shown(result.stableTarball)})\n`,
  );
  return 0;
}

main().then(
  (code) => { process.exitCode = code; },
  (error: Error) => {
    process.stderr.write(`release failed: ${error.message}\n`);
    if (error.cause instanceof Error) process.stderr.write(`  caused by: ${error.cause.message}\n`);
    process.exitCode = 1;
  },
);
