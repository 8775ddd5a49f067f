import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../../common/logger.js';
import { writeZip } from '../../scripts/release/zip.js';
import { appWindowCandidates, appWindowProgram } from '../../viewer/app-window.js';
import { checkSettings, parseForm, SettingsRoutes } from '../../viewer/settings/settings-routes.js';
import { defaultSettingsFile, SettingsStore } from '../../viewer/settings/settings-store.js';
import { HttpError } from '../../viewer/web-server.js';
import { waitFor } from '../helpers/processes.js';

const WINDOWS_ENV = { 'ProgramFiles(x86)': 'C:\\Program Files (x86)', ProgramFiles: 'C:\\Program Files', LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' };

test('app window: Edge first, then Chrome (machine-wide, then per user); none found means the default browser', () => {
  const candidates = appWindowCandidates(WINDOWS_ENV);
  assert.equal(candidates[0], 'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe');
  const chrome = 'C:\\Users\\ann\\AppData\\Local\\Google\\Chrome\\Application\\chrome.exe';
  assert.equal(appWindowProgram(WINDOWS_ENV, (f) => f === chrome), chrome);
  assert.equal(appWindowProgram(WINDOWS_ENV, (f) => f.endsWith('msedge.exe') || f.endsWith('chrome.exe')), candidates[0]);
  assert.equal(appWindowProgram(WINDOWS_ENV, () => false), undefined);
  assert.equal(appWindowProgram({}, () => true), undefined, 'no known folders, nothing guessed');
});

test('the settings file: %APPDATA%\\picam-viewer\\viewer.yaml on Windows, XDG elsewhere', () => {
  assert.equal(defaultSettingsFile({ APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' }, 'win32'), 'C:\\Users\\ann\\AppData\\Roaming\\picam-viewer\\viewer.yaml');
  assert.equal(defaultSettingsFile({ XDG_CONFIG_HOME: '/home/ann/.config' }, 'linux'), '/home/ann/.config/picam-viewer/viewer.yaml');
});

test('the form: strings of at most 1,024 characters, no unknown fields, an empty password keeps the saved one', () => {
  const refused = (body: string, pattern: RegExp): void => {
    assert.throws(() => parseForm(body, undefined), (e: unknown) => e instanceof HttpError && e.status === 400 && pattern.test(e.message));
  };
  refused('not json', /must be JSON/);
  refused('[]', /JSON object/);
  refused(JSON.stringify({ broker: 'mqtt://a', admin: true }), /unknown field "admin"/);
  refused(JSON.stringify({ broker: 'x'.repeat(1025) }), /Broker URL: must be text of at most 1,024 characters/);
  refused(JSON.stringify({ broker: 7 }), /Broker URL: must be text/);
  const saved = { broker: 'mqtt://pi:1883', username: 'ann', password: ' s3 cret ' };
  assert.deepEqual(parseForm(JSON.stringify({ broker: ' mqtt://pi:1883 ', username: 'ann', password: '' }), saved), { broker: 'mqtt://pi:1883', username: 'ann', password: ' s3 cret ' });
  assert.equal(parseForm(JSON.stringify({ broker: 'mqtt://pi:1883', username: '', password: '' }), saved).password, undefined, 'no user name, no password');
  assert.equal(parseForm(JSON.stringify({ broker: 'mqtt://pi:1883', username: 'ann', password: ' new ' }), saved).password, ' new ', 'passwords keep their spaces');
});

test('the form is checked as a start-up would be, in its own words', () => {
  const problem = (settings: Parameters<typeof checkSettings>[0]): string => {
    try {
      checkSettings(settings);
    } catch (error) {
      assert.ok(error instanceof HttpError && error.status === 400);
      return error.message;
    }
    return '';
  };
  assert.match(problem({ broker: '' }), /^Broker URL: required/);
  assert.match(problem({ broker: 'pi.local' }), /^Broker URL: "pi\.local" is not a broker URL/);
  assert.match(problem({ broker: 'mqtt://pi', password: 'x' }), /^User name is not set but a password is/);
  assert.match(problem({ broker: 'mqtts://pi', caFile: '/nonexistent/ca.pem' }), /^CA file \/nonexistent\/ca\.pem cannot be read \(ENOENT\)/);
  assert.equal(problem({ broker: 'mqtt://pi:1883', username: 'ann', password: 'x' }), '');
});

test('saving: the file is restricted before the settings are written into it; a failed restriction saves nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-settings-'));
  try {
    const file = path.join(dir, 'sub', 'viewer.yaml');
    const seen: string[] = [];
    const store = new SettingsStore(file, silentLogger, async (f) => {
      seen.push(fs.readFileSync(f, 'utf8'));
      fs.chmodSync(f, 0o600);
      return { how: 'test' };
    });
    let restarted = 0;
    const routes = new SettingsRoutes({ store, current: undefined, onSaved: () => { restarted++; } });
    const answer = await routes.answer('POST', '/api/settings', JSON.stringify({ broker: 'mqtt://pi:1883', username: 'ann', password: 'pw: "#x' }));
    assert.deepEqual(answer, { saved: file, protection: 'test' });
    assert.deepEqual(seen, [''], 'empty when restricted');
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /^password: 'pw: "#x'$/m, 'YAML-quoted');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(restarted, 0, 'the restart waits until the answer has left');
    await waitFor(() => restarted > 0, 2000, 'the restart after saving');
    assert.equal(restarted, 1);
    const view = await routes.answer('GET', '/api/settings', undefined);
    assert.equal(JSON.stringify(view).includes('pw:'), false, 'the password is never sent back');
    assert.equal(routes.answer('GET', '/api/other', undefined), undefined);

    const failing = new SettingsStore(path.join(dir, 'other.yaml'), silentLogger, async () => { throw new Error('icacls: access denied'); });
    await assert.rejects(new SettingsRoutes({ store: failing, current: undefined, onSaved: () => undefined }).answer('POST', '/api/settings', JSON.stringify({ broker: 'mqtt://pi' }))!, /cannot save the settings in .*other\.yaml: icacls: access denied/);
    assert.deepEqual(fs.readdirSync(dir), ['sub'], 'nothing left behind');
    await assert.rejects(new SettingsRoutes({ store: undefined, current: undefined, onSaved: () => undefined }).answer('POST', '/api/settings', '{}')!, /only in picam-viewer\.exe started without options/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the zip writer: Python\'s zipfile reads back every byte (deflated, UTF-8 names, fixed time)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-zip-'));
  try {
    const out = path.join(dir, 'a.zip');
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    writeZip(out, [{ name: 'picam-viewer.exe', data: big }, { name: 'LIES-ÄÖ.txt', data: Buffer.from('hi\r\n') }, { name: 'empty', data: Buffer.alloc(0) }], 1_700_000_000);
    const read = spawnSync('python3', ['-c', [
      'import sys, zipfile, hashlib',
      'z = zipfile.ZipFile(sys.argv[1])',
      'assert z.testzip() is None',
      'for i in z.infolist(): print(i.filename, i.file_size, i.compress_type, "%04d-%02d-%02d %02d:%02d:%02d" % i.date_time, hashlib.sha256(z.read(i)).hexdigest())',
    ].join('\n'), out], { encoding: 'utf8' });
    assert.equal(read.status, 0, read.stderr);
    const sha = (b: Buffer): string => spawnSync('sha256sum', { input: b, encoding: 'utf8' }).stdout.split(' ')[0]!;
    assert.deepEqual(read.stdout.trim().split('\n'), [
      `picam-viewer.exe 300000 8 2023-11-14 22:13:20 ${sha(big)}`,
      `LIES-ÄÖ.txt 4 8 2023-11-14 22:13:20 ${sha(Buffer.from('hi\r\n'))}`,
      `empty 0 8 2023-11-14 22:13:20 ${sha(Buffer.alloc(0))}`,
    ]);
    const again = path.join(dir, 'b.zip');
    writeZip(again, [{ name: 'picam-viewer.exe', data: big }, { name: 'LIES-ÄÖ.txt', data: Buffer.from('hi\r\n') }, { name: 'empty', data: Buffer.alloc(0) }], 1_700_000_000);
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(again)), 'same input, same bytes');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
