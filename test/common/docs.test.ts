import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { AGENT_ENV_PREFIX, AGENT_EXAMPLES, agentOptions } from '../../agent/config.js';
import { parseOptions } from '../../common/options.js';
import { OPTIONS_PAGE, withReference } from '../../scripts/options-reference.js';
import { VIEWER_ENV_PREFIX, VIEWER_EXAMPLES, viewerOptions } from '../../viewer/config.js';
import { AGENT_CLI, ROOT, VIEWER_CLI, runNode } from '../helpers/processes.js';

test(`${OPTIONS_PAGE} option tables match the option definitions (run npm run docs:options to refresh)`, () => {
  const page = fs.readFileSync(path.join(ROOT, OPTIONS_PAGE), 'utf8');
  assert.equal(page, withReference(page));
});

/** The Markdown files a reader of the repository meets: README.md and everything under docs/ and deploy/. */
function markdownFiles(): string[] {
  const found = [path.join(ROOT, 'README.md')];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.md')) found.push(full);
    }
  };
  walk(path.join(ROOT, 'docs'));
  walk(path.join(ROOT, 'deploy'));
  return found;
}

/** GitHub's heading anchors: lower case, punctuation other than - and _ removed, spaces to -, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = heading[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/<[^>]+>/g, '');
    const slug = text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    result.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return result;
}

/** Relative link targets of a Markdown text, outside code blocks and code spans. */
function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) { fenced = !fenced; continue; }
    if (fenced) continue;
    for (const match of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1]!;
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push(target);
    }
  }
  return links;
}

test('every relative link in README.md, docs/ and deploy/ resolves, anchors included', () => {
  const broken: string[] = [];
  const files = markdownFiles();
  let checked = 0;
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    for (const link of relativeLinks(text)) {
      checked++;
      const [target, anchor] = link.split('#', 2) as [string, string | undefined];
      const resolved = target === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(target));
      const where = `${path.relative(ROOT, file)}: ${link}`;
      if (!fs.existsSync(resolved)) { broken.push(`${where} (no such file)`); continue; }
      if (anchor && resolved.endsWith('.md') && !anchors(fs.readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`${where} (no such heading)`);
    }
  }
  assert.ok(checked > 30, `links were found (${checked})`);
  assert.deepEqual(broken, []);
});

test('the anchor rule matches GitHub on headings with punctuation, links and repeats', () => {
  const found = anchors('# How it behaves under load\n## 8. Remote control: set and result\n```\n# not a heading\n```\n## Over a wide-area link (`npm run bench:link`)\n## Tests\n## Tests\n');
  assert.deepEqual([...found], ['how-it-behaves-under-load', '8-remote-control-set-and-result', 'over-a-wide-area-link-npm-run-benchlink', 'tests', 'tests-1']);
  assert.deepEqual(relativeLinks('see [a](a.md#x) and [b](https://x.org) `[c](c.md)`\n```\n[d](d.md)\n```'), ['a.md#x']);
});

for (const [program, cli, examples, table, envPrefix] of [
  ['picam-agent', AGENT_CLI, AGENT_EXAMPLES, agentOptions, AGENT_ENV_PREFIX],
  ['picam-viewer', VIEWER_CLI, VIEWER_EXAMPLES, viewerOptions, VIEWER_ENV_PREFIX],
] as const) {
  test(`${program} --help opens with three example command lines that its options accept`, async () => {
    const help = runNode(cli, ['--help']);
    assert.equal(await help.exited, 0);
    const lines = help.output().split('\n');
    assert.equal(lines[2], 'Examples:');
    assert.equal(examples.length, 3);
    for (let i = 0; i < 3; i++) assert.ok(lines[3 + i]!.startsWith(`  ${program} --`), lines[3 + i]);
    assert.ok(lines.indexOf('Examples:') < lines.findIndex((l) => l.startsWith('Options')));
    for (const argv of examples) {
      const parsed = parseOptions(table as typeof agentOptions, { argv, env: {}, envPrefix });
      assert.equal(parsed.help, false);
    }
  });
}
