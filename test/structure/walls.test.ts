import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/processes.js';

// The walls between the parts (README "Project layout"): protocol/ is pure, common/ serves both programs
// without knowing either, the agent and the viewer never import each other (the viewer ships to Windows
// without Pi code), a camera backend knows nothing of chunks, and the benchmarks share the tests' rigs
// (harness/) without reaching into the tests. Read from the TypeScript sources.

/** Every module a source file names: static imports and re-exports (one or many lines), side-effect and dynamic imports. */
export function importsOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
  return found;
}

interface Import { file: string; specifier: string; target: string | undefined }

/** A relative specifier as a path from the repository root (undefined for a package or `node:` module). */
function resolve(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
}

function sourcesUnder(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return sourcesUnder(rel);
    return entry.name.endsWith('.ts') ? [rel] : [];
  });
}

function importsUnder(dir: string): Import[] {
  return sourcesUnder(dir).flatMap((file) => importsOf(fs.readFileSync(path.join(ROOT, file), 'utf8')).map((specifier) => ({ file, specifier, target: resolve(file, specifier) })));
}

const inside = (target: string | undefined, dir: string): boolean => target !== undefined && (target === dir || target.startsWith(`${dir}/`));
const show = (imports: Import[]): string[] => imports.map((i) => `${i.file} imports ${i.specifier}`);

/** The walls, as rules over one part's imports; each returns the imports that break it. */
export const WALLS: Array<{ part: string; rule: string; breaks: (i: Import) => boolean }> = [
  { part: 'protocol', rule: 'imports nothing outside itself but node:', breaks: (i) => !i.specifier.startsWith('node:') && !inside(i.target, 'protocol') },
  { part: 'common', rule: 'imports neither agent/ nor viewer/', breaks: (i) => inside(i.target, 'agent') || inside(i.target, 'viewer') },
  { part: 'agent', rule: 'never imports viewer/', breaks: (i) => inside(i.target, 'viewer') },
  { part: 'viewer', rule: 'never imports agent/', breaks: (i) => inside(i.target, 'agent') },
  { part: 'agent/capture', rule: 'does not import protocol/ (a camera knows no chunks)', breaks: (i) => inside(i.target, 'protocol') },
  { part: 'bench', rule: 'never imports test/ (the rigs both use live in harness/)', breaks: (i) => inside(i.target, 'test') },
  { part: 'harness', rule: 'imports neither test/ nor bench/', breaks: (i) => inside(i.target, 'test') || inside(i.target, 'bench') },
];

for (const wall of WALLS) {
  test(`${wall.part}/ ${wall.rule}`, () => {
    const imports = importsUnder(wall.part);
    // Seen at all: a scanner that found nothing would pass every rule.
    assert.ok(imports.length > 0, `no imports found under ${wall.part}/`);
    assert.deepEqual(show(imports.filter(wall.breaks)), []);
  });
}

test('the walls catch what they are for (each rule against a breaking import)', () => {
  const breaking: Record<string, Import> = {
    protocol: { file: 'protocol/x.ts', specifier: 'mqtt', target: undefined },
    common: { file: 'common/x.ts', specifier: '../agent/agent.js', target: 'agent/agent.js' },
    agent: { file: 'agent/x.ts', specifier: '../viewer/viewer.js', target: 'viewer/viewer.js' },
    viewer: { file: 'viewer/x.ts', specifier: '../agent/config.js', target: 'agent/config.js' },
    'agent/capture': { file: 'agent/capture/x.ts', specifier: '../../protocol/chunker.js', target: 'protocol/chunker.js' },
    bench: { file: 'bench/x.ts', specifier: '../test/helpers/processes.js', target: 'test/helpers/processes.js' },
    harness: { file: 'harness/x.ts', specifier: '../bench/frames.js', target: 'bench/frames.js' },
  };
  for (const wall of WALLS) assert.ok(wall.breaks(breaking[wall.part]!), `${wall.part}: ${wall.rule}`);
  assert.deepEqual(importsOf("import type {\n  A,\n  B,\n} from '../a.js';\nexport { c } from './c.js';\nimport './d.js';\nconst e = await import('node:fs');"), ['../a.js', './c.js', './d.js', 'node:fs']);
});
