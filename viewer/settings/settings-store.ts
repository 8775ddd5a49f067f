import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { Logger } from '../../common/logger.js';

/** What the settings form edits: the few options a desktop user needs; everything else keeps its default. */
export interface DesktopSettings {
  broker: string;
  username?: string;
  password?: string;
  caFile?: string;
  mediaDir?: string;
}

export const SETTINGS_KEYS = ['broker', 'username', 'password', 'caFile', 'mediaDir'] as const satisfies ReadonlyArray<keyof DesktopSettings>;

/**
 * Where a double-clicked picam-viewer keeps its settings: `%APPDATA%\picam-viewer\viewer.yaml` on Windows (the
 * roaming profile folder, which only the user, SYSTEM and Administrators may open), else
 * `$XDG_CONFIG_HOME/picam-viewer/viewer.yaml` (default ~/.config).
 */
export function defaultSettingsFile(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') {
    const appData = env.APPDATA || path.win32.join(os.homedir(), 'AppData', 'Roaming');
    return path.win32.join(appData, 'picam-viewer', 'viewer.yaml');
  }
  return path.posix.join(env.XDG_CONFIG_HOME || path.posix.join(os.homedir(), '.config'), 'picam-viewer', 'viewer.yaml');
}

/** The settings file could not be written or protected; the message says which and why. */
export class SettingsFileError extends Error {
  constructor(readonly file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SettingsFileError';
  }
}

/** How a just-written file was limited to its owner. */
export interface Restriction {
  /** What was done, for the log and the page. */
  how: string;
}

/** Makes `file` readable and writable by the current user only; throws when that fails. */
export type RestrictToUser = (file: string) => Promise<Restriction>;

/**
 * Windows: icacls removes the entries the file inherits from its folder (/inheritance:r) and leaves one that
 * grants the user full control (/grant:r replaces any earlier grant), so not even Administrators or SYSTEM keep
 * an entry. POSIX: mode 0600.
 */
export const restrictToUser: RestrictToUser = async (file) => {
  if (process.platform !== 'win32') {
    await fs.promises.chmod(file, 0o600);
    return { how: 'mode 0600' };
  }
  const user = process.env.USERDOMAIN && process.env.USERNAME ? `${process.env.USERDOMAIN}\\${process.env.USERNAME}` : os.userInfo().username;
  const args = [file, '/inheritance:r', '/grant:r', `${user}:F`];
  await new Promise<void>((resolve, reject) => {
    execFile('icacls.exe', args, { windowsHide: true, timeout: 15_000 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`icacls ${args.join(' ')} failed: ${String(stderr).trim() || error.message}`));
      else resolve();
    });
  });
  return { how: `icacls: inheritance removed, full control for ${user} only` };
};

/** Reads and writes the desktop settings file. Writing replaces the file whole, already restricted to its owner. */
export class SettingsStore {
  constructor(readonly file: string, private readonly logger: Logger, private readonly restrict: RestrictToUser = restrictToUser) {}

  exists(): boolean {
    return fs.existsSync(this.file);
  }

  /**
   * Writes the settings (the password in clear text, like any config file here; the file is the user's alone).
   * The new file is restricted before it takes the old one's name, so no moment exists where it is open to others.
   */
  async save(settings: DesktopSettings): Promise<Restriction> {
    const dir = path.dirname(this.file);
    const values: Record<string, string> = {};
    for (const key of SETTINGS_KEYS) {
      const value = settings[key];
      if (value !== undefined && value !== '') values[key] = value;
    }
    const text = `# picam-viewer settings, written by its settings page. Keys as in picam-viewer --help.\n${YAML.stringify(values)}`;
    const temp = path.join(dir, `.viewer-${process.pid}-${Date.now()}.yaml`);
    try {
      await fs.promises.mkdir(dir, { recursive: true });
      await fs.promises.writeFile(temp, '', { mode: 0o600, flag: 'wx' });
      const restriction = await this.restrict(temp);
      await fs.promises.writeFile(temp, text, { mode: 0o600 });
      await fs.promises.rename(temp, this.file);
      this.logger.info('settings saved', { file: this.file, protection: restriction.how });
      return restriction;
    } catch (error) {
      await fs.promises.rm(temp, { force: true }).catch(() => undefined);
      throw new SettingsFileError(this.file, `cannot save the settings in ${this.file}: ${(error as Error).message}`, { cause: error });
    }
  }
}
