import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './processes.js';

/** True when Ansible's ad-hoc command is installed (bash .ci/run installs it). */
export function ansibleAvailable(): boolean {
  return spawnSync('ansible', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Renders one of the playbook's templates exactly as the playbook does (Ansible's template module, run
 * locally), with the role defaults from deploy/group_vars/all.yml and `vars` on top. Returns the text.
 */
export function renderDeployTemplate(template: string, vars: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-render-'));
  try {
    const varsFile = path.join(dir, 'vars.json');
    const dest = path.join(dir, 'out');
    fs.writeFileSync(varsFile, JSON.stringify(vars));
    const result = spawnSync(
      'ansible',
      ['localhost', '-i', 'localhost,', '-c', 'local', '-m', 'ansible.builtin.template', '-a', `src=${path.join(ROOT, 'deploy', template)} dest=${dest}`,
        '-e', `@${path.join(ROOT, 'deploy/group_vars/all.yml')}`, '-e', `@${varsFile}`, '-e', `playbook_dir=${path.join(ROOT, 'deploy')}`],
      { encoding: 'utf8', env: { ...process.env, ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false' } },
    );
    if (result.status !== 0) throw new Error(`ansible template failed:\n${result.stdout}\n${result.stderr}`);
    return fs.readFileSync(dest, 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
