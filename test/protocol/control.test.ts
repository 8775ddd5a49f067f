import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseControlRequest } from '../../protocol/control.js';

const parse = (value: unknown) => parseControlRequest(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));

test('valid control requests', () => {
  assert.deepEqual(parse({ id: 'a1', fps: 12.5 }), { ok: true, request: { id: 'a1', changes: { fps: 12.5 }, snapshot: false } });
  assert.deepEqual(parse({ width: 1280, height: 720, quality: 70, rotation: 180, hflip: true }), {
    ok: true,
    request: { id: undefined, changes: { width: 1280, height: 720, quality: 70, rotation: 180, hflip: true }, snapshot: false },
  });
  assert.deepEqual(parse({ snapshot: true }), { ok: true, request: { id: undefined, changes: {}, snapshot: true } });
});

test('invalid control requests are rejected with a reason, keeping the id', () => {
  const cases: Array<[unknown, RegExp]> = [
    ['not json', /not valid JSON/],
    [[1, 2], /must be a JSON object/],
    [{ id: 'x', fps: 0 }, /"fps" must be a number from 0.1 to 120/],
    [{ fps: '10' }, /"fps" must be a number/],
    [{ quality: 101 }, /"quality" must be a whole number from 1 to 100/],
    [{ quality: 50.5 }, /"quality" must be a whole number/],
    [{ width: 640 }, /"width" and "height" must be given together/],
    [{ rotation: 45 }, /"rotation" must be one of 0, 90, 180, 270/],
    [{ hflip: 'yes' }, /"hflip" must be true or false/],
    [{ snapshot: false }, /"snapshot" may only be true/],
    [{ brightness: 3 }, /unknown field "brightness"/],
    [{}, /changes nothing/],
    [{ id: 'x'.repeat(65), fps: 1 }, /"id" must be text of at most 64/],
  ];
  for (const [input, reason] of cases) {
    const result = parse(input);
    assert.equal(result.ok, false, JSON.stringify(input));
    if (!result.ok) assert.match(result.error, reason);
  }
  const withId = parse({ id: 'req-7', quality: 0 });
  assert.ok(!withId.ok && withId.id === 'req-7');
  assert.match((parseControlRequest(Buffer.alloc(5000, 32)) as { error: string }).error, /larger than 4096/);
});
