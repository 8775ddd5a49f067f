import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { copyInstaller, INSTALLER_SCRIPT, PLAYBOOK_PARTS } from '../../scripts/release/installer.js';
import { ROOT } from '../helpers/processes.js';

// What a release carries to install itself on the Pi; the whole release, unpacked and installed on a booted host,
// is `npm run test:deploy`.

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-installer-'));
after(() => fs.rmSync(temp, { recursive: true, force: true }));

function listTree(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

test('a release gets install.sh (executable) and the playbook, not the desktop\'s scripts or credentials', () => {
  const stage = path.join(temp, 'stage');
  fs.mkdirSync(stage);
  assert.deepEqual(copyInstaller(ROOT, stage), []);
  assert.equal(fs.statSync(path.join(stage, INSTALLER_SCRIPT)).mode & 0o111, 0o111);
  assert.deepEqual(fs.readdirSync(path.join(stage, 'deploy')).sort(), [...PLAYBOOK_PARTS].sort());
  assert.deepEqual(listTree(path.join(stage, 'deploy', 'roles')), listTree(path.join(ROOT, 'deploy', 'roles')));
  assert.equal(fs.readFileSync(path.join(stage, 'deploy', 'site.yml'), 'utf8'), fs.readFileSync(path.join(ROOT, 'deploy', 'site.yml'), 'utf8'));
  for (const absent of ['deploy.sh', 'deploy.ps1', 'credentials', 'inventory.example.ini', 'hosts.example.txt']) {
    assert.ok(!fs.existsSync(path.join(stage, 'deploy', absent)), absent);
  }
});

test('a checkout without the installer or a playbook part is named, and nothing is copied', () => {
  const project = path.join(temp, 'project');
  fs.mkdirSync(path.join(project, 'deploy', 'roles'), { recursive: true });
  fs.writeFileSync(path.join(project, 'deploy', 'site.yml'), '---\n');
  const stage = path.join(temp, 'stage2');
  fs.mkdirSync(stage);
  assert.deepEqual(copyInstaller(project, stage), ['deploy/install.sh', 'deploy/ansible.cfg', 'deploy/group_vars']);
  assert.deepEqual(fs.readdirSync(stage), []);
});
