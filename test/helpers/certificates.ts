import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** PEM files made by openssl for one test run: a CA, certificates it signed, and an unrelated CA. */
export interface TestPki {
  dir: string;
  ca: string;
  otherCa: string;
  /** Server certificate for 127.0.0.1 and localhost, signed by `ca`. */
  serverCert: string;
  serverKey: string;
  /** Server certificate for another host name only (broker.invalid), signed by `ca`. */
  wrongNameCert: string;
  wrongNameKey: string;
  /** A client certificate (CN=garden) and its key, signed by `ca`. */
  clientCert: string;
  clientKey: string;
  /** A key that belongs to no certificate here. */
  strayKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes the test PKI with EC P-256 keys (fast) in a new temp folder. */
export function makeTestPki(): TestPki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-pki-'));
  const key = (name: string): void => openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  const ca = (name: string): void => {
    key(name);
    openssl(['req', '-x509', '-new', '-key', `${name}.key`, '-sha256', '-days', '2', '-subj', `/CN=${name}`, '-out', `${name}.crt`], dir);
  };
  const signed = (name: string, cn: string, san: string | undefined, usage: 'serverAuth' | 'clientAuth'): void => {
    key(name);
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir);
    const ext = [`extendedKeyUsage=${usage}`, 'basicConstraints=CA:FALSE', ...(san ? [`subjectAltName=${san}`] : [])].join('\n');
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext + '\n');
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
  };
  ca('ca');
  ca('other-ca');
  signed('server', '127.0.0.1', 'IP:127.0.0.1,DNS:localhost', 'serverAuth');
  signed('wrong-name', 'broker.invalid', 'DNS:broker.invalid', 'serverAuth');
  signed('client', 'garden', undefined, 'clientAuth');
  key('stray');
  const p = (f: string): string => path.join(dir, f);
  return {
    dir,
    ca: p('ca.crt'),
    otherCa: p('other-ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    wrongNameCert: p('wrong-name.crt'),
    wrongNameKey: p('wrong-name.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    strayKey: p('stray.key'),
  };
}
