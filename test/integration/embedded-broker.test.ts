import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { Aedes } from 'aedes';
import type { Viewer } from '../../viewer/viewer.js';
import { startAgentInProcess } from '../helpers/agent-harness.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { waitFor } from '../helpers/processes.js';
import { startViewerInProcess } from '../helpers/viewer-harness.js';

// "Any standard broker": the same agent and viewer, unchanged, against the embedded broker the demo uses
// (aedes, MQTT 3.1.1 only, no Maximum Packet Size to learn).

let aedes: Aedes;
let server: net.Server;
let url: string;
before(async () => {
  aedes = await Aedes.createBroker();
  server = net.createServer((socket) => aedes.handle(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
});

test('agent → aedes → viewer over MQTT 3.1.1: frames intact, retained info and status', async () => {
  const { dir, frames } = await makeJpegFolder(4);
  const agent = await startAgentInProcess(url, ['--camera-id', 'emb', '--source', `file:${dir}`, '--mqtt-version', '4', '--chunk-size', '3000', '--fps', '20']);
  let viewer: Viewer | undefined;
  try {
    viewer = await startViewerInProcess(url, ['--mqtt-version', '4']);
    const camera = await waitFor(() => {
      const c = viewer!.registry.lookup('emb');
      return c?.info && c.status === 'online' && (viewer!.receiver.reassembler.counters(c.key)?.framesDelivered ?? 0) >= 10 ? c : undefined;
    }, 10_000, '10 frames through aedes');
    assert.ok(frames.some((f) => f.equals(camera.latest!.frame.data)));
    assert.equal(viewer.receiver.reassembler.counters(camera.key)!.framesCorrupt, 0);
  } finally {
    await agent.stop();
    await viewer?.stop();
  }
});
