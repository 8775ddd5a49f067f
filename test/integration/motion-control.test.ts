import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Agent } from '../../agent/agent.js';
import { startAgentInProcess } from '../helpers/agent-harness.js';
import type { Viewer } from '../../viewer/viewer.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { retainedText } from '../helpers/mqtt-peek.js';
import { waitFor } from '../helpers/processes.js';
import { startViewerInProcess } from '../helpers/viewer-harness.js';

// The motion detector's live settings through the `set` topic, its stats fields and its retained state,
// over a real mosquitto.

let broker: RunningBroker;
let viewer: Viewer;
const agents: Agent[] = [];
before(async () => {
  broker = await startMosquitto();
  viewer = await startViewerInProcess(broker.url);
});
after(async () => {
  for (const agent of agents) await agent.stop();
  await viewer.stop();
  await broker.stop();
});

async function startAgent(argv: string[]): Promise<Agent> {
  const agent = await startAgentInProcess(broker.url, ['--source', 'synthetic', '--fps', '5', '--width', '160', '--height', '120', '--stats-interval', '1', ...argv]);
  agents.push(agent);
  return agent;
}

test('set changes sensitivity and zones live; stats carry the score and the analysis cost; the state is retained', async () => {
  const agent = await startAgent(['--camera-id', 'mo', '--motion']);
  await waitFor(() => viewer.registry.lookup('mo')?.latest, 10_000, 'first frame');
  const result = await viewer.control('picam/mo', { motion: { threshold: 40, minArea: 2, hold: 3, mask: [[0, 0, 0.5, 1], [0.5, 0.8, 0.5, 0.2]] } });
  assert.equal(result.ok, true, result.error);
  assert.equal(result.settings?.motionThreshold, 40);
  assert.equal(result.settings?.motionMinArea, 2);
  assert.equal(result.settings?.motionZones, 2);
  assert.deepEqual(agent.motion?.current.mask, [{ x: 0, y: 0, w: 0.5, h: 1 }, { x: 0.5, y: 0.8, w: 0.5, h: 0.2 }]);
  const refused = await viewer.control('picam/mo', { motion: { mask: [[0.9, 0, 0.5, 1]] } });
  assert.equal(refused.ok, false);
  assert.match(refused.error ?? '', /motion.mask/);
  assert.equal(agent.motion?.current.mask.length, 2, 'a refused request changes nothing');

  const stats = await waitFor(() => {
    const s = viewer.registry.lookup('mo')?.agentStats?.motion as Record<string, number> | undefined;
    return s && (s.analysed ?? 0) > 0 ? s : undefined;
  }, 10_000, 'stats with analysed frames');
  for (const key of ['score', 'peak', 'analysed', 'skipped', 'failed', 'analysisMs', 'busyPct', 'events']) assert.equal(typeof stats[key], 'number', key);
  // The synthetic pattern moves: whether it counts as motion depends on the settings; the state is one of the two.
  assert.ok(['ON', 'OFF'].includes(String(stats.state)));
  assert.ok(['ON', 'OFF'].includes((await retainedText(broker.url, 'picam/mo/motion')) ?? ''), 'the state is retained');
});

test('a camera without --motion refuses motion settings', async () => {
  await startAgent(['--camera-id', 'still']);
  await waitFor(() => viewer.registry.lookup('still')?.latest, 10_000, 'first frame');
  const result = await viewer.control('picam/still', { motion: { threshold: 10 } });
  assert.equal(result.ok, false);
  assert.match(result.error ?? '', /--motion/);
});
