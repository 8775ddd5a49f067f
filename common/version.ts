import fs from 'node:fs';

/** Set by the bundler for picam-viewer.exe, which carries no package.json. */
declare const PICAM_BUNDLED_VERSION: string | undefined;

/** The package version, read from package.json next to dist/ (one source of truth). */
export function packageVersion(): string {
  if (typeof PICAM_BUNDLED_VERSION === 'string') return PICAM_BUNDLED_VERSION;
  for (const candidate of ['../../package.json', '../package.json']) {
    try {
      const json = JSON.parse(fs.readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (json.name === 'picam-mqtt' && json.version) return json.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}
