import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { heapGrowthChosenByNodeFlags } from '../../viewer/heap-growth.js';

test('heap growth: an explicit --heap-growing-percent on the node command line or in NODE_OPTIONS wins', () => {
  assert.equal(heapGrowthChosenByNodeFlags([]), false);
  assert.equal(heapGrowthChosenByNodeFlags(['--trace-gc', '--max-old-space-size=512'], '--enable-source-maps'), false);
  assert.equal(heapGrowthChosenByNodeFlags(['--heap-growing-percent=0']), true);
  assert.equal(heapGrowthChosenByNodeFlags(['--heap_growing_percent=50']), true);
  assert.equal(heapGrowthChosenByNodeFlags([], '--trace-gc --heap-growing-percent=100'), true);
  // A longer flag that merely starts the same way is someone else's.
  assert.equal(heapGrowthChosenByNodeFlags(['--heap-growing-percentage=1']), false);
});

test('heap growth: the viewer applies it without a warning from V8', () => {
  // setFlagsFromString prints a warning for a flag this V8 does not know; none may appear.
  const script = `import { allowHeapGrowthForFrames } from ${JSON.stringify(new URL('../../viewer/heap-growth.js', import.meta.url).href)}; allowHeapGrowthForFrames(); allowHeapGrowthForFrames();`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, '');
  assert.equal(run.stdout, '');
});
