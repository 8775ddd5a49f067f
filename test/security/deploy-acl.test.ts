import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { after, before, test } from 'node:test';
import { receiverSubscriptions } from '../../protocol/topics.js';
import type { Viewer } from '../../viewer/viewer.js';
import { ansibleAvailable, renderDeployTemplate } from '../helpers/ansible-template.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { publishOutcome } from '../helpers/mqtt-peek.js';
import { AGENT_CLI, ROOT, waitFor, runNode, sleep, type RunningProcess } from '../helpers/processes.js';
import { TopicMonitor } from '../helpers/stats-monitor.js';
import { startViewerInProcess } from '../helpers/viewer-harness.js';

// The ACL the deploy writes (deploy/roles/mosquitto/templates/picam.acl.j2, rendered by Ansible's template
// module as the playbook does) in a real mosquitto: the rights of docs/examples/mosquitto/acl, line for line,
// and what they mean for each account. `monitor` (reads #) is added by this test only, to see whether a
// refused message reached anybody.

const skip = ansibleAvailable() ? false : 'ansible is not installed (apt-get install ansible; bash .ci/run does)';

const ACCOUNTS = ['viewer', 'operator', 'cam-garden', 'cam-front-door', 'monitor'] as const;
type Account = (typeof ACCOUNTS)[number];
const KINDS = ['frame', 'status', 'info', 'stats', 'result', 'snapshot', 'motion', 'event'] as const;

let dir: string;
let broker: RunningBroker;
let rendered: string;
let monitor: TopicMonitor;
const passwords = Object.fromEntries(ACCOUNTS.map((a) => [a, `${a}-${crypto.randomBytes(9).toString('base64url')}`])) as Record<Account, string>;
const cleanup: Array<() => Promise<unknown>> = [];

before(async () => {
  if (skip) return;
  rendered = renderDeployTemplate('roles/mosquitto/templates/picam.acl.j2', {
    picam_mosquitto_viewer: { username: 'viewer', password: passwords.viewer },
    picam_mosquitto_operator: { username: 'operator', password: passwords.operator },
    picam_mosquitto_cameras: [
      { username: 'cam-garden', password: passwords['cam-garden'], camera_id: 'garden' },
      { username: 'cam-front-door', password: passwords['cam-front-door'], camera_id: 'front-door' },
    ],
  });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-deploy-acl-'));
  const passwordFile = path.join(dir, 'picam.passwd');
  ACCOUNTS.forEach((account, i) => {
    execFileSync('mosquitto_passwd', ['-b', ...(i === 0 ? ['-c'] : []), passwordFile, account, passwords[account]], { stdio: ['ignore', 'ignore', 'pipe'] });
  });
  const aclFile = path.join(dir, 'picam.acl');
  fs.writeFileSync(aclFile, `${rendered}\n# Added by the test only: sees everything.\nuser monitor\ntopic read #\n`);
  // Started as root, mosquitto reads these after switching to its own user: let it (test files only).
  fs.chmodSync(dir, 0o755);
  for (const name of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, name), 0o644);
  broker = await startMosquitto({ anonymous: false, extraConfig: [`password_file ${passwordFile}`, `acl_file ${aclFile}`] });
  monitor = new TopicMonitor(broker.url, ['#'], login('monitor'));
  await monitor.start();
});

after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  await monitor?.stop();
  await broker?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const login = (account: Account): { username: string; password: string } => ({ username: account, password: passwords[account] });

async function connect(account: Account): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...login(account) });
  cleanup.push(() => client.endAsync(true));
  return client;
}

/** A subscriber that keeps what it receives; `granted` holds the SUBACK code of each filter. */
async function reader(account: Account, filters: string[]): Promise<{ got: Array<{ topic: string; text: string }>; granted: Record<string, number> }> {
  const client = await connect(account);
  const got: Array<{ topic: string; text: string }> = [];
  client.on('message', (topic, payload) => got.push({ topic, text: payload.toString() }));
  const granted: Record<string, number> = {};
  for (const filter of filters) {
    const answer = await client.subscribeAsync(filter, { qos: 1 }).catch((e: Error & { code?: number }) => [{ topic: filter, qos: e.code ?? -1 }]);
    granted[filter] = answer[0]?.qos ?? -1;
  }
  return { got, granted };
}

/** Waits until a marker published after everything else has reached the monitor: the rest had its chance. */
async function barrier(): Promise<void> {
  const client = await connect('cam-garden');
  const marker = `barrier-${crypto.randomBytes(4).toString('hex')}`;
  assert.equal(await publishOutcome(client, 'picam/garden/stats', marker), 'ok');
  await waitFor(() => monitor.texts('picam/garden/stats').some((m) => m.text === marker) || undefined, 5000, 'the barrier marker');
  // Other connections' QoS 0 messages are not ordered with the marker: a short window for them (absence).
  await sleep(300);
}

const reached = (marker: string): string[] => monitor.seen.filter((m) => m.payload.toString() === marker).map((m) => m.topic);

/** Access lines (`topic read|write …`) per user, in order. */
function rules(acl: string): Map<string, string[]> {
  const byUser = new Map<string, string[]>();
  let user: string | undefined;
  for (const line of acl.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const [word, ...rest] = line.split(/\s+/);
    if (word === 'user') { user = rest.join(' '); byUser.set(user, []); continue; }
    assert.ok(user, `an access line before any user: ${line}`);
    byUser.get(user)!.push(line);
  }
  return byUser;
}

test('the deploy\'s ACL grants exactly the rights of docs/examples/mosquitto/acl', { skip }, () => {
  const docs = rules(fs.readFileSync(path.join(ROOT, 'docs/examples/mosquitto/acl'), 'utf8'));
  const deploy = rules(rendered);
  assert.deepEqual([...deploy.keys()], ['viewer', 'operator', 'cam-garden', 'cam-front-door']);
  assert.deepEqual(deploy.get('viewer'), docs.get('viewer'));
  assert.deepEqual(deploy.get('operator'), docs.get('operator'));
  // A camera: the documented block, for each camera id (Home Assistant node ids use _ for -).
  const documented = docs.get('garden')!;
  assert.deepEqual(deploy.get('cam-garden'), documented);
  assert.deepEqual(deploy.get('cam-front-door'), documented.map((l) => l.replace('/garden/', '/front-door/').replace('/picam_garden/', '/picam_front_door/')));
  assert.ok(!rendered.split('\n').some((l) => /^topic (read|readwrite|write)? ?picam\/#/.test(l)), 'no account gets picam/#');
});

test('viewer account: reads every kind the viewer subscribes to, never a set request; writes nothing', { skip }, async () => {
  const subscriptions = [...receiverSubscriptions('picam'), 'picam/+/snapshot', 'picam/+/set'];
  const viewer = await reader('viewer', subscriptions);
  for (const filter of receiverSubscriptions('picam')) assert.ok(viewer.granted[filter]! < 0x80, `${filter} granted to the viewer (SUBACK ${viewer.granted[filter]})`);

  const camera = await connect('cam-garden');
  const operator = await connect('operator');
  const sent = new Map<string, string>();
  for (const kind of KINDS) {
    const marker = `from-camera-${kind}-${crypto.randomBytes(3).toString('hex')}`;
    assert.equal(await publishOutcome(camera, `picam/garden/${kind}`, marker), 'ok', `the camera writes its ${kind}`);
    sent.set(`picam/garden/${kind}`, marker);
  }
  const request = `{"id":"acl-${crypto.randomBytes(3).toString('hex')}","fps":5}`;
  assert.equal(await publishOutcome(operator, 'picam/garden/set', request), 'ok', 'the operator writes set');

  const client = await connect('viewer');
  const refused: string[] = [];
  for (const topic of [...KINDS.map((k) => `picam/garden/${k}`), 'picam/garden/set', 'picam/garden/other', 'homeassistant/camera/picam_garden/camera/config']) {
    const marker = `from-viewer-${crypto.randomBytes(3).toString('hex')}`;
    const code = await publishOutcome(client, topic, marker);
    assert.equal(code, 135, `the viewer account may not write ${topic}`);
    refused.push(topic);
    await barrier();
    assert.deepEqual(reached(marker), [], `nothing the viewer wrote on ${topic} reached a subscriber`);
  }
  await barrier();
  for (const [topic, marker] of sent) assert.ok(viewer.got.some((m) => m.topic === topic && m.text === marker), `the viewer read ${topic}`);
  assert.ok(monitor.texts('picam/garden/set').some((m) => m.text === request), 'the set request was on the broker');
  assert.deepEqual(viewer.got.filter((m) => m.topic.endsWith('/set')), [], 'the viewer never reads a set request');
  console.log(`# viewer account: SUBACK ${JSON.stringify(viewer.granted)}; read ${sent.size} kinds, no set; writes refused (135): ${refused.join(', ')}`);
});

test('operator account: reads what the viewer reads and writes set requests, nothing else', { skip }, async () => {
  const operator = await reader('operator', [...receiverSubscriptions('picam'), 'picam/+/set']);
  for (const filter of receiverSubscriptions('picam')) assert.ok(operator.granted[filter]! < 0x80, `${filter} granted to the operator`);
  const camera = await reader('cam-front-door', ['picam/front-door/set']);
  const client = await connect('operator');
  const request = `{"id":"op-${crypto.randomBytes(3).toString('hex')}","fps":5}`;
  assert.equal(await publishOutcome(client, 'picam/front-door/set', request), 'ok');
  for (const topic of ['picam/front-door/frame', 'picam/front-door/status', 'picam/front-door/result', 'picam/front-door/other']) {
    const marker = `from-operator-${crypto.randomBytes(3).toString('hex')}`;
    assert.equal(await publishOutcome(client, topic, marker), 135, `the operator may not write ${topic}`);
    await barrier();
    assert.deepEqual(reached(marker), [], `nothing the operator wrote on ${topic} reached a subscriber`);
  }
  const answer = `{"id":"x","ok":true,"m":"${crypto.randomBytes(3).toString('hex')}"}`;
  assert.equal(await publishOutcome(await connect('cam-front-door'), 'picam/front-door/result', answer), 'ok');
  await barrier();
  assert.deepEqual(camera.got.map((m) => m.text), [request], 'the camera read the operator\'s request');
  assert.ok(operator.got.some((m) => m.topic === 'picam/front-door/result' && m.text === answer), 'the operator read the answer');
  assert.deepEqual(operator.got.filter((m) => m.topic.endsWith('/set')), [], 'the operator does not read set requests');
});

test('a camera account writes only its own kinds and discovery documents, and reads only its own set', { skip }, async () => {
  const garden = await connect('cam-garden');
  const outcomes: string[] = [];
  for (const [topic, expected] of [
    ['picam/garden/other', 135], // a kind the protocol does not have: refused, unlike the old <prefix>/<id>/#
    ['picam/garden/set', 135],
    ['picam/front-door/status', 135],
    ['picam/front-door/frame', 135],
    ['homeassistant/camera/picam_front_door/camera/config', 135],
    ['homeassistant/camera/picam_garden/camera/config', 'ok'],
    ['homeassistant/sensor/picam_garden/fps/config', 'ok'],
  ] as const) {
    const marker = `from-garden-${crypto.randomBytes(3).toString('hex')}`;
    assert.equal(await publishOutcome(garden, topic, marker), expected, topic);
    await barrier();
    assert.deepEqual(reached(marker), expected === 'ok' ? [topic] : [], topic);
    outcomes.push(`${topic} ${expected}`);
  }
  const sets = await reader('cam-garden', ['picam/garden/set', 'picam/front-door/set', 'picam/front-door/frame']);
  const operator = await connect('operator');
  const own = '{"id":"own","fps":5}';
  const foreign = '{"id":"foreign","fps":5}';
  assert.equal(await publishOutcome(operator, 'picam/garden/set', own), 'ok');
  assert.equal(await publishOutcome(operator, 'picam/front-door/set', foreign), 'ok');
  assert.equal(await publishOutcome(await connect('cam-front-door'), 'picam/front-door/frame', 'not-for-garden'), 'ok');
  await barrier();
  assert.deepEqual(sets.got, [{ topic: 'picam/garden/set', text: own }], 'garden reads its own set and nothing of front-door');
  console.log(`# cam-garden writes: ${outcomes.join(', ')}; SUBACK ${JSON.stringify(sets.granted)}`);
});

test('picam-agent and picam-viewer stream through the deploy\'s ACL with their accounts; only the operator\'s panel is obeyed', { skip }, async () => {
  const agent: RunningProcess = runNode(
    AGENT_CLI,
    ['--broker', broker.url, '--camera-id', 'front-door', '--username', 'cam-front-door', '--source', 'synthetic', '--fps', '5', '--width', '160', '--height', '120', '--stats-interval', '1', '--homeassistant', '--ha-snapshot-interval', '1'],
    { PICAM_PASSWORD: passwords['cam-front-door'] },
  );
  cleanup.push(() => agent.stop('SIGKILL'));
  const asViewer: Viewer = await startViewerInProcess(broker.url, ['--username', 'viewer'], { PICAM_TEST_VIEWER_PASSWORD: passwords.viewer });
  cleanup.push(() => asViewer.stop());
  const asOperator: Viewer = await startViewerInProcess(broker.url, ['--username', 'operator'], { PICAM_TEST_VIEWER_PASSWORD: passwords.operator });
  cleanup.push(() => asOperator.stop());
  for (const viewer of [asViewer, asOperator]) {
    await waitFor(() => {
      const camera = viewer.registry.find('picam/front-door');
      return camera?.status === 'online' && camera.info && camera.agentStats && (viewer.receiver.reassembler.counters('picam/front-door')?.framesDelivered ?? 0) >= 5 ? true : undefined;
    }, 15_000, 'status, info, stats and frames at the viewer');
  }
  await waitFor(() => monitor.texts('picam/front-door/snapshot').length > 0 || undefined, 10_000, 'a Home Assistant snapshot');
  assert.ok(monitor.texts('homeassistant/camera/picam_front_door/camera/config').length > 0, 'discovery documents published');

  const obeyed = await asOperator.control('picam/front-door', { fps: 4 });
  assert.equal(obeyed.ok, true, JSON.stringify(obeyed));
  const ignored = await asViewer.control('picam/front-door', { fps: 3 }, 2000);
  assert.equal(ignored.ok, false);
  assert.match(ignored.error ?? '', /the broker refused the message on picam\/front-door\/set: .*Not authorized/);
  assert.doesNotMatch(agent.output(), /the broker refused a message/, 'the agent was refused nothing');
  // The agent answers before its log line reaches this process through the pipe: wait for the line, then count.
  const handled = (): number => agent.output().match(/control request (applied|rejected)/g)?.length ?? 0;
  await waitFor(() => handled() > 0 || undefined, 10_000, "the agent's log of the operator's request");
  assert.equal(handled(), 1, 'the camera saw the operator\'s request only');
});
