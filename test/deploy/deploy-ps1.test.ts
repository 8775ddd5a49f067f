import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * deploy/deploy.ps1 cannot run here (no PowerShell on this machine). It is kept thin: every Pi-side step is
 * install.sh's. This test reads the script's source and checks what it sends to the Pi against install.sh:
 * the flags it adds and reads exist in install.sh, its constants agree with install.sh and the playbook, and
 * the shell command its Get-InstallCommand builds, expanded from the source for each line of
 * deploy/hosts.example.txt, runs under sh and is accepted by the real install.sh (with --show-settings, so
 * nothing is installed).
 */

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PS1 = fs.readFileSync(path.join(REPO, 'deploy/deploy.ps1'), 'utf8');
const INSTALL_SH = path.join(REPO, 'deploy/install.sh');
const HOSTS = fs.readFileSync(path.join(REPO, 'deploy/hosts.example.txt'), 'utf8');
const GROUP_VARS = fs.readFileSync(path.join(REPO, 'deploy/group_vars/all.yml'), 'utf8');

function installSh(args: string[], cwd?: string): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync('bash', [INSTALL_SH, ...args], { encoding: 'utf8', cwd, timeout: 20_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A single-quoted PowerShell string constant assigned at the script's top: `$Name = '...'`. */
function psConstant(name: string): string {
  const match = new RegExp(`^\\$${name} = '([^']*)'`, 'm').exec(PS1);
  assert.ok(match, `deploy.ps1 assigns $${name}`);
  return match[1]!;
}

/** The body of a PowerShell function in deploy.ps1. */
function psFunction(name: string): string {
  const start = PS1.indexOf(`function ${name}(`);
  assert.notEqual(start, -1, `deploy.ps1 has function ${name}`);
  const end = PS1.indexOf('\n}\n', start);
  return PS1.slice(start, end);
}

/** The hosts file lines as Read-HostsFile splits them: blank lines and # comments skipped, words split on white space. */
function hostsLines(text: string): string[][] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(/\s+/));
}

/**
 * Expands Get-InstallCommand's `$script` lines as PowerShell would for the given variables: only the forms the
 * function uses ($Var, $(ConvertTo-ShellWord $Var), `$). Anything else fails the test, so a change to the
 * function cannot pass unnoticed.
 */
function expandInstallCommand(vars: Record<string, string>): string {
  const body = psFunction('Get-InstallCommand');
  const block = /\$script = @\(\n([\s\S]*?)\n\s*\)/.exec(body);
  assert.ok(block, 'Get-InstallCommand builds $script = @( ... )');
  const lines = block[1]!.split('\n').map((l) => l.trim().replace(/,$/, ''));
  return lines.map((line) => {
    assert.match(line, /^"[^"]*"$/, `a double-quoted string: ${line}`);
    let text = line.slice(1, -1);
    text = text.replace(/\$\(ConvertTo-ShellWord \$(\w+)\)/g, (_, v: string) => `'${vars[v] ?? assert.fail(`no value for $${v}`)}'`);
    text = text.replace(/`\$/g, '\u0000');
    text = text.replace(/\$(\w+)/g, (_, v: string) => vars[v] ?? assert.fail(`no value for $${v} in ${line}`));
    assert.doesNotMatch(text, /[$`]/, `an unexpanded form in ${line}`);
    return text.replace(/\u0000/g, '$');
  }).join('; ');
}

describe('deploy.ps1 builds install.sh commands that install.sh accepts', () => {
  const help = installSh(['--help']).stdout;
  let home = '';

  before(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-ps1-'));
  });
  after(() => {
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('every install.sh flag the script adds or reads is one install.sh documents', () => {
    const used = new Set([...PS1.matchAll(/'(--[a-z-]+)'/g)].map((m) => m[1]!));
    for (const flag of ['--release', '--password-file', '--camera-id', '--broker-host', '--no-camera']) assert.ok(used.has(flag), `deploy.ps1 uses ${flag}`);
    for (const flag of used) assert.match(help, new RegExp(`^\\s+(-h, )?${flag}\\b`, 'm'), `install.sh --help lists ${flag}`);
  });

  it('its constants agree with install.sh and the playbook', () => {
    assert.equal(psConstant('PiCredentialsDir'), /^credentials_dir=(\S+)$/m.exec(fs.readFileSync(INSTALL_SH, 'utf8'))?.[1]);
    assert.equal(psConstant('CameraAccountPrefix'), /^picam_camera_username_prefix: (\S+)$/m.exec(GROUP_VARS)?.[1]);
    const psArch = /\$ArchByMachine = @\{ (.*) \}/.exec(PS1)?.[1];
    const playbookArch = /^picam_release_arch_by_machine:\n((?: {2}\S+: \S+\n)+)/m.exec(GROUP_VARS)?.[1];
    assert.ok(psArch && playbookArch);
    const fromPs = Object.fromEntries([...psArch.matchAll(/'(\S+)' = '(\S+)'/g)].map((m) => [m[1], m[2]]));
    const fromPlaybook = Object.fromEntries([...playbookArch.matchAll(/(\S+): (\S+)/g)].map((m) => [m[1], m[2]]));
    assert.deepEqual(fromPs, fromPlaybook);
  });

  it('the command for each line of hosts.example.txt runs under sh and install.sh accepts its flags', () => {
    const workDir = psConstant('PiWorkDir');
    const lines = hostsLines(HOSTS);
    assert.ok(lines.length >= 3, 'the example lists a broker Pi and two cameras');
    // Read-HostsFile refuses these characters in a value; the example must not need them.
    for (const word of lines.flat()) assert.doesNotMatch(word, /['"`\\;&|<>$]/);
    const tarball = 'picam-mqtt-0.1.0-linux-arm64.tar.gz';
    for (const [target, ...flags] of lines) {
      // What Deploy-Pi copies over with scp: the release (here a stand-in holding the real install.sh and no
      // MANIFEST.json, so install.sh does not compare them) and, for a camera on another Pi's broker, its password.
      fs.rmSync(path.join(home, workDir), { recursive: true, force: true });
      fs.mkdirSync(path.join(home, workDir));
      const stage = fs.mkdtempSync(path.join(home, 'stage-'));
      fs.copyFileSync(INSTALL_SH, path.join(stage, 'install.sh'));
      assert.equal(spawnSync('tar', ['-czf', path.join(home, workDir, tarball), '-C', stage, 'install.sh']).status, 0);
      const brokerHost = flags.includes('--broker-host');
      const cameraId = flags[flags.indexOf('--camera-id') + 1]!;
      let passwordFile = '';
      if (brokerHost) {
        passwordFile = `${psConstant('CameraAccountPrefix')}${cameraId}.password`;
        fs.writeFileSync(path.join(home, workDir, passwordFile), 'x'.repeat(32) + '\r\n');
      }
      // As Get-InstallCommand: --release first, the line's flags, then --password-file; each word single-quoted.
      const installArgs = ['--release', `${workDir}/${tarball}`, ...flags, ...(passwordFile ? ['--password-file', `${workDir}/${passwordFile}`] : []),
        '--show-settings'];
      assert.match(psFunction('Get-InstallCommand'), /\$installArgs = @\('--release', "\$PiWorkDir\/\$Tarball"\) \+ \$Flags/);
      assert.match(psFunction('Get-InstallCommand'), /\$installArgs \+= @\('--password-file', "\$PiWorkDir\/\$PasswordFile"\)/);
      const command = expandInstallCommand({
        PiWorkDir: workDir,
        Tarball: tarball,
        // sudo -n is the Pi's; this machine runs the test as root without sudo.
        sudo: 'env',
        quoted: installArgs.map((a) => `'${a}'`).join(' '),
      });
      const run = spawnSync('sh', ['-c', command], { cwd: home, encoding: 'utf8', timeout: 20_000, env: { ...process.env, HOME: home } });
      assert.equal(run.status, 0, `${target}: ${command}\n${run.stdout}${run.stderr}`);
      assert.match(run.stdout, new RegExp(`^picam_camera_id: "${cameraId}"$`, 'm'), run.stdout);
      if (brokerHost) assert.match(run.stdout, /^picam_broker_host: "pi-hub.local"$/m);
      else assert.match(run.stdout, /^picam_mosquitto_extra_cameras: \["garden","door"\]$/m);
      assert.deepEqual(fs.readdirSync(path.join(home, workDir)).sort(), [tarball, 'release'], 'the copied password is removed');
      fs.rmSync(stage, { recursive: true, force: true });
    }
  });

  it('a line install.sh would refuse makes the command exit 2 with install.sh\'s one line', () => {
    const workDir = psConstant('PiWorkDir');
    const command = expandInstallCommand({ PiWorkDir: workDir, Tarball: 'picam-mqtt-linux-arm64.tar.gz', sudo: 'env', quoted: "'--fps' 'fast'" });
    fs.rmSync(path.join(home, workDir), { recursive: true, force: true });
    fs.mkdirSync(path.join(home, workDir));
    const stage = fs.mkdtempSync(path.join(home, 'stage-'));
    fs.copyFileSync(INSTALL_SH, path.join(stage, 'install.sh'));
    assert.equal(spawnSync('tar', ['-czf', path.join(home, workDir, 'picam-mqtt-linux-arm64.tar.gz'), '-C', stage, 'install.sh']).status, 0);
    const run = spawnSync('sh', ['-c', command], { cwd: home, encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 2);
    assert.equal(run.stderr, "install.sh: --fps must be a number of frames per second above 0, got 'fast' (see --help)\n");
  });
});
