import fs from 'node:fs';
import path from 'node:path';

/**
 * What a Linux release carries so that it installs itself on the Pi (deploy/README.md, "On the Pi itself"):
 * `install.sh` at the top level and the playbook it applies with `ansible-playbook -c local` under `deploy/`.
 * Only the parts the playbook reads: not the desktop's scripts, inventories or generated credentials.
 */
export const INSTALLER_SCRIPT = 'install.sh';
export const PLAYBOOK_PARTS = ['site.yml', 'ansible.cfg', 'group_vars', 'roles'] as const;

/**
 * Copies deploy/install.sh and the playbook into a staged release. Returns the parts the checkout lacks (then
 * nothing is copied), for the caller to refuse the build: a release without its installer is not one.
 */
export function copyInstaller(projectDir: string, stage: string): string[] {
  const deploy = path.join(projectDir, 'deploy');
  const missing = [INSTALLER_SCRIPT, ...PLAYBOOK_PARTS].filter((part) => !fs.existsSync(path.join(deploy, part)));
  if (missing.length > 0) return missing.map((part) => `deploy/${part}`);
  fs.copyFileSync(path.join(deploy, INSTALLER_SCRIPT), path.join(stage, INSTALLER_SCRIPT));
  fs.chmodSync(path.join(stage, INSTALLER_SCRIPT), 0o755);
  for (const part of PLAYBOOK_PARTS) {
    fs.cpSync(path.join(deploy, part), path.join(stage, 'deploy', part), { recursive: true });
  }
  return [];
}
