import fs from 'node:fs';
import path from 'node:path';
import { runOk } from './nspawn-host.js';

/**
 * The x64 release the test deploys: `npm run release -- --arch x64` where this checkout has that script,
 * else the equivalent built here (buildReleaseTarball). Returns the tarball's path.
 */
export async function releaseForTest(repoRoot: string, workDir: string): Promise<{ tarball: string; how: string }> {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  if (pkg.scripts?.release) {
    const out = path.join(workDir, 'release');
    await runOk('npm', ['run', '--silent', 'release', '--', '--arch', 'x64', '--out', out], { cwd: repoRoot, timeoutMs: 10 * 60_000 });
    const tarball = path.join(out, 'picam-mqtt-linux-x64.tar.gz');
    if (!fs.existsSync(tarball)) throw new Error(`npm run release did not write ${tarball}; found ${fs.readdirSync(out).join(', ')}`);
    return { tarball, how: 'npm run release -- --arch x64' };
  }
  const tarball = path.join(workDir, 'picam-mqtt-linux-x64.tar.gz');
  await buildReleaseTarball(repoRoot, workDir, tarball);
  return { tarball, how: 'test fixture (no release script in this checkout)' };
}

/**
 * A release tarball in the layout the playbook expects (package.json, dist/, production node_modules/ at the
 * top level), for this machine's CPU (x64): the deploy test's host is an x86-64 container. It is built from
 * the compiled tree the test runs from, like `npm run release` builds it for a Pi.
 */
export async function buildReleaseTarball(repoRoot: string, workDir: string, tarball: string): Promise<void> {
  const stage = path.join(workDir, 'release-stage');
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  for (const file of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(repoRoot, file), path.join(stage, file));
  // --ignore-scripts: the package's prepare script compiles TypeScript, which the release already carries.
  await runOk('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: stage, timeoutMs: 5 * 60_000 });
  const skip = new Set(['test', 'bench', 'demo']);
  fs.cpSync(path.join(repoRoot, 'dist'), path.join(stage, 'dist'), {
    recursive: true,
    filter: (source) => !skip.has(path.relative(path.join(repoRoot, 'dist'), source).split(path.sep)[0]!),
  });
  fs.rmSync(path.join(stage, 'package-lock.json'));
  await runOk('tar', ['--owner=0', '--group=0', '-C', stage, '-czf', tarball, 'package.json', 'dist', 'node_modules'], { timeoutMs: 5 * 60_000 });
  fs.rmSync(stage, { recursive: true, force: true });
}
