import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionLog } from '../../common/connection-log.js';
import { createLogger } from '../../common/logger.js';

const reset = (): Error => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

function logged(): { log: ConnectionLog; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', component: 'mqtt', write: (l) => lines.push(l) });
  return { log: new ConnectionLog(logger, 'mqtt://127.0.0.1:1883', () => 0), lines };
}

test('a connection reset before the CONNACK is a refusal without a reason: three in a row say so once, with the hint', () => {
  const { log, lines } = logged();
  for (let i = 0; i < 4; i++) {
    log.error(reset(), undefined);
    log.closed();
  }
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /the connection was closed before the broker accepted it, 3 times in a row.*max_connections/);
});

test('a connection reset after the broker accepted it is logged as the error it is', () => {
  const { log, lines } = logged();
  log.connected();
  log.error(reset(), undefined);
  log.closed();
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /error="read ECONNRESET"/);
});
