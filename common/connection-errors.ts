/** Node's certificate verification failures that mean "this certificate is not signed by a CA we trust". */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * What to do about a failed broker connection, in one sentence, for the log line next to the raw error.
 * Undefined when there is nothing more useful to say than the error itself.
 */
export function connectionHint(error: Error & { code?: string | number }, context: { caFile?: string; username?: string } = {}): string | undefined {
  const code = error.code;
  if (typeof code === 'string') {
    if (UNTRUSTED.has(code)) {
      return context.caFile
        ? `TLS: the broker's certificate is not signed by the CA in caFile ${context.caFile}; give the CA that issued it`
        : `TLS: the broker's certificate is not signed by a CA this computer trusts; give its CA with caFile`;
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'TLS: the broker\'s certificate is for another host name; use a name or address it lists in the broker URL';
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return 'TLS: the broker\'s certificate is outside its validity dates (check the certificate and this computer\'s clock)';
    if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE') return 'TLS: the broker wants a client certificate; set certFile and keyFile';
    if (code === 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' || code === 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE') return 'TLS: the broker does not accept this client certificate (certFile): it must be signed by the CA the broker trusts';
    if (code === 'ECONNREFUSED') return 'nothing listens at the broker address; is mosquitto running, and is the port right?';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the broker host name does not resolve';
  }
  if (typeof code === 'number') {
    // CONNACK refusals: 4/5 over MQTT 3.1.1, 134/135 over MQTT 5.
    if (code === 4 || code === 134) return 'the broker refused the user name or password; check username and password (or passwordFile)';
    // Mosquitto 2.0 answers a wrong password with 135 too.
    if ((code === 5 || code === 135) && context.username !== undefined) return 'the broker refused the login: check the user name and password, and that this account may connect';
    if (code === 5 || code === 135) return 'the broker refused the login: this client is not authorized (anonymous access off, or an ACL/plugin refused it); set username and password';
  }
  return undefined;
}
