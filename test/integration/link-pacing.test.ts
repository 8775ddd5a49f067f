import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { buildAgentInProcess } from '../helpers/agent-harness.js';
import { LinkEmulator } from '../../harness/link-emulator.js';
import { LinkReceiver } from '../../harness/link-receiver.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { AGENT_CLI, waitFor, runNode } from '../helpers/processes.js';

// The agent over emulated wide-area links (harness/link-emulator.ts: delay each way, a rate limit and a
// bounded queue), to a real broker: the round trip must not cost frames or quality, a narrow link must.

let broker: RunningBroker;

before(async () => { broker = await startMosquitto(); });
after(async () => { await broker.stop(); });

const latenciesMs = (receiver: LinkReceiver, from: number): number[] => receiver.since(from).map((a) => (a.arrivedUs - a.capturedAtUs) / 1000);
const p95 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.95) - 1]!;

/** Waits for `count` more frames and returns the rate they came at. */
async function rateOver(receiver: LinkReceiver, count: number, timeoutMs: number): Promise<{ fps: number; from: number }> {
  const from = receiver.arrivals.length;
  await waitFor(() => (receiver.arrivals.length >= from + count + 1 ? true : undefined), timeoutMs, `${count} frames`);
  const window = receiver.arrivals.slice(from, from + count + 1);
  return { fps: count / ((window.at(-1)!.arrivedUs - window[0]!.arrivedUs) / 1e6), from };
}

test('a 100 ms round trip with room to spare costs no frames and no quality', async () => {
  const link = new LinkEmulator({ host: '127.0.0.1', port: broker.port }, { rttMs: 100 });
  await link.start();
  const { logger, lines } = memoryLogger('agent');
  const { agent } = buildAgentInProcess(link.url, ['--camera-id', 'far', '--source', 'synthetic', '--fps', '30', '--adapt-interval', '0.5'], { logger });
  const receiver = await LinkReceiver.start(broker.url, { kind: 'picam', prefix: 'picam', cameraId: 'far' });
  try {
    await agent.start();
    await waitFor(() => (receiver.arrivals.length > 30 ? true : undefined), 20_000, 'the stream to start');
    const { fps, from } = await rateOver(receiver, 120, 30_000);
    console.log(`# 100 ms round trip: ${fps.toFixed(1)} fps of 30, p95 capture to arrival ${p95(latenciesMs(receiver, from)).toFixed(0)} ms`);
    assert.ok(fps >= 0.8 * 30, `${fps.toFixed(1)} fps arrived; the camera gives 30`);
    assert.equal(agent.adaptive!.level, 0);
    assert.deepEqual(lines.filter((l) => l.includes('adaptive quality step')), [], 'quality and rate never stepped down');
    assert.equal(receiver.corrupt, 0);
  } finally {
    await agent.stop();
    await receiver.stop();
    await link.stop();
  }
});

test('on a 1 Mbit/s link frames stay whole and timely, quality steps down and comes back when the link widens, memory stays flat', async () => {
  const link = new LinkEmulator({ host: '127.0.0.1', port: broker.port }, { rttMs: 100, upBitsPerSecond: 1e6 });
  await link.start();
  const receiver = await LinkReceiver.start(broker.url, { kind: 'picam', prefix: 'picam', cameraId: 'narrow' });
  const agent = runNode(AGENT_CLI, ['--broker', link.url, '--camera-id', 'narrow', '--source', 'synthetic', '--fps', '15', '--quality', '90', '--adapt-interval', '1', '--stats-interval', '1']);
  try {
    const stepped = await waitFor(() => {
      const stats = receiver.latestStats();
      return typeof stats?.adaptiveLevel === 'number' && stats.adaptiveLevel > 0 ? stats : undefined;
    }, 30_000, 'adaptive quality to step down');
    assert.ok(typeof stepped.quality === 'number' && stepped.quality < 90, `quality ${String(stepped.quality)}`);
    // Settled: the same settings over five stats messages in a row.
    await waitFor(() => {
      const last = receiver.stats.slice(-5).map((s) => `${String(s.stats.quality)}@${String(s.stats.targetFps)}`);
      return last.length === 5 && new Set(last).size === 1 ? true : undefined;
    }, 40_000, 'the settings to settle');
    const rssBefore = residentMb(agent.child.pid!);
    const { fps, from } = await rateOver(receiver, 40, 60_000);
    const latencies = latenciesMs(receiver, from);
    const frameBytes = receiver.since(from).reduce((n, a) => n + a.bytes, 0) / latencies.length;
    const bound = 50 + (frameBytes * 8 / 1e6) * 1000 + 100;
    const rssAfter = residentMb(agent.child.pid!);
    console.log(`# 1 Mbit/s: q${String(receiver.latestStats()?.quality)} at ${String(receiver.latestStats()?.targetFps)} fps, ${fps.toFixed(1)} fps arrived, ${(frameBytes / 1000).toFixed(1)} kB frames, p95 ${p95(latencies).toFixed(0)} ms (target ${bound.toFixed(0)}), agent RSS ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MB`);
    assert.equal(receiver.corrupt, 0, 'every frame intact');
    assert.ok(p95(latencies) < 3 * bound, `p95 ${p95(latencies).toFixed(0)} ms; the target is ${bound.toFixed(0)} ms`);
    assert.ok(rssAfter - rssBefore < 25, `agent RSS ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MB`);

    link.setShape({ rttMs: 100 });
    await waitFor(() => {
      const stats = receiver.latestStats();
      return stats?.adaptiveLevel === 0 && stats.quality === 90 && stats.targetFps === 15 ? true : undefined;
    }, 45_000, 'full quality and rate once the link widened');
  } finally {
    await agent.stop();
    await receiver.stop();
    await link.stop();
  }
});

function residentMb(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}
