import fs from 'node:fs';
import { ConfigError } from './options.js';

/**
 * The broker password from the layer that has it: the `password` option (environment or config file) or
 * the first line of `passwordFile`. A file that cannot be read is a config error naming the field.
 */
export function resolvePassword(password: string | undefined, passwordFile: string | undefined): string | undefined {
  if (password !== undefined) return password;
  if (passwordFile === undefined) return undefined;
  try {
    return fs.readFileSync(passwordFile, 'utf8').split(/\r?\n/)[0];
  } catch (error) {
    throw new ConfigError([`passwordFile ${passwordFile} cannot be read (${(error as NodeJS.ErrnoException).code}): check the path and that this user may read it`]);
  }
}

/**
 * A password inside a broker URL given as a flag would show in `ps` for as long as the program runs, so it
 * is refused there (environment and config file are fine: they are not world-readable).
 */
export function refusePasswordInFlagUrl(broker: string, origin: 'flag' | 'env' | 'file' | 'default', passwordEnv: string): void {
  if (origin !== 'flag') return;
  let hasPassword = false;
  try {
    hasPassword = new URL(broker).password !== '';
  } catch {
    return; // the URL pattern check reports malformed URLs
  }
  if (hasPassword) {
    throw new ConfigError([`--broker: the URL holds a password, which would show in ps; give the user name with --username and the password in ${passwordEnv} or passwordFile`]);
  }
}

/**
 * MQTT sends a password only together with a user name (MQTT 3.1.1 forbids one without the other, and
 * MQTT.js will not send it over MQTT 5 either): without this check the connection would be dropped before
 * it reaches the broker, again and again, with nothing in the log at the default level.
 */
export function refusePasswordWithoutUsername(password: string | undefined, username: string | undefined, broker: string, envPrefix: string): void {
  let inUrl = { username: '', password: '' };
  try {
    inUrl = new URL(broker);
  } catch {
    // the URL pattern check reports malformed URLs
  }
  const hasPassword = password !== undefined || inUrl.password !== '';
  const hasUsername = username !== undefined || inUrl.username !== '';
  if (hasPassword && !hasUsername) {
    throw new ConfigError([`username is not set but a password is: MQTT sends a password only with a user name; set username (--username or ${envPrefix}USERNAME), or remove the password`]);
  }
}
