import crypto from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import { ConfigError } from './options.js';
import { redactUrl } from './redact-url.js';

/** The TLS file options both programs share (PEM files). */
export interface TlsFileOptions {
  broker: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** The contents of those files, read once at start-up. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * Reads and checks the TLS files at start-up, so that a missing, unreadable or wrong file is one config
 * error naming the field (exit 2) instead of a connection that fails over and over later. Returns
 * undefined when no TLS file is configured (an mqtts:// URL then verifies against the system CAs).
 */
export function loadTlsFiles(options: TlsFileOptions): TlsMaterial | undefined {
  const problems: string[] = [];
  const read = (field: string, file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      problems.push(`${field} ${file} cannot be read (${code}): check the path and that this user may read it`);
      return undefined;
    }
  };
  const ca = read('caFile', options.caFile);
  const cert = read('certFile', options.certFile);
  const key = read('keyFile', options.keyFile);
  if (options.caFile === undefined && options.certFile === undefined && options.keyFile === undefined) return undefined;

  if (!/^(mqtts|wss):/i.test(options.broker)) {
    const fields = [['caFile', options.caFile], ['certFile', options.certFile], ['keyFile', options.keyFile]].filter(([, v]) => v !== undefined).map(([k]) => k);
    problems.push(`${fields.join(', ')} set but broker ${redactUrl(options.broker)} does not use TLS: use mqtts:// (or wss://), or remove the TLS files`);
  }
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
    problems.push(options.certFile === undefined ? 'keyFile is set without certFile: a client certificate needs both' : 'certFile is set without keyFile: a client certificate needs both');
  }
  if (ca) {
    const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(ca.toString('latin1'));
    if (!first) problems.push(`caFile ${options.caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the CA certificate that signed the broker's certificate`);
    else if (!parses(() => new crypto.X509Certificate(first[0]))) problems.push(`caFile ${options.caFile}: the certificate in it cannot be parsed`);
  }
  if (cert && !parses(() => new crypto.X509Certificate(cert))) problems.push(`certFile ${options.certFile} is not a PEM certificate: give the client certificate (-----BEGIN CERTIFICATE-----)`);
  // The key's text is never echoed, whatever is wrong with it.
  if (key && !parses(() => crypto.createPrivateKey(key))) problems.push(`keyFile ${options.keyFile} is not an unencrypted PEM private key: give the client certificate's key without a passphrase`);
  if (problems.length === 0 && cert && key && !parses(() => tls.createSecureContext({ cert, key }))) {
    problems.push(`keyFile ${options.keyFile} does not belong to certFile ${options.certFile}: give the key the certificate was issued for`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ca, cert, key };
}

function parses(make: () => unknown): boolean {
  try {
    make();
    return true;
  } catch {
    return false;
  }
}
