import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { withReference } from '../../scripts/options-reference.js';
import { ROOT } from '../helpers/processes.js';

test('README option tables match the option definitions (run npm run docs:options to refresh)', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  assert.equal(readme, withReference(readme));
});
