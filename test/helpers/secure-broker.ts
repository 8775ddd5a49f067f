import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeTestPki, type TestPki } from './certificates.js';
import { freePort, startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { ROOT } from './processes.js';

/**
 * The accounts of docs/examples/mosquitto/acl, plus `monitor`, which only the tests add: it reads every
 * topic, so a test can check that a refused message really reached nobody.
 */
export const ACCOUNTS = ['viewer', 'operator', 'garden', 'porch', 'monitor'] as const;
export type Account = (typeof ACCOUNTS)[number];

export interface SecureBroker {
  broker: RunningBroker;
  /** mqtt:// on loopback (the example's local plain listener). */
  url: string;
  /** mqtts:// on loopback, server certificate for 127.0.0.1 and localhost signed by pki.ca. */
  tlsUrl: string;
  /** mqtts:// whose certificate names another host (broker.invalid) only. */
  wrongNameUrl: string;
  /** mqtts:// that also demands a client certificate signed by pki.ca. */
  clientCertUrl: string;
  passwords: Record<Account, string>;
  pki: TestPki;
  dir: string;
  stop(): Promise<void>;
}

/**
 * A real mosquitto configured from docs/examples/mosquitto/{mosquitto.conf,acl}: the documented files with
 * their paths and ports rewritten for a temp folder, accounts made with mosquitto_passwd, certificates
 * made with openssl. Two more TLS listeners (wrong host name; client certificate required) test the clients.
 */
export async function startSecureBroker(): Promise<SecureBroker> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-secure-'));
  const pki = makeTestPki();
  const passwords = Object.fromEntries(ACCOUNTS.map((a) => [a, `${a}-${crypto.randomBytes(9).toString('base64url')}`])) as Record<Account, string>;
  const passwordFile = path.join(dir, 'picam.passwd');
  ACCOUNTS.forEach((account, i) => {
    execFileSync('mosquitto_passwd', ['-b', ...(i === 0 ? ['-c'] : []), passwordFile, account, passwords[account]], { stdio: ['ignore', 'ignore', 'pipe'] });
  });
  const acl = fs.readFileSync(path.join(ROOT, 'docs/examples/mosquitto/acl'), 'utf8');
  fs.writeFileSync(path.join(dir, 'picam.acl'), `${acl}\n# Added by the tests only: sees everything.\nuser monitor\ntopic read #\n`);
  const [tlsPort, wrongNamePort, clientCertPort] = [await freePort(), await freePort(), await freePort()];
  const example = fs.readFileSync(path.join(ROOT, 'docs/examples/mosquitto/mosquitto.conf'), 'utf8');
  const lines = example
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .filter((l) => !/^listener 1883\b/.test(l)) // the test helper's own plain loopback listener stands in for it
    .map((l) => l
      .replace(/^listener 8883$/, `listener ${tlsPort} 127.0.0.1`)
      .replace('/etc/mosquitto/picam.passwd', passwordFile)
      .replace('/etc/mosquitto/picam.acl', path.join(dir, 'picam.acl'))
      .replace(/\/etc\/mosquitto\/certs\//g, pki.dir + '/'));
  for (const required of ['allow_anonymous false', `password_file ${passwordFile}`, `listener ${tlsPort} 127.0.0.1`]) {
    if (!lines.includes(required)) throw new Error(`docs/examples/mosquitto/mosquitto.conf no longer has "${required}" where this helper expects it`);
  }
  // Started as root, mosquitto reads these after switching to its own user: let it (test files only).
  for (const folder of [dir, pki.dir]) {
    fs.chmodSync(folder, 0o755);
    for (const name of fs.readdirSync(folder)) fs.chmodSync(path.join(folder, name), 0o644);
  }
  const broker = await startMosquitto({
    anonymous: false,
    extraConfig: [
      ...lines,
      `listener ${wrongNamePort} 127.0.0.1`, `certfile ${pki.wrongNameCert}`, `keyfile ${pki.wrongNameKey}`,
      `listener ${clientCertPort} 127.0.0.1`, `certfile ${pki.serverCert}`, `keyfile ${pki.serverKey}`, `cafile ${pki.ca}`, 'require_certificate true',
    ],
  });
  return {
    broker,
    url: broker.url,
    tlsUrl: `mqtts://127.0.0.1:${tlsPort}`,
    wrongNameUrl: `mqtts://127.0.0.1:${wrongNamePort}`,
    clientCertUrl: `mqtts://127.0.0.1:${clientCertPort}`,
    passwords,
    pki,
    dir,
    async stop() {
      await broker.stop();
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(pki.dir, { recursive: true, force: true });
    },
  };
}
