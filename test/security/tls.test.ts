import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { VIEWER_CLI, waitFor, runNode, type RunningProcess } from '../helpers/processes.js';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.js';
import { checkSavedFrames, refusedAgain, spawnAgent, spawnViewer, stopWithin } from '../helpers/stream-rig.js';

// TLS against the documented mosquitto configuration: certificates and host names are always verified,
// and every way it can go wrong ends in a log line that says what to fix, never in a silent fallback.

let sb: SecureBroker;
let source: { dir: string; frames: Buffer[] };
const cleanup: Array<() => Promise<unknown>> = [];
before(async () => {
  sb = await startSecureBroker();
  source = await makeJpegFolder(6, 320, 240);
});
after(async () => { for (const c of cleanup.reverse()) await c().catch(() => undefined); await sb?.stop(); });

function agent(broker: string, cameraId: 'garden' | 'porch', args: string[]): RunningProcess {
  // At debug level the log has every closed attempt, which refusedWith() counts.
  const p = spawnAgent(broker, cameraId, source.dir, 10, ['--username', cameraId, '--chunk-size', '4096', '--log-level', 'debug', ...args], { PICAM_PASSWORD: sb.passwords[cameraId] });
  cleanup.push(() => p.stop('SIGKILL'));
  return p;
}

/** Waits for the warning about the connection, then for two more attempts refused alike: no connection is made. */
async function refusedWith(p: RunningProcess, pattern: RegExp): Promise<string> {
  const line = await p.waitFor(pattern, 10_000);
  await refusedAgain(p, line[0]);
  assert.equal(await stopWithin(p), 0);
  return line[0];
}

test('mqtts:// with caFile: agent and viewer connect with verified certificates (by IP and by host name) and stream intact frames', async () => {
  const viewer = await spawnViewer(sb.tlsUrl.replace('127.0.0.1', 'localhost'), ['--ca-file', sb.pki.ca, '--username', 'viewer'], { PICAM_VIEWER_PASSWORD: sb.passwords.viewer });
  cleanup.push(() => viewer.process.stop('SIGKILL'));
  const garden = agent(sb.tlsUrl, 'garden', ['--ca-file', sb.pki.ca]);
  await garden.waitFor(/first frame published/);
  await waitFor(async () => ((await viewer.counters('garden'))?.framesDelivered ?? 0) >= 10 || undefined, 15_000, '10 frames over TLS');
  assert.equal(await stopWithin(garden), 0);
  assert.equal(await stopWithin(viewer.process), 0);
  const saved = checkSavedFrames(viewer.saveDir, 'garden', source.frames);
  assert.match(sb.broker.log(), /New client connected from 127\.0\.0\.1:\d+ as picam-agent-garden-[0-9a-f]+ \(p5, c1, k10, u'garden'\)/);
  console.log(`# TLS: agent (mqtts://127.0.0.1, caFile) → viewer (mqtts://localhost, caFile): ${saved.length} frames byte-identical`);
});

test('a TLS connection with the wrong CA fails with a clear error (agent and viewer)', async () => {
  const garden = agent(sb.tlsUrl, 'garden', ['--ca-file', sb.pki.otherCa]);
  const agentLine = await refusedWith(garden, /warn +agent\/mqtt: broker connection problem url=mqtts:\/\/127\.0\.0\.1:\d+ error="self-signed certificate in certificate chain" hint="TLS: the broker's certificate is not signed by the CA in caFile [^"]*other-ca\.crt; give the CA that issued it"/);
  const viewer = runNode(VIEWER_CLI, ['--broker', sb.tlsUrl, '--ca-file', sb.pki.otherCa, '--username', 'viewer', '--listen', '127.0.0.1:0', '--log-level', 'debug'], { PICAM_VIEWER_PASSWORD: sb.passwords.viewer });
  cleanup.push(() => viewer.stop('SIGKILL'));
  const viewerLine = await refusedWith(viewer, /warn +viewer\/mqtt: broker connection problem .* hint="TLS: the broker's certificate is not signed by the CA in caFile [^"]*other-ca\.crt/);
  console.log(`# wrong CA, agent: ${agentLine}`);
  console.log(`# wrong CA, viewer: ${viewerLine}`);
});

test('host names are verified, and no CA means the system CAs (which do not know a private CA)', async () => {
  const wrongName = agent(sb.wrongNameUrl, 'garden', ['--ca-file', sb.pki.ca]);
  const systemCas = agent(sb.tlsUrl, 'porch', []);
  const nameLine = await refusedWith(wrongName, /broker connection problem .*error="Hostname\/IP does not match certificate's altnames[^"]*" hint="TLS: the broker's certificate is for another host name; use a name or address it lists in the broker URL"/);
  const systemLine = await refusedWith(systemCas, /broker connection problem .* hint="TLS: the broker's certificate is not signed by a CA this computer trusts; give its CA with caFile"/);
  console.log(`# wrong host name: ${nameLine}`);
  console.log(`# no caFile: ${systemLine}`);
});

test('a broker that demands client certificates: refused without one, streams with certFile and keyFile', async () => {
  const without = agent(sb.clientCertUrl, 'garden', ['--ca-file', sb.pki.ca]);
  const line = await refusedWith(without, /broker connection problem .* hint="TLS: the broker wants a client certificate; set certFile and keyFile"/);
  const withCert = agent(sb.clientCertUrl, 'garden', ['--ca-file', sb.pki.ca, '--cert-file', sb.pki.clientCert, '--key-file', sb.pki.clientKey]);
  await withCert.waitFor(/first frame published/);
  assert.equal(await stopWithin(withCert), 0);
  console.log(`# client certificate required, none given: ${line}; with certFile/keyFile: streaming`);
});
