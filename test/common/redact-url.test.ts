import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactUrl } from '../../common/redact-url.js';

test('redactUrl masks the whole password, however it is written, and leaves URLs without one as they are', () => {
  const cases: Array<[string, string]> = [
    ['mqtt://user:Sup3r@Secret@host:1883', 'mqtt://user:***@host:1883'],
    ['mqtts://garden:p%40ss@broker.lan:8883', 'mqtts://garden:***@broker.lan:8883'],
    ['wss://viewer:pw@broker.lan/mqtt', 'wss://viewer:***@broker.lan/mqtt'],
    ['mqtt://:only-password@host', 'mqtt://:***@host'],
    ['mqtt://garden@host:1883', 'mqtt://garden@host:1883'],
    ['mqtt://127.0.0.1:1883', 'mqtt://127.0.0.1:1883'],
    // Not parseable as a URL (a port that is not a number, a / in the password): all before the last @ goes.
    ['mqtt://user:pa/ss@host', 'mqtt://***@host'],
    ['mqtt://user:secret@host:port', 'mqtt://***@host:port'],
    ['user:secret@host', '***@host'],
    ['fast', 'fast'],
  ];
  for (const [input, expected] of cases) assert.equal(redactUrl(input), expected, input);
});
