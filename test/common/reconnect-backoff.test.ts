import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONNECT_TIMEOUT_MAX_MS, CONNECT_TIMEOUT_MIN_MS, ConnectTimeout, RECONNECT_MAX_MS, RECONNECT_MIN_MS, ReconnectBackoff } from '../../common/reconnect-backoff.js';
import { connectionHint } from '../../common/connection-errors.js';

test('reconnect backoff: exponential, jittered into [½, 1] of the step, never above the ceiling that keeps resume within 2 s', () => {
  assert.ok(RECONNECT_MAX_MS <= 1000, 'a broker back for 1 s has seen an attempt');
  const highest = new ReconnectBackoff(RECONNECT_MIN_MS, RECONNECT_MAX_MS, () => 1);
  assert.deepEqual(Array.from({ length: 6 }, () => highest.next()), [200, 400, 800, 1000, 1000, 1000]);
  const lowest = new ReconnectBackoff(RECONNECT_MIN_MS, RECONNECT_MAX_MS, () => 0);
  assert.deepEqual(Array.from({ length: 5 }, () => lowest.next()), [100, 200, 400, 500, 500]);
  lowest.reset();
  assert.equal(lowest.next(), 100, 'a successful connect starts the sequence again');
  const real = new ReconnectBackoff();
  const delays = Array.from({ length: 1000 }, () => real.next());
  assert.ok(Math.max(...delays) <= RECONNECT_MAX_MS);
  assert.ok(Math.min(...delays.slice(10)) >= RECONNECT_MAX_MS / 2);
  assert.ok(new Set(delays).size > 100, 'jittered, so cameras do not reconnect in step');
});

test('connection hints name the fix for TLS, login and address problems', () => {
  const e = (message: string, code: string | number): Error & { code: string | number } => Object.assign(new Error(message), { code });
  assert.match(connectionHint(e('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'), { caFile: '/etc/picam/ca.crt' })!, /not signed by the CA in caFile \/etc\/picam\/ca\.crt/);
  assert.match(connectionHint(e('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'))!, /give its CA with caFile/);
  assert.match(connectionHint(e('Hostname/IP does not match', 'ERR_TLS_CERT_ALTNAME_INVALID'))!, /another host name/);
  assert.match(connectionHint(e('certificate has expired', 'CERT_HAS_EXPIRED'))!, /validity dates/);
  assert.match(connectionHint(e('alert certificate required', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'))!, /set certFile and keyFile/);
  assert.match(connectionHint(e('Connection refused: Not authorized', 5))!, /refused the login/);
  assert.match(connectionHint(e('Connection refused: Not authorized', 135))!, /refused the login/);
  assert.match(connectionHint(e('Connection refused: Not authorized', 135), { username: 'viewer' })!, /check the user name and password/);
  assert.match(connectionHint(e('Connection refused: Bad User Name or Password', 134))!, /user name or password/);
  assert.match(connectionHint(e('connect ECONNREFUSED 127.0.0.1:1883', 'ECONNREFUSED'))!, /nothing listens/);
  assert.equal(connectionHint(e('Keepalive timeout', 'X')), undefined);
});

test('connection attempt time limit: 1 s first, so a lost attempt costs little; doubling to 5 s for slow links; back to 1 s once connected', () => {
  assert.equal(CONNECT_TIMEOUT_MIN_MS, 1000);
  assert.ok(CONNECT_TIMEOUT_MAX_MS <= 5000, 'never longer than the 5 s an attempt could take before');
  const limit = new ConnectTimeout();
  const seen = [limit.ms];
  for (let i = 0; i < 4; i++) { limit.ranOut(); seen.push(limit.ms); }
  assert.deepEqual(seen, [1000, 2000, 4000, 5000, 5000]);
  limit.reset();
  assert.equal(limit.ms, 1000);
});
