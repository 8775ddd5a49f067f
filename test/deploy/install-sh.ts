import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertReadyAfterFirstFrame, changedTasks, recapOf, type Recap } from './agent-checks.js';
import { machineState, stateDiff } from './machine-state.js';
import { ensureRootfsTarball, NspawnHost, type RootfsSpec, type RunResult } from './nspawn-host.js';

export interface InstallShTestOptions {
  rootfs: RootfsSpec;
  camera: string;
  watchdogSec: number;
  restartSec: number;
  /** The release tarball built by the playbook test (release/picam-mqtt-linux-x64.tar.gz). */
  release: string;
  /** The playbook host's state after its second run; undefined when that test did not get so far. */
  playbookState: () => string[] | undefined;
  phase: (name: string, since: number) => void;
}

const CREDENTIALS = '/var/lib/picam/credentials';

/**
 * install.sh as a user runs it on the Pi itself: the release tarball is copied to a fresh host with no Ansible,
 * unpacked, and `install.sh` run from it as root, twice. Registered after the playbook's test, whose state it
 * is compared with.
 */
export function describeInstallSh(options: InstallShTestOptions): void {
  describe('install.sh from the release on a fresh booted Debian trixie host', { timeout: 20 * 60_000 }, () => {
    let work = '';
    let host: NspawnHost | undefined;
    let hostname = '';
    let hadAnsible = '';
    const runs: { result: RunResult; output: string; recap: Recap }[] = [];

    const installSh = (args: string[]): Promise<RunResult> =>
      host!.exec(['sh', '-c', 'cd /root && exec /root/picam/install.sh "$@"', 'install.sh', ...args], { timeoutMs: 15 * 60_000 });
    const flags = ['--camera-id', options.camera, '--source', 'synthetic', '--watchdog-sec', String(options.watchdogSec),
      '--restart-sec', String(options.restartSec), '--vars', '/root/picam-vars.yml'];

    before(async () => {
      assert.ok(fs.existsSync(options.release), `${options.release} is built by the playbook test above`);
      const tarball = await ensureRootfsTarball(options.rootfs, (line) => console.log(`# ${line}`));
      work = fs.mkdtempSync('/var/tmp/picam-install-');
      fs.mkdirSync(path.join(work, 'host'));
      let t = Date.now();
      host = new NspawnHost(path.join(work, 'host'));
      await host.boot(tarball);
      options.phase('install.sh host booted', t);
      hostname = (await host.execOk(['hostname'])).stdout.trim();
      hadAnsible = (await host.sh('command -v ansible-playbook')).stdout.trim();

      // As deploy/README.md tells a user: copy the tarball over, unpack it into a folder beside it, run install.sh.
      fs.copyFileSync(options.release, path.join(host.root, 'root', path.basename(options.release)));
      // The host has no network: APT must not try to refresh the lists cached with the root file system.
      fs.writeFileSync(path.join(host.root, 'root/picam-vars.yml'), 'picam_apt_cache_valid_time: 315360000\n');
      await host.execOk(['sh', '-c', `mkdir /root/picam && tar -xzf /root/${path.basename(options.release)} -C /root/picam`]);

      for (const name of ['first', 'second']) {
        t = Date.now();
        const result = await installSh(flags);
        const output = result.stdout + result.stderr;
        fs.appendFileSync(path.join(options.rootfs.cacheDir, 'last-deploy-test.log'), `\n### install.sh, ${name} run\n${output}`);
        assert.equal(result.code, 0, `${name} install.sh run failed:\n${output.slice(-6000)}`);
        runs.push({ result, output, recap: recapOf(output, hostname) });
        options.phase(`${name} install.sh run (changed=${runs.at(-1)!.recap.changed})`, t);
      }
    });

    after(async () => {
      await host?.stop();
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it('installs ansible-core from APT when it is missing, and says so', () => {
      assert.equal(hadAnsible, '', 'the fresh host has no Ansible');
      assert.match(runs[0]!.result.stdout, /ansible-core is not installed; installing it from this Pi's APT/);
      assert.doesNotMatch(runs[1]!.output, /installing it from/);
    });

    it('the first run changes the host, the second changes nothing', () => {
      assert.ok(runs[0]!.recap.changed > 10, `changed=${runs[0]!.recap.changed}`);
      assert.deepEqual({ changed: runs[1]!.recap.changed, failed: runs[1]!.recap.failed },
        { changed: 0, failed: 0 }, `changed on the second run: ${changedTasks(runs[1]!.output).join(', ')}`);
    });

    it('brings the service up: active, READY=1 after the first frame', async () => {
      assert.match(runs[0]!.result.stdout, /^picam-agent: active$/m);
      const status = await host!.exec(['systemctl', 'status', '--no-pager', 'picam-agent']);
      assert.match(status.stdout, /Active: active \(running\)/, status.stdout);
      await assertReadyAfterFirstFrame(host!);
    });

    it('prints the new passwords once and keeps them root-only on the Pi', async () => {
      const listed = await host!.execOk(['sh', '-c', `cd ${CREDENTIALS} && stat -c '%n %a %U:%G' . *`]);
      const lines = listed.stdout.trim().split('\n');
      assert.deepEqual(lines, ['. 700 root:root', `cam-${options.camera} 600 root:root`, 'operator 600 root:root', 'viewer 600 root:root']);
      const viewer = (await host!.execOk(['cat', `${CREDENTIALS}/viewer`])).stdout.trim();
      assert.match(viewer, /^[A-Za-z0-9]{32}$/);
      const shown = runs[0]!.result.stdout.split('\n').filter((line) => line.includes(viewer));
      assert.deepEqual(shown.map((l) => l.trim().split(/\s+/)[0]), ['viewer']);
      assert.doesNotMatch(runs[1]!.output, new RegExp(viewer), 'not shown again on the second run');
      assert.doesNotMatch(runs[1]!.result.stdout, /New broker passwords/);
    });

    it('sets up the broker accounts: the viewer reads the camera, anonymous clients and wrong passwords are refused', async () => {
      const viewer = (await host!.execOk(['cat', `${CREDENTIALS}/viewer`])).stdout.trim();
      const status = await host!.execOk(['mosquitto_sub', '-h', '127.0.0.1', '-u', 'viewer', '-P', viewer, '-t', `picam/${options.camera}/status`, '-C', '1', '-W', '10']);
      assert.equal(status.stdout.trim(), 'online');
      for (const login of [[], ['-u', 'viewer', '-P', 'wrong-password']]) {
        const refused = await host!.exec(['mosquitto_sub', '-h', '127.0.0.1', ...login, '-t', 'picam/#', '-C', '1', '-W', '5']);
        assert.notEqual(refused.code, 0);
        assert.match(refused.stderr + refused.stdout, /not authori[sz]ed/i);
      }
    });

    it('gives a bad flag or value one clear line and exit code 2, changing nothing', async () => {
      const before = await machineState(host!);
      for (const [args, message] of [
        [['--fsp', '10'], /^install\.sh: unknown flag '--fsp' \(see --help\)$/],
        [['--fps', 'fast'], /^install\.sh: --fps must be a number of frames per second above 0, got 'fast' \(see --help\)$/],
        [['--camera-id', 'bad id'], /^install\.sh: --camera-id must be 1-64 letters, digits, _ or -, got 'bad id' \(see --help\)$/],
        [['--broker-host', 'hub.local'], /^install\.sh: --broker-host needs --password-file: .*\(see --help\)$/],
      ] as const) {
        const result = await installSh([...args]);
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
        assert.equal(result.stdout, '');
        const lines = result.stderr.split('\n').filter(Boolean);
        assert.equal(lines.length, 1, result.stderr);
        assert.match(lines[0]!, message);
      }
      assert.deepEqual(await machineState(host!), before);
    });

    it('leaves the same machine state as the remote playbook: files, unit, ACL, user, services, packages', async () => {
      const playbook = options.playbookState();
      assert.ok(playbook, 'the playbook test above did not get as far as its second run');
      const local = await machineState(host!);
      assert.ok(local.some((line) => line.includes('/etc/mosquitto/picam.acl')) && local.length > 100, local.slice(0, 20).join('\n'));
      assert.deepEqual(stateDiff(playbook, local), { onlyFirst: [], onlySecond: [] });
    });
  });
}
