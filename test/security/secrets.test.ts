import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { startMosquitto } from '../../harness/mosquitto.js';
import { AGENT_CLI, VIEWER_CLI, waitFor, runNode, type RunningProcess } from '../helpers/processes.js';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.js';
import { TopicMonitor } from '../helpers/stats-monitor.js';
import { spawnAgent, spawnViewer, stopWithin } from '../helpers/stream-rig.js';

// Passwords and keys must never show: not in log lines (even at debug level), not in stats or info, not
// in error messages, not on the command line that `ps` shows.

let sb: SecureBroker;
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => { for (const c of cleanup.reverse()) await c().catch(() => undefined); await sb?.stop(); });

const cmdline = (pid: number): string => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
const environ = (pid: number): string => fs.readFileSync(`/proc/${pid}/environ`, 'utf8');

test('secrets never appear in logs, stats, info, errors, the page API or ps output', async () => {
  sb = await startSecureBroker();
  const { dir } = await makeJpegFolder(4, 160, 120);
  const monitor = new TopicMonitor(sb.url, ['#'], { username: 'monitor', password: sb.passwords.monitor });
  await monitor.start();
  cleanup.push(() => monitor.stop());
  const port = new URL(sb.url).port;
  const wrongPassword = 'wrong-Zebra-Quartz-91';
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-secret-config-'));
  const configFile = path.join(configDir, 'agent.yaml');
  fs.writeFileSync(configFile, `username: garden\npassword: ${wrongPassword}\n`, { mode: 0o600 });
  const keyBody = fs.readFileSync(sb.pki.clientKey, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  const secrets = { ...sb.passwords, wrongPassword, keyBody };

  const processes: Array<[string, RunningProcess]> = [];
  // Password from PICAM_PASSWORD, over TLS with a client certificate and key.
  processes.push(['agent (PICAM_PASSWORD, TLS client key)', spawnAgent(sb.clientCertUrl, 'garden', dir, 5,
    ['--ca-file', sb.pki.ca, '--cert-file', sb.pki.clientCert, '--key-file', sb.pki.clientKey, '--log-level', 'debug'],
    { PICAM_USERNAME: 'garden', PICAM_PASSWORD: sb.passwords.garden })]);
  // User and password inside a broker URL given by the environment.
  processes.push(['agent (credentials URL in PICAM_BROKER)', runNode(AGENT_CLI, ['--camera-id', 'porch', '--source', `file:${dir}`, '--fps', '5', '--stats-interval', '1', '--log-level', 'debug'],
    { PICAM_BROKER: `mqtt://porch:${sb.passwords.porch}@127.0.0.1:${port}` })]);
  // A wrong password from a config file: refused, with errors logged over and over.
  processes.push(['agent (wrong password in the config file)', runNode(AGENT_CLI, ['--config', configFile, '--broker', sb.url, '--camera-id', 'garden', '--source', `file:${dir}`, '--log-level', 'debug'])]);
  const viewer = await spawnViewer(sb.url, ['--username', 'viewer', '--log-level', 'debug'], { PICAM_VIEWER_PASSWORD: sb.passwords.viewer });
  processes.push(['viewer (PICAM_VIEWER_PASSWORD)', viewer.process]);
  for (const [, p] of processes) cleanup.push(() => p.stop('SIGKILL'));

  await processes[0]![1].waitFor(/first frame published/);
  await processes[1]![1].waitFor(/first frame published/);
  await processes[2]![1].waitFor(/broker connection problem .*Not authorized/);
  // Two stats from each agent (every second) and three refused logins: material enough in every place checked.
  const stats = (camera: string): number => monitor.seen.filter((m) => m.topic === `picam/${camera}/stats`).length;
  await waitFor(() => stats('garden') >= 2 && stats('porch') >= 2, 10_000, 'two stats from each agent');
  await waitFor(() => (processes[2]![1].output().match(/connection closed; reconnecting/g) ?? []).length >= 3, 10_000, 'three refused logins');

  // What `ps` shows, and each process's own command line.
  const ps = execFileSync('ps', ['-eo', 'pid,args', '-ww'], { encoding: 'utf8' });
  const places: Array<[string, string]> = [['ps -eo pid,args', ps]];
  for (const [name, p] of processes) {
    places.push([`${name}: /proc/${p.child.pid}/cmdline`, cmdline(p.child.pid!)]);
  }
  // The processes did hold the secrets (so the checks below look at the right things).
  assert.ok(environ(processes[0]![1].child.pid!).includes(sb.passwords.garden));
  assert.ok(environ(processes[1]![1].child.pid!).includes(sb.passwords.porch));
  places.push(['viewer /api/cameras', JSON.stringify(await viewer.api())]);
  places.push(['viewer page', await (await fetch(`${viewer.url}/`)).text()]);
  for (const [name, p] of processes) assert.equal(await stopWithin(p), 0, `${name} stops cleanly`);
  for (const [name, p] of processes) places.push([`${name}: output`, p.output()]);
  const byTopic = new Map<string, number>();
  for (const m of monitor.seen) {
    byTopic.set(m.topic, (byTopic.get(m.topic) ?? 0) + 1);
    places.push([`MQTT ${m.topic}`, m.payload.toString('latin1')]);
  }
  for (const kind of ['info', 'stats', 'status']) {
    for (const camera of ['garden', 'porch']) assert.ok(byTopic.get(`picam/${camera}/${kind}`), `picam/${camera}/${kind} was seen and checked`);
  }
  assert.match(processes[2]![1].output(), /error="Connection refused: Not authorized"/, 'the refused login was logged (and checked)');
  assert.match(processes[1]![1].output(), /url=mqtt:\/\/porch:\*\*\*@127\.0\.0\.1/, 'the URL is logged with its password masked');

  const leaks: string[] = [];
  for (const [where, text] of places) {
    for (const [name, secret] of Object.entries(secrets)) if (text.includes(secret)) leaks.push(`${name} in ${where}`);
  }
  assert.deepEqual(leaks, []);
  const outputLines = processes.reduce((n, [, p]) => n + p.output().split('\n').length, 0);
  console.log(`# secrets: ${Object.keys(secrets).length} secrets checked in ${places.length} places (${outputLines} log lines at debug level, ` +
    `${monitor.seen.length} MQTT messages incl. ${[...byTopic].filter(([t]) => /\/(info|stats|status)$/.test(t)).map(([t, n]) => `${t}×${n}`).join(' ')}, ps, /proc/*/cmdline, page API): none found`);
});

test('a password holding @ is masked whole wherever the broker URL is shown: viewer and agent logs at debug level', async () => {
  const broker = await startMosquitto();
  cleanup.push(() => broker.stop());
  const { dir } = await makeJpegFolder(2, 160, 120);
  // mqtt://user:Sup3r@Secret@host was logged as ***@Secret@host by the viewer's start line.
  const password = 'Sup3r@Zebra-Quartz-27';
  const url = (user: string): string => `mqtt://${user}:${password}@127.0.0.1:${broker.port}`;
  const viewer = runNode(VIEWER_CLI, ['--listen', '127.0.0.1:0', '--log-level', 'debug'], { PICAM_VIEWER_BROKER: url('viewer') });
  const agent = runNode(AGENT_CLI, ['--camera-id', 'at', '--source', `file:${dir}`, '--log-level', 'debug'], { PICAM_BROKER: url('at') });
  for (const p of [viewer, agent]) cleanup.push(() => p.stop('SIGKILL'));
  await viewer.waitFor(/viewer started .*broker=/);
  await viewer.waitFor(/connected to broker/);
  await agent.waitFor(/first frame published/);
  for (const p of [viewer, agent]) assert.equal(await stopWithin(p), 0, p.output());
  assert.match(viewer.output(), /viewer started .*broker=mqtt:\/\/viewer:\*\*\*@127\.0\.0\.1:\d+/);
  assert.match(agent.output(), /connected to broker url=mqtt:\/\/at:\*\*\*@127\.0\.0\.1:\d+/);
  for (const [name, p] of [['viewer', viewer], ['agent', agent]] as const) {
    for (const part of password.split('@')) assert.ok(!p.output().includes(part), `${name} output shows "${part}" of the password:\n${p.output()}`);
  }
});
