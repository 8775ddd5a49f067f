import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { agentJournal, assertReadyAfterFirstFrame, changedTasks, recapOf as recapOfHost, type Recap, unitProperty } from './agent-checks.js';
import { describeInstallSh } from './install-sh.js';
import { machineState } from './machine-state.js';
import { ensureRootfsTarball, missingTools, NspawnHost, type RootfsSpec, run, type RunResult } from './nspawn-host.js';

/**
 * The deployment, for real: boots a Debian trixie host with systemd in a container (standing in for a Pi),
 * applies deploy/site.yml to it through Ansible's nsenter connection, and checks what a user relies on.
 * Needs root, debootstrap, systemd-container, ansible and ansible-lint. Run with `npm run test:deploy`;
 * the root file system is cached in $PICAM_TEST_CACHE (default /var/cache/picam-test).
 */

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DEPLOY = path.join(REPO, 'deploy');
const CACHE = process.env.PICAM_TEST_CACHE ?? '/var/cache/picam-test';
const MIRROR = process.env.PICAM_TEST_MIRROR ?? 'http://deb.debian.org/debian';
const HOST = 'testpi';
/** The root file system of both test hosts. */
const ROOTFS: RootfsSpec = {
  suite: 'trixie',
  mirror: MIRROR,
  include: ['systemd', 'systemd-sysv', 'dbus', 'python3'],
  // What the playbook installs (python3-apt: Ansible's apt module adds it); APT resolves the same dependencies
  // again inside the host, offline. ansible-core: install.sh installs it on a Pi that lacks it.
  predownload: ['nodejs', 'ca-certificates', 'mosquitto', 'mosquitto-clients', 'procps', 'python3-apt', 'ansible-core'],
  cacheDir: CACHE,
};
const CAMERA = 'testcam';
const WATCHDOG_SEC = 15;
const RESTART_SEC = 5;

const ANSIBLE_ENV = {
  ...process.env,
  ANSIBLE_CONFIG: path.join(DEPLOY, 'ansible.cfg'),
  ANSIBLE_NOCOLOR: '1',
  ANSIBLE_FORCE_COLOR: '0',
  ANSIBLE_STDOUT_CALLBACK: 'default',
};

const started = Date.now();
/** The playbook host's state after its second run, for the install.sh test to compare with. */
let playbookState: string[] | undefined;
const phase = (name: string, since: number): void => {
  console.log(`# ${name}: ${((Date.now() - since) / 1000).toFixed(1)} s (total ${((Date.now() - started) / 1000).toFixed(0)} s)`);
};

const recapOf = (output: string): Recap => recapOfHost(output, HOST);

/** The subscriber run inside the host with the deployed release's own mqtt and reassembler. */
const FRAME_CHECK = String.raw`
import { createRequire } from 'node:module';
const [release, url, username, base, wanted, timeoutMs] = process.argv.slice(2);
const require = createRequire(release + '/package.json');
const mqtt = require('mqtt');
const { Reassembler } = await import(release + '/dist/protocol/reassembler.js');
const reassembler = new Reassembler();
const result = { frames: 0, notJpeg: 0, bytes: 0, retained: {}, error: null };
const client = mqtt.connect(url, { username, password: process.env.VIEWER_PASSWORD, reconnectPeriod: 0, connectTimeout: 5000 });
const finish = () => { console.log(JSON.stringify(result)); client.end(true, () => process.exit(0)); };
setTimeout(finish, Number(timeoutMs));
client.on('error', (error) => { result.error = error.message; finish(); });
client.on('connect', () => client.subscribe([base + '/frame', base + '/status', base + '/info'], { qos: 0 }));
client.on('message', (topic, payload) => {
  if (!topic.endsWith('/frame')) { result.retained[topic.slice(base.length + 1)] = payload.toString(); return; }
  const pushed = reassembler.push(topic, payload);
  if (pushed.kind !== 'frame') return;
  const data = pushed.frame.data;
  const jpeg = data[0] === 0xff && data[1] === 0xd8 && data[data.length - 2] === 0xff && data[data.length - 1] === 0xd9;
  if (jpeg) result.frames++; else result.notJpeg++;
  result.bytes += data.length;
  if (result.frames >= Number(wanted)) finish();
});
`;

describe('deploy/site.yml on a booted Debian trixie host (systemd-nspawn)', { timeout: 30 * 60_000 }, () => {
  let work = '';
  let host: NspawnHost | undefined;
  let inventory = '';
  let credentials = '';
  const runs: { output: string; recap: Recap }[] = [];
  let freshCheck: { output: string; recap: Recap; code: number | null } | undefined;
  let afterFreshCheck = '';

  /** The user's command: `npm run deploy -- -i INVENTORY ...` (deploy/deploy.sh: release build, then the playbook). */
  const deploy = async (extra: string[]): Promise<{ output: string; recap: Recap; code: number | null }> => {
    const result = await run('npm', ['run', '--silent', 'deploy', '--', '-i', inventory, ...extra], { cwd: REPO, env: ANSIBLE_ENV, timeoutMs: 15 * 60_000 });
    const output = result.stdout + result.stderr;
    fs.appendFileSync(path.join(CACHE, 'last-deploy-test.log'), output);
    return { output, recap: recapOf(output), code: result.code };
  };
  const show = (property: string): Promise<string> => unitProperty(host!, property);
  const journal = (args: string[] = []): Promise<Record<string, string>[]> => agentJournal(host!, args);
  const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      await sleep(500);
    }
  };

  before(async () => {
    const missing = missingTools();
    assert.deepEqual(missing, [], `install these first (apt-get install debootstrap systemd-container ansible ansible-lint): ${missing.join(', ')}`);
    assert.equal(process.getuid?.(), 0, 'the deploy test boots a container and must run as root');
    fs.mkdirSync(CACHE, { recursive: true });
    fs.writeFileSync(path.join(CACHE, 'last-deploy-test.log'), '');
    work = fs.mkdtempSync('/var/tmp/picam-deploy-');
    credentials = path.join(work, 'credentials');

    let t = Date.now();
    const tarball = await ensureRootfsTarball(ROOTFS, (line) => console.log(`# ${line}`));
    phase('root file system ready', t);

    t = Date.now();
    host = new NspawnHost(path.join(work, 'host'));
    fs.mkdirSync(path.join(work, 'host'));
    await host.boot(tarball);
    phase('host booted', t);

    inventory = path.join(work, 'inventory.ini');
    // Settings on the host line: inventory host variables rank above the playbook's group_vars/all.yml.
    const settings = {
      ansible_connection: 'community.docker.nsenter',
      ansible_nsenter_pid: host.pid,
      ansible_become: 'false',
      ansible_python_interpreter: '/usr/bin/python3',
      picam_credentials_dir: credentials,
      picam_camera_id: CAMERA,
      // The host has no camera: the agent's test pattern, as a Pi without one would need to be told.
      picam_agent_source: 'synthetic',
      picam_agent_watchdog_sec: WATCHDOG_SEC,
      picam_agent_restart_sec: RESTART_SEC,
      // The host has no network: APT must not try to refresh the lists cached with the root file system.
      picam_apt_cache_valid_time: 315360000,
    };
    fs.writeFileSync(inventory, [
      '[picam_brokers]',
      `${HOST} ${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(' ')}`,
      '[picam_cameras]',
      HOST,
      '',
    ].join('\n'));

    // --check on a host never deployed to: shows changes, changes nothing. The apt module needs python3-apt
    // for check mode (a normal run installs it by itself), as deploy/README.md says.
    t = Date.now();
    await host.execOk(['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'python3-apt'], { timeoutMs: 5 * 60_000 });
    // The first call also builds the x64 release into release/, where the playbook looks for it.
    freshCheck = await deploy(['--arch', 'x64', '--check']);
    assert.equal(freshCheck.code, 0, `--check on the fresh host failed:\n${freshCheck.output.slice(-6000)}`);
    phase(`--check on the fresh host (changed=${freshCheck.recap.changed})`, t);
    afterFreshCheck = (await host.sh('ls -d /etc/picam /opt/picam-mqtt /etc/systemd/system/picam-agent.service /usr/bin/node /usr/sbin/mosquitto 2>/dev/null; getent passwd picam')).stdout;

    for (const name of ['first', 'second']) {
      t = Date.now();
      const result = await deploy(['--skip-build']);
      assert.equal(result.code, 0, `${name} playbook run failed:\n${result.output.slice(-6000)}`);
      runs.push(result);
      phase(`${name} playbook run (changed=${result.recap.changed})`, t);
    }
    // Before the tests below change the host: what install.sh must reproduce on another host.
    playbookState = await machineState(host);
  });

  after(async () => {
    await host?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
    phase('torn down', started);
  });

  it('passes ansible-lint and ansible-playbook --syntax-check', async () => {
    const lint = await run('ansible-lint', ['--nocolor', 'site.yml'], { cwd: DEPLOY, env: ANSIBLE_ENV, timeoutMs: 5 * 60_000 });
    assert.equal(lint.code, 0, lint.stdout + lint.stderr);
    const syntax = await run('ansible-playbook', ['--syntax-check', '-i', path.join(DEPLOY, 'inventory.example.ini'), 'site.yml'], { cwd: DEPLOY, env: ANSIBLE_ENV });
    assert.equal(syntax.code, 0, syntax.stdout + syntax.stderr);
  });

  it('--check on a fresh host reports the changes and makes none', () => {
    assert.ok(freshCheck!.recap.changed > 10, `changed=${freshCheck!.recap.changed}`);
    assert.equal(freshCheck!.recap.failed, 0);
    assert.equal(afterFreshCheck, '', 'nothing was installed or created by --check');
  });

  it('the first run changes the host, the second changes nothing', () => {
    assert.ok(runs[0]!.recap.changed > 0);
    assert.equal(runs[0]!.recap.failed, 0);
    assert.deepEqual({ changed: runs[1]!.recap.changed, failed: runs[1]!.recap.failed, unreachable: runs[1]!.recap.unreachable },
      { changed: 0, failed: 0, unreachable: 0 }, `changed on the second run: ${changedTasks(runs[1]!.output).join(', ')}`);
  });

  it('--check on the deployed host reports nothing to change', async () => {
    const result = await deploy(['--skip-build', '--check']);
    assert.equal(result.code, 0, result.output.slice(-4000));
    assert.equal(result.recap.changed, 0, `would change: ${changedTasks(result.output).join(', ')}`);
  });

  it('systemd-analyze verify prints nothing for the installed unit', async () => {
    const verify = await host!.exec(['systemd-analyze', 'verify', '/etc/systemd/system/picam-agent.service']);
    assert.equal(verify.code, 0);
    assert.equal(verify.stdout + verify.stderr, '');
  });

  it('picam-agent.service is active (running) as its own user, sandboxed but with devices reachable', async () => {
    const status = await host!.exec(['systemctl', 'status', '--no-pager', 'picam-agent']);
    assert.match(status.stdout, /Active: active \(running\)/, status.stdout);
    assert.equal(await show('Type'), 'notify');
    assert.equal(await show('NotifyAccess'), 'all');
    assert.equal(await show('User'), 'picam');
    assert.equal(await show('SupplementaryGroups'), 'video');
    assert.equal(await show('NoNewPrivileges'), 'yes');
    assert.equal(await show('ProtectSystem'), 'strict');
    assert.equal(await show('PrivateDevices'), 'no');
    assert.equal(await show('MemoryDenyWriteExecute'), 'no');
    assert.equal(await show('DevicePolicy'), 'auto');
    assert.equal(await show('DeviceAllow'), '', 'no device allow-list that would hide the camera');
    assert.equal(await show('WatchdogUSec'), `${WATCHDOG_SEC}s`);
    const pid = await show('MainPID');
    const user = await host!.execOk(['stat', '-c', '%U', `/proc/${pid}`]);
    assert.equal(user.stdout.trim(), 'picam');
    const perms = await host!.execOk(['stat', '-c', '%a %U:%G', '/etc/picam/broker.password', '/etc/picam/agent.yaml', '/etc/mosquitto/picam.passwd']);
    assert.deepEqual(perms.stdout.trim().split('\n'), ['600 picam:picam', '640 root:picam', '600 mosquitto:mosquitto']);
  });

  it('READY=1 reached systemd only after the first frame was published', async () => {
    await assertReadyAfterFirstFrame(host!);
  });

  it('a viewer using the viewer account receives intact frames through the deployed Mosquitto', async () => {
    fs.mkdirSync(path.join(host!.root, 'root/picam-test'), { recursive: true });
    fs.writeFileSync(path.join(host!.root, 'root/picam-test/frame-check.mjs'), FRAME_CHECK);
    const password = fs.readFileSync(path.join(credentials, 'viewer'), 'utf8').trim();
    const result = await host!.execOk(['env', `VIEWER_PASSWORD=${password}`, 'node', '/root/picam-test/frame-check.mjs',
      '/opt/picam-mqtt/current', 'mqtt://127.0.0.1:1883', 'viewer', `picam/${CAMERA}`, '10', '20000'], { timeoutMs: 30_000 });
    const seen = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { frames: number; notJpeg: number; bytes: number; retained: Record<string, string>; error: string | null };
    assert.equal(seen.error, null);
    assert.equal(seen.frames, 10, JSON.stringify(seen));
    assert.equal(seen.notJpeg, 0);
    assert.equal(seen.retained.status, 'online');
    assert.equal(JSON.parse(seen.retained.info!).cameraId, CAMERA);
  });

  it('refuses anonymous clients and wrong passwords', async () => {
    const anonymous = await host!.exec(['mosquitto_sub', '-h', '127.0.0.1', '-p', '1883', '-t', 'picam/#', '-C', '1', '-W', '5']);
    assert.notEqual(anonymous.code, 0);
    assert.match(anonymous.stderr + anonymous.stdout, /not authori[sz]ed/i);
    const wrong = await host!.exec(['mosquitto_sub', '-h', '127.0.0.1', '-p', '1883', '-u', 'viewer', '-P', 'wrong-password', '-t', 'picam/#', '-C', '1', '-W', '5']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr + wrong.stdout, /not authori[sz]ed/i);
  });

  it('lets only the operator send remote-control requests, and the camera answer them', async () => {
    const viewer = fs.readFileSync(path.join(credentials, 'viewer'), 'utf8').trim();
    const operator = fs.readFileSync(path.join(credentials, 'operator'), 'utf8').trim();
    // The viewer account also listens on set: it may read the answers, never the requests.
    const sub = host!.exec(['mosquitto_sub', '-h', '127.0.0.1', '-u', 'viewer', '-P', viewer, '-v', '-W', '8', '-t', `picam/${CAMERA}/result`, '-t', `picam/${CAMERA}/set`]);
    await sleep(1500);
    const set = (user: string, password: string, id: string): Promise<RunResult> =>
      host!.execOk(['mosquitto_pub', '-h', '127.0.0.1', '-u', user, '-P', password, '-q', '1', '-t', `picam/${CAMERA}/set`, '-m', JSON.stringify({ id, fps: 15 })]);
    await set('viewer', viewer, 'from-viewer');
    await set('operator', operator, 'from-operator');
    const lines = (await sub).stdout.trim().split('\n').filter(Boolean).map((line) => ({ topic: line.slice(0, line.indexOf(' ')), payload: line.slice(line.indexOf(' ') + 1) }));
    assert.deepEqual(lines.filter((l) => l.topic !== `picam/${CAMERA}/result`), [], 'the viewer account reads no set request');
    const results = lines.map((l) => JSON.parse(l.payload) as { id?: string; ok: boolean });
    assert.deepEqual(results.map((r) => [r.id, r.ok]), [['from-operator', true]]);
  });

  it('lets a camera write only its own topics and the viewer write nothing', async () => {
    const viewer = fs.readFileSync(path.join(credentials, 'viewer'), 'utf8').trim();
    const camera = fs.readFileSync(path.join(credentials, `cam-${CAMERA}`), 'utf8').trim();
    // snapshot: a kind the camera may write that the agent sends only on request (Home Assistant is off here).
    const sub = host!.exec(['mosquitto_sub', '-h', '127.0.0.1', '-u', 'viewer', '-P', viewer, '-v', '-W', '6',
      '-t', 'picam/othercam/#', '-t', `picam/${CAMERA}/snapshot`]);
    await sleep(1500);
    const pub = (user: string, password: string, topic: string, message: string): Promise<RunResult> =>
      host!.execOk(['mosquitto_pub', '-h', '127.0.0.1', '-u', user, '-P', password, '-t', topic, '-m', message]);
    await pub(`cam-${CAMERA}`, camera, 'picam/othercam/status', 'camera-writes-another-camera');
    await pub('viewer', viewer, `picam/${CAMERA}/snapshot`, 'viewer-writes');
    await pub(`cam-${CAMERA}`, camera, `picam/${CAMERA}/snapshot`, 'camera-writes-own');
    const received = (await sub).stdout.trim().split('\n').filter(Boolean);
    assert.deepEqual(received, [`picam/${CAMERA}/snapshot camera-writes-own`]);
  });

  it('a frozen agent (SIGSTOP) is restarted by the systemd watchdog', async () => {
    const oldPid = await show('MainPID');
    const restartsBefore = Number(await show('NRestarts'));
    const since = (await host!.execOk(['date', '+%Y-%m-%d %H:%M:%S'])).stdout.trim();
    await host!.execOk(['kill', '-STOP', oldPid]);
    await waitFor('a new agent process after the watchdog fired', async () => {
      const [pid, state] = [await show('MainPID'), await show('SubState')];
      return pid !== '0' && pid !== oldPid && state === 'running';
    }, (WATCHDOG_SEC + RESTART_SEC + 45) * 1000);
    assert.equal(Number(await show('NRestarts')), restartsBefore + 1);
    const messages = (await journal(['--since', since])).map((e) => e.MESSAGE ?? '');
    assert.ok(messages.some((m) => /watchdog timeout/i.test(m)), messages.join('\n'));
    const gone = await host!.exec(['kill', '-0', oldPid]);
    assert.notEqual(gone.code, 0, 'the frozen process is gone');
  });

  it('a bad config fails the unit once, with the config error in the journal, and no restart loop', async () => {
    await host!.execOk(['sed', '-i', 's/^fps: .*/fps: 500/', '/etc/picam/agent.yaml']);
    const since = (await host!.execOk(['date', '+%Y-%m-%d %H:%M:%S'])).stdout.trim();
    const restart = await host!.exec(['systemctl', 'restart', 'picam-agent']);
    assert.notEqual(restart.code, 0, 'the start job fails');
    const restartsAfterFailure = Number(await show('NRestarts'));
    await sleep(3 * RESTART_SEC * 1000); // long enough for two automatic restarts if systemd were looping
    assert.equal(await show('ActiveState'), 'failed');
    assert.equal(await show('Result'), 'exit-code');
    assert.equal(await show('ExecMainStatus'), '2');
    assert.equal(Number(await show('NRestarts')), restartsAfterFailure);
    const messages = (await journal(['--since', since])).map((e) => e.MESSAGE ?? '');
    const configErrors = messages.filter((m) => /config error: .*fps.*500/.test(m));
    assert.equal(configErrors.length, 1, messages.join('\n'));
    assert.equal(messages.filter((m) => /status=2\//.test(m)).length, 1, messages.join('\n'));
  });
});

describeInstallSh({
  rootfs: ROOTFS,
  camera: CAMERA,
  watchdogSec: WATCHDOG_SEC,
  restartSec: RESTART_SEC,
  release: path.join(REPO, 'release', 'picam-mqtt-linux-x64.tar.gz'),
  playbookState: () => playbookState,
  phase,
});
