#!/usr/bin/env node
/**
 * npm run release -- --arch arm64|armhf|x64 [--out DIR]
 * Builds the self-contained tarball a Pi runs (see docs/RELEASES.md) and prints where it is and how big.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../common/logger.js';
import { ConfigError, helpText, opt, parseOptions } from '../common/options.js';
import { RELEASE_ARCHES, type ReleaseArch } from './release/arch.js';
import { buildRelease } from './release/build-release.js';

const projectDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENV_PREFIX = 'PICAM_RELEASE_';

const releaseOptions = {
  arch: opt.optionalString({ description: `Target architecture: ${RELEASE_ARCHES.join(', ')}. Required.`, arg: 'ARCH', pattern: new RegExp(`^(${RELEASE_ARCHES.join('|')})$`), patternHint: `one of ${RELEASE_ARCHES.join(', ')}` }),
  out: opt.string({ description: 'Folder for the tarball and its .sha256.', arg: 'DIR' }, path.join(projectDir, 'release')),
};

export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseOptions(releaseOptions, { argv: process.argv.slice(2), env: process.env, envPrefix: ENV_PREFIX });
    if (!parsed.help && !parsed.values.arch) throw new ConfigError([`--arch is required: use one of ${RELEASE_ARCHES.join(', ')}`]);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`release: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (parsed.help) {
    process.stdout.write(helpText(releaseOptions, { title: 'release: builds the tarball a Pi installs', examples: [['--arch', 'arm64'], ['--arch', 'armhf', '--out', 'release']], usage: 'Usage: npm run release -- --arch ARCH [--out DIR]' }, 'npm run release --', ENV_PREFIX));
    return 0;
  }
  const logger = createLogger({ level: 'info', component: 'release' });
  const result = await buildRelease({ arch: parsed.values.arch as ReleaseArch, projectDir, outDir: path.resolve(parsed.values.out), logger });
  const m = result.manifest;
  const shown = (file: string): string => path.relative(process.cwd(), file) || file;
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
