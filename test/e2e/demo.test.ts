import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../harness/mosquitto.js';
import { descendants } from '../helpers/process-table.js';
import { ROOT, waitFor, runNode } from '../helpers/processes.js';

// `npm run demo` as a newcomer runs it (on free ports instead of 1883 and 8080, with no desktop): three
// cameras, each showing what it is there to show, the hints printed, and Ctrl-C leaving nothing behind.

interface DemoCamera { cameraId: string; status: string; width?: number; height?: number; expectedFps?: number; lastSeq?: number; processing?: string[]; control?: unknown }

test('npm run demo: three cameras (overlay, rotated, slow) on the page, what to try printed, Ctrl-C stops every part', async () => {
  const brokerPort = await freePort();
  const listen = `127.0.0.1:${await freePort()}`;
  const demo = runNode(path.join(ROOT, 'dist/demo/demo.js'), [], { PICAM_DEMO_BROKER_PORT: String(brokerPort), PICAM_VIEWER_LISTEN: listen, DISPLAY: '', WAYLAND_DISPLAY: '' });
  try {
    await demo.waitFor(/things to try:[\s\S]*watch the wire[\s\S]*result/);
    const hints = demo.output();
    for (const hint of [/enlarge/, /Snapshot/, /Record/, /control panel/, new RegExp(`mosquitto_sub -h 127\\.0\\.0\\.1 -p ${brokerPort} -t 'picam/#' -v`)]) assert.match(hints, hint);
    assert.match(hints, new RegExp(`open http://${listen.replace(/\./g, '\\.')} in a browser`), 'no desktop: the URL to open by hand, no --open');
    const cameras = await waitFor(async () => {
      const response = await fetch(`http://${listen}/api/cameras`).catch(() => undefined);
      if (!response?.ok) return undefined;
      const list = ((await response.json()) as { cameras: DemoCamera[] }).cameras;
      const live = list.filter((c) => c.status === 'online' && (c.lastSeq ?? -1) >= 1);
      return live.length === 3 ? new Map(live.map((c) => [c.cameraId, c])) : undefined;
    }, 30_000, 'three demo cameras online with frames');
    const front = cameras.get('front-door')!;
    const side = cameras.get('side-gate')!;
    const slow = cameras.get('garden')!;
    assert.ok(front.processing?.some((p) => /overlay/.test(p)), `front-door draws an overlay: ${JSON.stringify(front.processing)}`);
    assert.deepEqual([side.width, side.height], [480, 640], 'side-gate is turned upright');
    assert.equal(slow.expectedFps, 2);
    assert.ok(front.control && side.control && slow.control, 'every camera offers the control panel');
  } finally {
    const before = demo.child.pid === undefined ? [] : descendants(demo.child.pid);
    const code = await demo.stop('SIGINT');
    assert.equal(code, 0, demo.output());
    assert.deepEqual(before.filter((pid) => { try { process.kill(pid, 0); return true; } catch { return false; } }), [], 'no part of the demo left running');
  }
});
