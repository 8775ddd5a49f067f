import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { median, mib, probeEnv, type ProbeSample } from '../helpers/probe-reader.js';
import { sleep, waitFor } from '../helpers/processes.js';
import { checkSavedFrames, spawnAgent, spawnViewer, stopWithin } from '../helpers/stream-rig.js';

// Soak: picam-agent streams at 30 fps to picam-viewer through mosquitto for PICAM_SOAK_SECONDS (120 by
// default, as in CI; set it higher for a long run). Both processes carry a probe that samples RSS, heap
// and event-loop delay every second. Steady growth fails the test: the median of the last third of the
// run is compared with the first third, with a generous margin (this machine is shared).

const SECONDS = Number(process.env.PICAM_SOAK_SECONDS ?? 120);
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => { for (const c of cleanup.reverse()) await c().catch(() => undefined); });

interface Thirds { first: number; last: number }

function thirds(samples: ProbeSample[], pick: (s: ProbeSample) => number): Thirds {
  const n = Math.floor(samples.length / 3);
  return { first: median(samples.slice(0, n).map(pick)), last: median(samples.slice(-n).map(pick)) };
}

function report(name: string, samples: ProbeSample[]): { rss: Thirds; heap: Thirds; el: Thirds; text: string } {
  const rss = thirds(samples, (s) => s.rss);
  const heap = thirds(samples, (s) => s.heapUsed + s.arrayBuffers);
  const el = thirds(samples, (s) => s.elP99Ms);
  const maxEl = Math.max(...samples.map((s) => s.elMaxMs));
  const text = `${name}: RSS ${mib(samples[0]!.rss)} MiB at start, ${mib(samples.at(-1)!.rss)} MiB at end, median first/last third ${mib(rss.first)}/${mib(rss.last)} MiB; ` +
    `heap+buffers ${mib(heap.first)}/${mib(heap.last)} MiB; event-loop delay p99 ${el.first.toFixed(1)}/${el.last.toFixed(1)} ms (max ${maxEl.toFixed(1)} ms)`;
  return { rss, heap, el, text };
}

function assertNoGrowth(name: string, r: ReturnType<typeof report>): void {
  assert.ok(r.rss.last <= r.rss.first * 1.25 + 16 * 1024 * 1024, `${name} RSS grows: ${r.text}`);
  assert.ok(r.heap.last <= r.heap.first * 1.5 + 16 * 1024 * 1024, `${name} heap grows: ${r.text}`);
  assert.ok(r.el.last <= r.el.first * 2 + 20, `${name} event-loop delay grows: ${r.text}`);
}

test(`soak: ${SECONDS} s at 30 fps, agent and viewer memory and event-loop delay stay flat`, { timeout: (SECONDS + 120) * 1000 }, async () => {
  assert.ok(SECONDS >= 30, 'PICAM_SOAK_SECONDS must be at least 30 (thirds of the run are compared)');
  const broker: RunningBroker = await startMosquitto();
  cleanup.push(() => broker.stop());
  const source = await makeJpegFolder(30, 640, 480);
  const viewerProbe = probeEnv('viewer');
  const viewer = await spawnViewer(broker.url, [], viewerProbe.env);
  cleanup.push(() => viewer.process.stop('SIGKILL'));
  const agentProbe = probeEnv('agent');
  const agent = spawnAgent(broker.url, 'soak', source.dir, 30, ['--chunk-size', '16384', '--stats-interval', '5'], agentProbe.env);
  cleanup.push(() => agent.stop('SIGKILL'));
  await agent.waitFor(/first frame published/);
  const startedAt = Date.now();
  while (Date.now() - startedAt < SECONDS * 1000) {
    await sleep(1000); // the soak's length is what is tested; each second, both must still be alive
    assert.equal(agent.child.exitCode, null, 'agent alive');
    assert.equal(viewer.process.child.exitCode, null, 'viewer alive');
  }
  const counters = (await viewer.counters('soak'))!;
  assert.equal(await stopWithin(agent), 0, agent.output());
  const [, sent, dropped] = agent.output().match(/agent stopped framesSent=(\d+) framesDropped=(\d+)/)!.map(Number) as [number, number, number];
  // The last frames the agent sent reach the viewer just after it stopped; the assertion below says by how much if not.
  await waitFor(async () => ((await viewer.counters('soak'))?.framesDelivered ?? 0) >= sent * 0.98, 5000, 'the last frames at the viewer').catch(() => undefined);
  const final = (await viewer.counters('soak'))!;
  assert.equal(await stopWithin(viewer.process), 0, viewer.process.output());
  const saved = checkSavedFrames(viewer.saveDir, 'soak', source.frames);

  // Samples from when streaming began; the first seconds (start-up, JIT warm-up) are left out.
  const window = (s: ProbeSample): boolean => s.t >= startedAt + 5000 && s.t <= startedAt + SECONDS * 1000;
  const agentReport = report('agent', agentProbe.samples().filter(window));
  const viewerReport = report('viewer', viewerProbe.samples().filter(window));
  const fps = counters.framesDelivered / SECONDS;
  console.log(`# soak ${SECONDS} s: agent sent ${sent} frames, dropped ${dropped}; viewer delivered ${final.framesDelivered} (${fps.toFixed(1)} fps), ` +
    `missed ${final.framesMissed}, incomplete ${final.framesIncomplete}, corrupt ${final.framesCorrupt}, saved ${saved.length} byte-identical`);
  console.log(`# soak ${agentReport.text}`);
  console.log(`# soak ${viewerReport.text}`);
  assert.equal(final.framesCorrupt, 0);
  assert.ok(final.framesDelivered >= sent * 0.98, `viewer delivered ${final.framesDelivered} of ${sent} sent`);
  assert.ok(sent >= SECONDS * 30 * 0.8, `the agent kept up about 30 fps (${sent} frames in ${SECONDS} s)`);
  assertNoGrowth('agent', agentReport);
  assertNoGrowth('viewer', viewerReport);
});
