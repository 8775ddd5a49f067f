import fs from 'node:fs';

/** The package version, read from package.json next to dist/ (one source of truth). */
export function packageVersion(): string {
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
