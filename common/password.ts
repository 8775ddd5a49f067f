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
