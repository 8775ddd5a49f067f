import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { retainedText } from '../helpers/mqtt-peek.js';
import { liveBytes, maxIn, mib, probeEnv } from '../helpers/probe-reader.js';
import { waitFor, sleep, type RunningProcess } from '../helpers/processes.js';
import { TopicMonitor } from '../helpers/stats-monitor.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { checkSavedFrames, spawnAgent, spawnViewer, type RunningViewer, stopWithin } from '../helpers/stream-rig.js';

// Network loss between agent and broker, made by a TCP relay in between (test/helpers/tcp-proxy.ts). The
// viewer and a status monitor talk to the broker directly, so they see what the broker makes of the loss.

interface AgentStats { framesCaptured: number; framesSent: number; framesDropped: number; drops: { offline: number; busy: number }; connected: boolean; adaptiveLevel?: number; targetFps?: number }

let broker: RunningBroker;
let viewer: RunningViewer;
let monitor: TopicMonitor;
let source: { dir: string; frames: Buffer[] };
const cleanup: Array<() => Promise<unknown>> = [];

before(async () => {
  broker = await startMosquitto();
  source = await makeJpegFolder(8, 640, 480);
  viewer = await spawnViewer(broker.url);
  monitor = new TopicMonitor(broker.url, ['picam/+/status', 'picam/+/stats']);
  await monitor.start();
});
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  await monitor.stop();
  await viewer.process.stop('SIGKILL');
  await broker.stop();
});

const delivered = async (id: string): Promise<number> => (await viewer.counters(id))?.framesDelivered ?? 0;

async function streamThroughProxy(id: string, extraArgs: string[] = []) {
  const proxy = new FaultProxy({ host: '127.0.0.1', port: broker.port });
  await proxy.start();
  cleanup.push(() => proxy.stop());
  const probe = probeEnv(id, 250, true);
  const agent = spawnAgent(proxy.url, id, source.dir, 30, ['--chunk-size', '16384', ...extraArgs], probe.env);
  cleanup.push(() => agent.stop('SIGKILL'));
  await agent.waitFor(/first frame published/);
  await waitFor(async () => (await delivered(id)) >= 30 || undefined, 20_000, `30 frames from ${id}`);
  return { proxy, agent, probe };
}

/** Brings the link back and times the agent's reconnect and the viewer's first new frame of `id` from that moment. */
async function restoreAndTime(proxy: FaultProxy, agent: RunningProcess, id: string, before: number, what: string): Promise<{ restoredAt: number; reconnectMs: number; resumeMs: number }> {
  const reconnected = agent.waitFor(/reconnected to broker/, 20_000).then(() => Date.now());
  const restoredAt = Date.now();
  proxy.restore();
  const reconnectMs = (await reconnected) - restoredAt;
  await waitFor(async () => (await delivered(id)) > before || undefined, 10_000, what);
  return { restoredAt, reconnectMs, resumeMs: Date.now() - restoredAt };
}

test('network cut (connections reset, new ones refused) for 3 s: will published, agent reconnects and streams within 2 s of the network coming back', async () => {
  // The camera stays at 30 fps: adaptive quality, which may lower the rate on a loaded machine before the cut, is
  // not what this test is about (the half-open test below reports it).
  const { proxy, agent } = await streamThroughProxy('cut', ['--no-adaptive']);
  const statsBefore = await waitFor(() => monitor.json<AgentStats>('picam/cut/stats').at(-1), 5000, 'stats before the cut');
  const before = await delivered('cut');
  const cutAt = Date.now();
  proxy.cut();
  const offline = await waitFor(() => monitor.texts('picam/cut/status', cutAt).find((s) => s.text === 'offline'), 5000, 'offline (last will) after the cut');
  // The outage under test: by 3 s the agent's reconnect backoff has reached its ceiling (1 s), as in any longer one.
  await sleep(3000 - (Date.now() - cutAt));
  assert.ok(proxy.accepted > 2, `the agent kept trying while cut (${proxy.accepted - 1} attempts)`);
  const { restoredAt, reconnectMs, resumeMs } = await restoreAndTime(proxy, agent, 'cut', before, 'a frame after the cut');
  assert.equal(await retainedText(broker.url, 'picam/cut/status'), 'online');
  const statsAfter = await waitFor(() => monitor.json<AgentStats>('picam/cut/stats', restoredAt).find((s) => s.connected), 10_000, 'stats after the cut');
  const dropped = statsAfter.drops.offline - statsBefore.drops.offline;
  // The camera gives 30 fps; 10 is allowed for a starved machine. The count itself is checked just below.
  const rates = (st: AgentStats): string => `captured ${st.framesCaptured}, sent ${st.framesSent}, dropped ${JSON.stringify(st.drops)}, adaptive level ${st.adaptiveLevel ?? '-'} at ${st.targetFps ?? '-'} fps`;
  assert.ok(dropped >= 3 * 10, `frames captured while cut are dropped and counted (${dropped}); before: ${rates(statsBefore)}; after: ${rates(statsAfter)}`);
  assert.ok(statsAfter.framesCaptured - statsAfter.framesSent - statsAfter.framesDropped <= 3, 'nothing queued: at most 2 frames in flight and 1 waiting');
  const saved = checkSavedFrames(viewer.saveDir, 'cut', source.frames);
  assert.equal(await stopWithin(agent), 0, agent.output());
  console.log(`# network cut 3 s: will 'offline' ${offline.at - cutAt} ms after the cut; ${proxy.accepted - 1} connection attempts while cut; ` +
    `agent reconnected ${reconnectMs} ms and viewer got a new frame ${resumeMs} ms after the network was back; dropped while cut ${dropped}; saved ${saved.length} byte-identical`);
  assert.ok(resumeMs <= 2000, `streaming resumed ${resumeMs} ms after the network was back (must be within 2 s)`);
});

test('half-open link (bytes stop, nothing closes): keepalive detects it on both ends, no connection left hanging, streaming resumes', async () => {
  const { proxy, agent, probe } = await streamThroughProxy('halfopen', ['--keepalive', '2']);
  await sleep(2000); // a window of normal streaming to compare memory with
  const statsBefore = await waitFor(() => monitor.json<AgentStats>('picam/halfopen/stats').at(-1), 5000, 'stats before the freeze');
  const before = await delivered('halfopen');
  const frozenAt = Date.now();
  proxy.freeze();
  const detected = agent.waitFor(/Keepalive timeout/, 10_000).then(() => Date.now());
  // Mosquitto checks keepalives every few seconds, so its verdict takes up to about 1.5 × 2 s + 5 s. The link
  // stays dead until both ends have noticed.
  const will = await waitFor(() => monitor.texts('picam/halfopen/status', frozenAt).find((s) => s.text === 'offline'), 10_000, 'the will: the broker noticed the silent client by keepalive');
  const detectedMs = (await detected) - frozenAt;
  assert.ok(will.at - frozenAt <= 10_000);
  const { restoredAt, reconnectMs, resumeMs } = await restoreAndTime(proxy, agent, 'halfopen', before, 'a frame after the half-open link');
  // The dead connection is gone on both sides: only the new one remains through the relay, and the broker
  // dropped the old one by its own keepalive check.
  await waitFor(() => (proxy.linkCount === 1 ? true : undefined), 5000, 'one live connection through the relay');
  assert.match(broker.log(), /picam-agent-halfopen-[0-9a-f]+ has exceeded timeout, disconnecting/);
  assert.equal(await retainedText(broker.url, 'picam/halfopen/status'), 'online');
  const statsAfter = await waitFor(() => monitor.json<AgentStats>('picam/halfopen/stats', restoredAt).find((s) => s.connected), 10_000, 'stats after');
  // While the agent still believes in the link, frames wait for acknowledgements that never come and are
  // dropped as busy, so adaptive quality lowers the frame rate (down to 2 fps); after that they are dropped
  // as offline. Either way each captured frame is sent or counted.
  const captured = statsAfter.framesCaptured - statsBefore.framesCaptured;
  const sent = statsAfter.framesSent - statsBefore.framesSent;
  const dropped = statsAfter.framesDropped - statsBefore.framesDropped;
  assert.ok(Math.abs(captured - sent - dropped) <= 3, `every frame captured across the dead link was sent or dropped and counted (captured ${captured}, sent ${sent}, dropped ${dropped})`);
  assert.ok(dropped >= ((restoredAt - frozenAt) / 1000) * 2, `frames captured while the link was dead (${restoredAt - frozenAt} ms, at least 2 fps) are dropped and counted (${dropped})`);
  assert.ok(statsAfter.framesCaptured - statsAfter.framesSent - statsAfter.framesDropped <= 3, 'nothing queued: at most 2 frames in flight and 1 waiting');
  const samples = probe.samples();
  const growth = maxIn(samples, frozenAt, restoredAt, (s) => s.rss) - maxIn(samples, frozenAt - 2000, frozenAt, (s) => s.rss);
  const liveGrowth = maxIn(samples, frozenAt, restoredAt, liveBytes) - maxIn(samples, frozenAt - 2000, frozenAt, liveBytes);
  assert.ok(liveGrowth < 4 * 1024 * 1024, `agent live memory grew ${mib(liveGrowth)} MiB while the link was dead`);
  assert.ok(growth < 16 * 1024 * 1024, `agent RSS grew ${mib(growth)} MiB while the link was dead`);
  const saved = checkSavedFrames(viewer.saveDir, 'halfopen', source.frames);
  assert.equal(await stopWithin(agent), 0, agent.output());
  console.log(`# half-open ${restoredAt - frozenAt} ms (keepalive 2 s): agent detected it ${detectedMs} ms after the freeze, broker published the will after ${will.at - frozenAt} ms; ` +
    `agent reconnected ${reconnectMs} ms and viewer got a new frame ${resumeMs} ms after the link was back; captured ${captured}, sent ${sent}, dropped ${dropped} ` +
    `(offline ${statsAfter.drops.offline - statsBefore.drops.offline}, busy ${statsAfter.drops.busy - statsBefore.drops.busy}; adaptive level ${statsAfter.adaptiveLevel}, ${statsAfter.targetFps} fps just after); growth while dead: RSS ${mib(growth)} MiB, live heap+buffers ${mib(liveGrowth)} MiB; saved ${saved.length} byte-identical`);
  assert.ok(detectedMs <= 1.5 * 2000 + 1000, `keepalive noticed the dead link in ${detectedMs} ms (1.5 × keepalive)`);
  assert.ok(resumeMs <= 2000, `streaming resumed ${resumeMs} ms after the link was back (must be within 2 s)`);
});

test('the first connection attempt after the network comes back is lost (a SYN a loaded machine drops): the next one gets through and streaming resumes within 2 s', async () => {
  const { proxy, agent } = await streamThroughProxy('swallowed');
  const before = await delivered('swallowed');
  const attemptsBefore = proxy.accepted;
  proxy.cut();
  // Four attempts refused: the reconnect backoff (200 ms doubling, jittered) is at its ceiling of about one a second.
  await waitFor(() => proxy.accepted >= attemptsBefore + 4, 10_000, 'four refused attempts');
  const attemptsWhileCut = proxy.accepted;
  // The attempt that would have found the broker back hangs unanswered: what cost 8 to 9.5 s on a busy
  // machine, when an attempt waited out a 5 s connect timeout.
  proxy.swallowNext(1);
  const { reconnectMs, resumeMs } = await restoreAndTime(proxy, agent, 'swallowed', before, 'a frame after the lost attempt');
  assert.ok(proxy.accepted >= attemptsWhileCut + 2, 'the lost attempt was given up and a new one made');
  assert.equal(await stopWithin(agent), 0, agent.output());
  console.log(`# lost connection attempt: agent reconnected ${reconnectMs} ms and viewer got a new frame ${resumeMs} ms after the network was back (${proxy.accepted - attemptsWhileCut} attempts from then)`);
  // Measured about 1 s; the margin is for a loaded machine (the old 5 s connect timeout made it 5.5 s and more).
  assert.ok(resumeMs <= 3000, `streaming resumed ${resumeMs} ms after the network was back (target 2 s)`);
});
