import fs from 'node:fs';
import { agentOptions, AGENT_ENV_PREFIX } from '../agent/config.js';
import { markdownTable } from '../common/options.js';
import { viewerOptions, VIEWER_ENV_PREFIX } from '../viewer/config.js';

/**
 * The option tables of docs/OPTIONS.md are generated from the option tables, between marker comments, so
 * they cannot drift: `npm run docs:options` rewrites them and a test fails when they are stale.
 */
export const OPTIONS_PAGE = 'docs/OPTIONS.md';

export function optionsReference(): Record<'agent' | 'viewer', string> {
  return { agent: markdownTable(agentOptions, AGENT_ENV_PREFIX), viewer: markdownTable(viewerOptions, VIEWER_ENV_PREFIX) };
}

export function withReference(readme: string): string {
  let text = readme;
  for (const [name, table] of Object.entries(optionsReference())) {
    const pattern = new RegExp(`(<!-- options:${name}:start -->\\n)[\\s\\S]*?(<!-- options:${name}:end -->)`);
    if (!pattern.test(text)) throw new Error(`${OPTIONS_PAGE} has no <!-- options:${name}:start/end --> markers`);
    text = text.replace(pattern, (_m, start: string, end: string) => `${start}${table}${end}`);
  }
  return text;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const file = new URL(`../../${OPTIONS_PAGE}`, import.meta.url);
  fs.writeFileSync(file, withReference(fs.readFileSync(file, 'utf8')));
  process.stdout.write(`${OPTIONS_PAGE} option tables updated\n`);
}
