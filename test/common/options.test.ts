import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { agentOptions } from '../../agent/config.js';
import { ConfigError, helpText, parseOptions } from '../../common/options.js';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseOptions(agentOptions, { argv, env, envPrefix: 'PICAM_' });
const problems = (argv: string[], env: NodeJS.ProcessEnv = {}): string[] => {
  try {
    parse(argv, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
};

test('precedence: flag > environment > config file > default', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-opt-'));
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, 'fps: 7\nwidth: 800\ncameraId: fromfile\nquality: 50\n');
  const { values, origin } = parse(['--config', file, '--fps', '9'], { PICAM_WIDTH: '1024', PICAM_FPS: '3' });
  assert.equal(values.fps, 9);
  assert.equal(origin.fps, 'flag');
  assert.equal(values.width, 1024);
  assert.equal(origin.width, 'env');
  assert.equal(values.cameraId, 'fromfile');
  assert.equal(values.quality, 50);
  assert.equal(values.height, 480);
  assert.equal(origin.height, 'default');
  const json = path.join(dir, 'agent.json');
  fs.writeFileSync(json, JSON.stringify({ fps: 12 }));
  assert.equal(parse([], { PICAM_CONFIG: json }).values.fps, 12);
});

test('every problem is reported at once, naming the field and the fix', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-opt-'));
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, 'fps: -1\ncamera_id: x\nunknownThing: 1\n');
  const found = problems(['--config', file, '--width', '10', '--broker', 'http://x', '--nope']);
  assert.ok(found.some((p) => /"fps" in .*agent\.yaml: -1 is out of range; use 0\.1 to 120/.test(p)), found.join('\n'));
  assert.ok(found.some((p) => /unknown key "camera_id" \(did you mean "cameraId"\?\)/.test(p)), found.join('\n'));
  assert.ok(found.some((p) => /unknown key "unknownThing"/.test(p)));
  assert.ok(found.some((p) => /--width: 10 is out of range; use 16 to 7680/.test(p)));
  assert.ok(found.some((p) => /--broker: "http:\/\/x" is not a broker URL/.test(p)));
  assert.ok(found.some((p) => /unknown option --nope/.test(p)));
});

test('a missing or broken config file is one clear problem', () => {
  assert.match(problems(['--config', '/nonexistent/agent.yaml'])[0]!, /cannot be read \(ENOENT\)/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-opt-'));
  const file = path.join(dir, 'bad.yaml');
  fs.writeFileSync(file, 'fps: [unclosed\n');
  assert.match(problems(['--config', file])[0]!, /is not valid YAML/);
});

test('secrets are refused as flags and never echoed', () => {
  const found = problems(['--password', 'hunter2']);
  assert.match(found[0]!, /--password cannot be given on the command line .* use PICAM_PASSWORD or the config file/);
  assert.ok(!found.join(' ').includes('hunter2'));
  assert.equal(parse([], { PICAM_PASSWORD: 'hunter2' }).values.password, 'hunter2');
  assert.doesNotMatch(helpText(agentOptions, { title: 'title', examples: [], usage: 'usage' }, 'picam-agent', 'PICAM_'), /--password(?!-file)/);
});

test('booleans accept --no-flag and true/false words', () => {
  assert.equal(parse(['--no-loop']).values.loop, false);
  assert.equal(parse(['--loop=false']).values.loop, false);
  assert.equal(parse([], { PICAM_LOOP: 'no' }).values.loop, false);
  assert.equal(parse([]).values.loop, true);
  assert.match(problems(['--loop=maybe'])[0]!, /expected true or false/);
});
