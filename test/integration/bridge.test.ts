import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Agent } from '../../agent/agent.js';
import type { Viewer } from '../../viewer/viewer.js';
import { startAgentInProcess } from '../helpers/agent-harness.js';
import { ansibleAvailable, renderDeployTemplate } from '../helpers/ansible-template.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { waitFor, sleep } from '../helpers/processes.js';
import { startViewerInProcess } from '../helpers/viewer-harness.js';

// Fleet: an edge Mosquitto (the Pi's) bridged to a central one with the bridge configuration the playbook
// renders. Frames from an agent on the edge reach a viewer on the central broker byte-identical, under the
// site prefix; with the central broker gone the local viewer keeps streaming and the edge broker's memory stays
// bounded; when it is back, the central viewer resumes.

const skip = ansibleAvailable() ? false : 'ansible is not installed (apt-get install ansible; bash .ci/run does)';

let central: RunningBroker;
let edge: RunningBroker;
let agent: Agent;
let localViewer: Viewer;
let centralViewer: Viewer;
let frames: Buffer[];
let centralPort: number;
let passwordFile: string;

/** The central broker: accounts only (the bridge's and a viewer's), from a hashed password file. */
function startCentral(port?: number): Promise<RunningBroker> {
  if (!passwordFile) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-central-'));
    passwordFile = path.join(dir, 'passwd');
    fs.writeFileSync(passwordFile, 'edge-pi:bridge-secret\nviewer:viewer-secret\n');
    const result = spawnSync('mosquitto_passwd', ['-U', passwordFile]);
    assert.equal(result.status, 0, String(result.stderr));
    // Started as root, mosquitto reads the file after dropping to its own user.
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(passwordFile, 0o644);
  }
  return startMosquitto({ anonymous: false, port, extraConfig: [`password_file ${passwordFile}`] });
}

before(async () => {
  if (skip) return;
  central = await startCentral();
  centralPort = central.port;
  const bridge = renderDeployTemplate('roles/mosquitto/templates/picam-bridge.conf.j2', {
    picam_bridge_name: 'picam-edge-pi',
    picam_bridge_address: '127.0.0.1',
    picam_bridge_port: centralPort,
    picam_bridge_tls: false,
    picam_bridge_username: 'edge-pi',
    picam_bridge_password: 'bridge-secret',
    picam_bridge_remote_prefix: 'picam/site1',
    picam_bridge_camera_ids: ['door'],
    picam_bridge_restart_timeout: '1 3',
    picam_topic_prefix: 'picam',
  });
  const limits = renderDeployTemplate('roles/mosquitto/templates/picam-limits.conf.j2', {});
  const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  edge = await startMosquitto({ extraConfig: [...lines(limits), ...lines(bridge)] });
  const folder = await makeJpegFolder(6, 320, 240);
  frames = folder.frames;
  agent = await startAgentInProcess(edge.url, ['--camera-id', 'door', '--source', `file:${folder.dir}`, '--fps', '10']);
  localViewer = await startViewerInProcess(edge.url);
  centralViewer = await startViewerInProcess(`mqtt://127.0.0.1:${centralPort}`, ['--prefix', 'picam/+', '--username', 'viewer'], { PICAM_TEST_VIEWER_PASSWORD: 'viewer-secret' });
});
after(async () => {
  if (skip) return;
  await agent?.stop();
  await localViewer?.stop();
  await centralViewer?.stop();
  await edge?.stop();
  await central?.stop();
});

const delivered = (viewer: Viewer, key: string): number => viewer.receiver.reassembler.counters(key)?.framesDelivered ?? 0;

function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

test('frames from the edge reach a viewer on the central broker byte-identical, under the site prefix', { skip }, async () => {
  await waitFor(() => (delivered(centralViewer, 'picam/site1/door') >= 10 ? true : undefined), 20_000, '10 frames on the central broker');
  const camera = centralViewer.registry.find('picam/site1/door')!;
  assert.equal(camera.status, 'online', 'retained status crossed the bridge');
  assert.equal(camera.info?.cameraId, 'door');
  assert.ok(frames.some((f) => f.equals(camera.latest!.frame.data)), 'byte-identical');
  assert.equal(centralViewer.receiver.reassembler.counters('picam/site1/door')!.framesCorrupt, 0);
});

test('with the central broker down the local viewer keeps streaming and the edge broker stays bounded; it resumes after', { skip }, async () => {
  const rssBefore = rssKiB(edge.process.pid!);
  await central.kill();
  const localBefore = delivered(localViewer, 'picam/door');
  await sleep(4000); // the outage under test: long enough for the bridge to retry (every 1 to 3 s) while the edge streams on
  const localDuring = delivered(localViewer, 'picam/door') - localBefore;
  const rssDuring = rssKiB(edge.process.pid!);
  console.log(`# bridge: central down 4 s: local viewer got ${localDuring} frames; edge mosquitto RSS ${rssBefore} → ${rssDuring} KiB`);
  assert.ok(localDuring >= 25, `local stream continues: ${localDuring} frames in 4 s at 10 fps`);
  assert.ok(rssDuring - rssBefore < 8 * 1024, `edge broker memory bounded: grew ${rssDuring - rssBefore} KiB while ~${Math.round(localDuring * frames[0]!.length / 1024)} KiB of video passed`);

  central = await startCentral(centralPort);
  const restartedAt = Date.now();
  const centralBefore = delivered(centralViewer, 'picam/site1/door');
  await waitFor(() => (delivered(centralViewer, 'picam/site1/door') >= centralBefore + 5 ? true : undefined), 10_000, 'central viewer resumes within 10 s');
  console.log(`# bridge: central viewer resumed ${Date.now() - restartedAt} ms after the central broker came back`);
});
