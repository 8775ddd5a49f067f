import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { agentOptions, AGENT_ENV_PREFIX, exactSettings } from '../../agent/config.js';
import { parseOptions } from '../../common/options.js';
import { ansibleAvailable, renderDeployTemplate } from '../helpers/ansible-template.js';

// The agent config the playbook writes, rendered by Ansible as the playbook does and read by the agent's own
// option parser: the role's defaults must not turn the camera's frames into re-encoded ones.

const skip = ansibleAvailable() ? false : 'ansible is not installed (bash .ci/run installs it)';
const TEMPLATE = 'roles/picam_agent/templates/agent.yaml.j2';
const HOST = { inventory_hostname: 'pi-garden.local', picam_broker_url: 'mqtt://127.0.0.1:1883' };

function agentConfig(vars: Record<string, unknown>): ReturnType<typeof parseOptions<typeof agentOptions>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-agent-yaml-'));
  try {
    const file = path.join(dir, 'agent.yaml');
    fs.writeFileSync(file, renderDeployTemplate(TEMPLATE, { ...HOST, ...vars }));
    return parseOptions(agentOptions, { argv: ['--config', file], env: {}, envPrefix: AGENT_ENV_PREFIX });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('the role\'s defaults leave size and quality to the camera: nothing is made exact, so nothing is re-encoded', { skip }, () => {
  const text = renderDeployTemplate(TEMPLATE, HOST);
  const doc = YAML.parse(text) as Record<string, unknown>;
  assert.ok(!('width' in doc) && !('height' in doc) && !('quality' in doc), text);
  const parsed = agentConfig({});
  assert.deepEqual(exactSettings(parsed.origin), { size: false, quality: false });
  assert.equal(parsed.values.cameraId, 'pi-garden');
  assert.equal(parsed.values.fps, 15);
});

test('size and quality set for a host are written, as numbers, and are exact', { skip }, () => {
  const parsed = agentConfig({ picam_agent_width: '1280', picam_agent_height: 720, picam_agent_quality: 70 });
  assert.deepEqual([parsed.values.width, parsed.values.height, parsed.values.quality], [1280, 720, 70]);
  assert.deepEqual(exactSettings(parsed.origin), { size: true, quality: true });
});
