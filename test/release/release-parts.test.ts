import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { archInfo, EM_ARM, UnknownArchError } from '../../scripts/release/arch.js';
import { checkNative, ReleaseError } from '../../scripts/release/build-release.js';
import { readElf } from '../../scripts/release/elf.js';
import { writeTarball } from '../../scripts/release/tarball.js';
import { hashTree, sha256File, type TreeEntry } from '../../scripts/release/tree-hash.js';
import { aptMirrorFrom } from '../helpers/debian-root.js';
import { ROOT } from '../helpers/processes.js';

// The pieces of `npm run release` that need no network: ELF reading, tree hashing, the reproducible tarball,
// the native-code guard and the CLI's config errors. The whole release on ARM is `npm run test:arch`.

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-release-parts-'));
after(() => fs.rmSync(temp, { recursive: true, force: true }));

function makeTree(name: string): string {
  const dir = path.join(temp, name, 'app');
  fs.mkdirSync(path.join(dir, 'dist', 'agent'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'dist', 'agent', 'cli.js'), '#!/usr/bin/env node\nconsole.log(1);\n', { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"x"}\n');
  fs.writeFileSync(path.join(dir, 'b file.txt'), 'spaces in names\n');
  fs.symlinkSync('dist/agent/cli.js', path.join(dir, 'link'));
  return dir;
}

test('readElf names the machine of a real native module and rejects non-ELF data', () => {
  const dir = path.join(ROOT, 'node_modules', '@img', 'sharp-linux-x64', 'lib');
  const file = fs.readdirSync(dir).find((n) => n.endsWith('.node'))!;
  const elf = readElf(fs.readFileSync(path.join(dir, file)).subarray(0, 64));
  assert.deepEqual({ machine: elf?.machine, bits: elf?.bits }, { machine: 62, bits: 64 });
  assert.equal(readElf(Buffer.from('#!/usr/bin/env node\n'.padEnd(64, ' '))), undefined);
  // A 32-bit little-endian ARM header as the toolchain writes it, hard-float flag set (EABI5 | ABI_FLOAT_HARD).
  const arm = Buffer.alloc(52);
  arm.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  arm.writeUInt16LE(EM_ARM, 18);
  arm.writeUInt32LE(0x05000400, 36);
  assert.deepEqual(readElf(arm), { machine: EM_ARM, bits: 32, flags: 0x05000400 });
});

test('hashTree lists every file in sha256sum format, in a stable order, and its tree hash follows content', () => {
  const dir = makeTree('hash');
  const first = hashTree(dir);
  assert.deepEqual(first.entries.map((e) => `${e.kind}:${e.path}`), ['file:b file.txt', 'file:dist/agent/cli.js', 'symlink:link', 'file:package.json']);
  assert.equal(first.files, 3);
  assert.ok(first.entries.find((e) => e.path === 'dist/agent/cli.js')!.executable);
  fs.writeFileSync(path.join(dir, 'SUMS'), first.sha256sums);
  const check = spawnSync('sha256sum', ['--check', '--strict', 'SUMS'], { cwd: dir, encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.equal(hashTree(dir, new Set(['SUMS'])).treeSha256, first.treeSha256, 'excluded files do not count');
  fs.appendFileSync(path.join(dir, 'package.json'), ' ');
  assert.notEqual(hashTree(dir, new Set(['SUMS'])).treeSha256, first.treeSha256);
});

test('writeTarball gives the same bytes for the same content whatever the files\' times, and keeps modes and links', async () => {
  const a = makeTree('tar-a');
  const b = makeTree('tar-b');
  const old = new Date('2001-02-03T04:05:06Z');
  for (const file of ['package.json', 'b file.txt', 'dist/agent/cli.js']) fs.utimesSync(path.join(b, file), old, old);
  const outA = path.join(temp, 'a.tar.gz');
  const outB = path.join(temp, 'b.tar.gz');
  await writeTarball({ dir: a, out: outA, mtime: 1_700_000_000 });
  await writeTarball({ dir: b, out: outB, mtime: 1_700_000_000 });
  assert.equal(sha256File(outA), sha256File(outB));
  const listing = spawnSync('tar', ['-tvzf', outA], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } }).stdout.trim().split('\n');
  assert.deepEqual(listing.map((l) => l.split(/\s+/).slice(5).join(' ')), [
    'b file.txt', 'dist/', 'dist/agent/', 'dist/agent/cli.js', 'link -> dist/agent/cli.js', 'package.json',
  ]);
  for (const line of listing) assert.match(line, /^\S+ 0\/0 .* 2023-11-14 /, `owner and time fixed: ${line}`);
  assert.match(listing.find((l) => l.endsWith('cli.js'))!, /^-rwxr-xr-x/);
  const out = path.join(temp, 'unpacked');
  fs.mkdirSync(out);
  assert.equal(spawnSync('tar', ['-xzf', outA, '-C', out]).status, 0);
  assert.equal(hashTree(out).treeSha256, hashTree(a).treeSha256);
});

test('checkNative refuses native code for another machine or a soft-float ARM ABI', () => {
  const entry = (p: string, machine: number, bits: 32 | 64, flags = 0): TreeEntry => ({ path: p, kind: 'file', bytes: 1, sha256: '', executable: false, elf: { machine, bits, flags } });
  const arm64 = archInfo('arm64');
  const armhf = archInfo('armhf');
  assert.deepEqual(checkNative([entry('a.node', 183, 64)], arm64), [{ path: 'a.node', machine: 'aarch64', bits: 64 }]);
  assert.throws(() => checkNative([entry('a.node', 183, 64), entry('x.node', 62, 64)], arm64), (e: Error) => e instanceof ReleaseError && /x\.node \(x86-64\)/.test(e.message) && !/a\.node/.test(e.message));
  assert.deepEqual(checkNative([entry('h.so', 40, 32, 0x05000400)], armhf), [{ path: 'h.so', machine: 'arm', bits: 32, hardFloat: true }]);
  assert.throws(() => checkNative([entry('s.so', 40, 32, 0x05000200)], armhf), /s\.so \(arm, soft-float\)/);
  assert.throws(() => archInfo('armv6'), UnknownArchError);
});

test('aptMirrorFrom picks the Debian archive apt uses, skipping security and third-party repositories', () => {
  const deb822 = [
    'Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n',
    'Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n',
  ].join('\n');
  assert.equal(aptMirrorFrom(['Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n', deb822]), 'http://mirror.example/debian');
  assert.equal(aptMirrorFrom(['# comment\ndeb [signed-by=/k.gpg] http://ftp.de.debian.org/debian bookworm main\n']), 'http://ftp.de.debian.org/debian');
  assert.equal(aptMirrorFrom(['deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n']), undefined);
});

test('the release CLI rejects a bad or missing --arch with one line and exit code 2', () => {
  const cli = path.join(ROOT, 'dist', 'scripts', 'release.js');
  const bad = spawnSync(process.execPath, [cli, '--arch', 'armv6'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'release: --arch: "armv6" is not one of arm64, armhf, x64\n');
  const missing = spawnSync(process.execPath, [cli], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr, 'release: --arch is required: use one of arm64, armhf, x64\n');
});
