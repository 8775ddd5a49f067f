import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A throw-away Debian host with a real systemd, booted with systemd-nspawn on this machine, standing in for a
 * Raspberry Pi. Its root file system comes from a cached debootstrap tarball. The host has a private network
 * (loopback only) and is entered with nsenter, so nothing leaves this machine.
 */

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RootfsSpec {
  suite: string;
  mirror: string;
  /** Packages debootstrap installs. */
  include: string[];
  /** Packages whose .debs are only downloaded into APT's cache, so the playbook installs them without network. */
  predownload: string[];
  cacheDir: string;
}

export class CommandError extends Error {
  constructor(readonly command: string, readonly result: RunResult) {
    super(`${command} exited with ${result.code}: ${(result.stderr || result.stdout).trim().split('\n').slice(-15).join('\n')}`);
    this.name = 'CommandError';
  }
}

/** Runs a command to completion (bounded by timeoutMs), capturing its output. */
export function run(command: string, args: string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (t: string) => { stdout += t; });
    child.stderr!.setEncoding('utf8').on('data', (t: string) => { stderr += t; });
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${options.timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 120_000);
    child.once('error', (error) => { clearTimeout(timer); reject(error); });
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    if (child.stdin) {
      child.stdin.on('error', () => {}); // a command that exits without reading its input is judged by its exit code
      child.stdin.end(options.input);
    }
  });
}

export async function runOk(command: string, args: string[], options: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new CommandError(`${command} ${args.join(' ')}`, result);
  return result;
}

function rootfsKey(spec: RootfsSpec): string {
  const text = JSON.stringify([spec.suite, spec.mirror, [...spec.include].sort(), [...spec.predownload].sort(), 1]);
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/**
 * The cached root file system tarball, built when missing: debootstrap minbase, then `apt-get update` and a
 * download-only install of the packages the playbook will install (the booted host has no network).
 */
export async function ensureRootfsTarball(spec: RootfsSpec, log: (line: string) => void): Promise<string> {
  fs.mkdirSync(spec.cacheDir, { recursive: true });
  const tarball = path.join(spec.cacheDir, `${spec.suite}-minbase-${rootfsKey(spec)}.tar`);
  if (fs.existsSync(tarball)) return tarball;
  const work = fs.mkdtempSync(path.join(spec.cacheDir, 'build-'));
  const root = path.join(work, 'root');
  try {
    log(`building ${tarball} (debootstrap ${spec.suite}; once, then cached)`);
    await runOk('debootstrap', ['--variant=minbase', `--include=${spec.include.join(',')}`, spec.suite, root, spec.mirror], { timeoutMs: 15 * 60_000 });
    await runOk('chroot', [root, 'apt-get', 'update', '-qq'], { timeoutMs: 5 * 60_000 });
    await runOk('chroot', [root, 'apt-get', 'install', '-y', '-qq', '--download-only', ...spec.predownload], {
      timeoutMs: 10 * 60_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    await runOk('tar', ['--numeric-owner', '--xattrs', '-C', root, '-cf', `${tarball}.part`, '.'], { timeoutMs: 10 * 60_000 });
    fs.renameSync(`${tarball}.part`, tarball);
    // Root file systems cached for an older package list are of no further use.
    for (const old of fs.readdirSync(spec.cacheDir)) {
      if (old.startsWith(`${spec.suite}-minbase-`) && old.endsWith('.tar') && path.join(spec.cacheDir, old) !== tarball) fs.rmSync(path.join(spec.cacheDir, old));
    }
    return tarball;
  } finally {
    fs.rmSync(`${tarball}.part`, { force: true });
    // An interrupted debootstrap can leave proc/sys mounted in its target: never delete through a mount.
    await unmountUnder(work);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Lazily unmounts everything mounted below dir, deepest first. */
async function unmountUnder(dir: string): Promise<void> {
  const prefix = fs.realpathSync(dir) + '/';
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((point): point is string => point !== undefined && point.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) await run('umount', ['-l', point]);
}

/** cgroup v1 hierarchies this machine mounts by name (no systemd on the host, so nspawn manages them itself). */
const CGROUP_HIERARCHIES = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'];

export class NspawnHost {
  readonly root: string;
  private nspawn: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private pid1: number | undefined;
  private readonly cgroupName: string;
  private stopped: Promise<void> | undefined;
  private consoleLog = '';

  /** `dir` is an empty folder this host owns; its root file system is unpacked to dir/root. */
  constructor(private readonly dir: string) {
    this.root = path.join(dir, 'root');
    this.cgroupName = `picam-deploy-${path.basename(dir)}`;
  }

  /** PID (in this machine's namespace) of the container's systemd. */
  get pid(): number {
    if (this.pid1 === undefined) throw new Error('host is not booted');
    return this.pid1;
  }

  console(): string {
    return this.consoleLog;
  }

  async boot(tarball: string, timeoutMs = 120_000): Promise<void> {
    fs.mkdirSync(this.root, { recursive: true });
    await runOk('tar', ['--numeric-owner', '--xattrs', '-C', this.root, '-xf', tarball], { timeoutMs: 5 * 60_000 });
    // Its own cgroup keeps nspawn's payload/supervisor groups apart from any other container on this machine
    // and lets teardown remove everything it made.
    const procs: string[] = [];
    for (const hierarchy of CGROUP_HIERARCHIES) {
      if (!fs.existsSync(hierarchy)) continue;
      const group = path.join(hierarchy, this.cgroupName);
      fs.mkdirSync(group, { recursive: true });
      procs.push(path.join(group, 'cgroup.procs'));
    }
    const enter = procs.map((p) => `echo $$ > '${p}'`).join(' && ');
    const args = ['-q', '-D', this.root, '-b', '--register=no', '--keep-unit', '--private-network', '--console=passive'];
    this.nspawn = spawn('sh', ['-c', `${enter ? enter + ' && ' : ''}exec systemd-nspawn "$@"`, 'sh', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.nspawn!.once('exit', () => resolve()));
    for (const stream of [this.nspawn.stdout!, this.nspawn.stderr!]) {
      stream.setEncoding('utf8').on('data', (t: string) => { if (this.consoleLog.length < 200_000) this.consoleLog += t; });
    }
    const deadline = Date.now() + timeoutMs;
    // nspawn's child becomes the container's PID 1 once it has exec'd systemd.
    while (this.pid1 === undefined) {
      if (this.nspawn.exitCode !== null) throw new Error(`systemd-nspawn exited with ${this.nspawn.exitCode}: ${this.consoleLog}`);
      if (Date.now() > deadline) throw new Error(`container did not start: ${this.consoleLog}`);
      const child = readChildren(this.nspawn.pid!).find((pid) => readComm(pid) === 'systemd');
      if (child !== undefined) this.pid1 = child;
      else await sleep(100);
    }
    // Until its bus is up, systemctl answers "offline"; then --wait blocks until start-up has finished.
    let state = '';
    while (!['running', 'degraded'].includes(state)) {
      if (Date.now() > deadline) throw new Error(`container did not finish booting (state ${state}): ${this.consoleLog}`);
      const result = await this.exec(['systemctl', 'is-system-running', '--wait'], { timeoutMs: Math.max(1000, deadline - Date.now()) });
      state = result.stdout.trim();
      if (!['running', 'degraded'].includes(state)) await sleep(200);
    }
  }

  /** Runs a command inside the host (all its namespaces), as root. */
  exec(argv: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return run('nsenter', ['-t', String(this.pid), '-a', ...argv], options);
  }

  async execOk(argv: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    const result = await this.exec(argv, options);
    if (result.code !== 0) throw new CommandError(argv.join(' '), result);
    return result;
  }

  /** `sh -c script` inside the host. */
  sh(script: string, options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return this.exec(['sh', '-c', script], options);
  }

  /**
   * Powers the host off: SIGTERM to nspawn (it asks the container's systemd to shut down), wait, then SIGKILL
   * the container's PID 1 if it is still alive (never nspawn alone, which would orphan the container). Then
   * removes its cgroups and files. Idempotent.
   */
  stop(): Promise<void> {
    this.stopped ??= this.teardown();
    return this.stopped;
  }

  private async teardown(): Promise<void> {
    const nspawn = this.nspawn;
    if (nspawn && nspawn.exitCode === null && nspawn.signalCode === null) {
      nspawn.kill('SIGTERM');
      const done = await Promise.race([this.exited!.then(() => true), sleep(30_000).then(() => false)]);
      if (!done && this.pid1 !== undefined && isAlive(this.pid1)) {
        process.kill(this.pid1, 'SIGKILL');
        await Promise.race([this.exited!, sleep(30_000)]);
      }
    }
    for (const hierarchy of CGROUP_HIERARCHIES) removeCgroupTree(path.join(hierarchy, this.cgroupName));
    await unmountUnder(this.dir);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function readChildren(pid: number): number[] {
  try {
    const tasks = fs.readdirSync(`/proc/${pid}/task`);
    return tasks.flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

function readComm(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes a cgroup and its (by now empty) children, deepest first. */
function removeCgroupTree(group: string): void {
  if (!fs.existsSync(group)) return;
  for (const entry of fs.readdirSync(group, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroupTree(path.join(group, entry.name));
  }
  try {
    fs.rmdirSync(group);
  } catch {
    // A cgroup with processes left cannot be removed; that is reported by the caller's checks, not here.
  }
}

/** True when this machine can run the deploy test at all. */
export function missingTools(): string[] {
  const tools = ['debootstrap', 'systemd-nspawn', 'nsenter', 'ansible-playbook', 'ansible-lint', 'tar', 'chroot'];
  return tools.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
}
