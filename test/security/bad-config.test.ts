import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { makeTestPki, type TestPki } from '../helpers/certificates.js';
import { AGENT_CLI, VIEWER_CLI, runNode } from '../helpers/processes.js';

// Every invalid configuration, whatever its layer (flag, environment, config file), must stop the program
// with exit code 2 and exactly one line that names the field and says what to do. Secrets in a bad value
// are never echoed.

const SECRET = 'hunter2-S3cret';
let dir: string;
let pki: TestPki;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-badconfig-'));
  pki = makeTestPki();
  const files: Record<string, string> = {
    'unknown-key.yaml': 'fsp: 10\n',
    'wrong-type.yaml': 'fps: fast\n',
    'not-whole.json': '{"width": 12.5}\n',
    'out-of-range.yaml': 'quality: 101\n',
    'list-type.yaml': 'camera:\n  garden: 1\n',
    'broken.yaml': 'fps: [1, 2\n',
    'broken-secret.json': `{"password": ${SECRET}}\n`,
    'secret-type.yaml': `password: [${SECRET}]\n`,
    'not-a-mapping.yaml': '- fps\n- 10\n',
    'not-pem.txt': 'this is not a certificate\n',
    // YAML reads a value starting with ! as a tag and one starting with * as an alias: the library printed
    // the first (whole line) and ran with an empty password, and quoted the second in its error.
    'secret-tag.yaml': `username: garden\npassword: !${SECRET}\n`,
    'secret-alias.yaml': `username: garden\npassword: *${SECRET}\n`,
    'password-only': `${SECRET}\n`,
  };
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
});
after(() => { fs.rmSync(dir, { recursive: true, force: true }); fs.rmSync(pki.dir, { recursive: true, force: true }); });

interface Case {
  name: string;
  program: 'agent' | 'viewer';
  args: () => string[];
  env?: NodeJS.ProcessEnv;
  /** The one line must match this (it names the field). */
  line: RegExp;
}

const f = (name: string): string => path.join(dir, name);
const TLS_BROKER = ['--broker', 'mqtts://127.0.0.1:8883'];

const CASES: Case[] = [
  // Wrong types
  { name: 'flag: not a number', program: 'agent', args: () => ['--fps', 'fast'], line: /--fps: expected a number, got "fast"/ },
  { name: 'flag: not a whole number', program: 'agent', args: () => ['--width', '12.5'], line: /--width: expected a whole number, got "12.5"/ },
  { name: 'flag: not a boolean', program: 'agent', args: () => ['--loop=perhaps'], line: /--loop: expected true or false, got "perhaps"/ },
  { name: 'env: not a number', program: 'agent', args: () => [], env: { PICAM_FPS: 'fast' }, line: /PICAM_FPS: expected a number, got "fast"/ },
  { name: 'file: not a number', program: 'agent', args: () => ['--config', f('wrong-type.yaml')], line: /"fps" in .*wrong-type\.yaml: expected a number, got "fast"/ },
  { name: 'file: not a whole number', program: 'agent', args: () => ['--config', f('not-whole.json')], line: /"width" in .*not-whole\.json: expected a whole number, got 12\.5/ },
  { name: 'file: list expected', program: 'viewer', args: () => ['--config', f('list-type.yaml')], line: /"camera" in .*list-type\.yaml: expected a list of text values/ },
  { name: 'file: not a mapping', program: 'agent', args: () => ['--config', f('not-a-mapping.yaml')], line: /config file .*not-a-mapping\.yaml must hold a mapping of option names to values/ },
  { name: 'file: broken YAML', program: 'agent', args: () => ['--config', f('broken.yaml')], line: /config file .*broken\.yaml is not valid YAML/ },
  // Unknown keys and flags
  { name: 'file: unknown key', program: 'agent', args: () => ['--config', f('unknown-key.yaml')], line: /config file .*unknown-key\.yaml: unknown key "fsp"/ },
  { name: 'flag: unknown option', program: 'viewer', args: () => ['--fsp', '10'], line: /unknown option --fsp: see --help/ },
  { name: 'missing config file', program: 'viewer', args: () => ['--config', f('nowhere.yaml')], line: /config file .*nowhere\.yaml cannot be read \(ENOENT\)/ },
  // Out of range, not allowed, wrong shape
  { name: 'flag: fps out of range', program: 'agent', args: () => ['--fps', '500'], line: /--fps: 500 is out of range; use 0\.1 to 120/ },
  { name: 'file: quality out of range', program: 'agent', args: () => ['--config', f('out-of-range.yaml')], line: /"quality" in .*out-of-range\.yaml: 101 is out of range; use 1 to 100/ },
  { name: 'flag: keepalive 0', program: 'agent', args: () => ['--keepalive', '0'], line: /--keepalive: 0 is out of range; use 1 to 3600/ },
  { name: 'flag: stall timeout too short', program: 'agent', args: () => ['--stall-timeout', '0.1'], line: /--stall-timeout: 0\.1 is out of range; use 0\.5 to 3600/ },
  { name: 'flag: chunk smaller than its header', program: 'agent', args: () => ['--chunk-size', '36'], line: /--chunk-size: 36 is out of range; use 1024 to/ },
  { name: 'flag: chunk below the smallest sensible size', program: 'agent', args: () => ['--chunk-size', '40'], line: /--chunk-size: 40 is out of range; use 1024 to/ },
  { name: 'env: chunk too small for the tail chunk', program: 'agent', args: () => [], env: { PICAM_CHUNK_SIZE: '99' }, line: /PICAM_CHUNK_SIZE: 99 is out of range; use 1024 to/ },
  { name: 'flag: qos 2', program: 'agent', args: () => ['--qos', '2'], line: /--qos: "2" is not allowed; use one of 0, 1/ },
  { name: 'env: unknown MQTT version', program: 'viewer', args: () => [], env: { PICAM_VIEWER_MQTT_VERSION: '3' }, line: /PICAM_VIEWER_MQTT_VERSION: "3" is not allowed; use one of 4, 5/ },
  { name: 'flag: camera id with a space', program: 'agent', args: () => ['--camera-id', 'bad id'], line: /--camera-id: "bad id" is not made of letters, digits, _ and -/ },
  { name: 'flag: wildcard in the prefix', program: 'agent', args: () => ['--prefix', 'picam/#'], line: /--prefix: "picam\/#" is not one or more topic levels without wildcards/ },
  { name: 'flag: not a broker URL', program: 'viewer', args: () => ['--broker', 'http://pi.local'], line: /--broker: "http:\/\/pi\.local" is not a broker URL/ },
  { name: 'flag: port out of range', program: 'viewer', args: () => ['--listen', '127.0.0.1:70000'], line: /--listen: port must be 0 to 65535/ },
  { name: 'flag: max cameras 0', program: 'viewer', args: () => ['--max-cameras', '0'], line: /--max-cameras: 0 is out of range; use 1 to 4096/ },
  { name: 'flag: frame timeout too short', program: 'viewer', args: () => ['--frame-timeout', '10'], line: /--frame-timeout: 10 is out of range; use 50 to 60000/ },
  { name: 'flag: overlay with an unknown placeholder', program: 'agent', args: () => ['--overlay', '{id} {hostname}'], line: /--overlay: "\{id\} \{hostname\}" is not text of at most 200 characters whose only placeholders are \{id\}, \{date\} and \{time\}/ },
  { name: 'env: overlay in the middle', program: 'agent', args: () => [], env: { PICAM_OVERLAY_POSITION: 'middle' }, line: /PICAM_OVERLAY_POSITION: "middle" is not allowed; use one of top-left, top-right, bottom-left, bottom-right/ },
  { name: 'flag: rpicam exposure mode it lacks', program: 'agent', args: () => ['--source', 'rpicam', '--exposure', 'fireworks'], line: /--exposure: 'fireworks' is not a rpicam mode; use one of normal, sport, long, custom/ },
  { name: 'flag: source folder missing', program: 'agent', args: () => ['--source', `file:${f('no-such-folder')}`], line: /--source file:.*no-such-folder: no JPEG files match .*no-such-folder/ },
  // Password and TLS files
  { name: 'missing password file', program: 'agent', args: () => ['--password-file', f('no-password')], line: /passwordFile .*no-password cannot be read \(ENOENT\)/ },
  { name: 'password file is a folder', program: 'viewer', args: () => ['--password-file', dir], line: /passwordFile .* cannot be read \(EISDIR\)/ },
  { name: 'missing CA file', program: 'agent', args: () => [...TLS_BROKER, '--ca-file', f('no-ca.crt')], line: /caFile .*no-ca\.crt cannot be read \(ENOENT\)/ },
  { name: 'unreadable client certificate (a folder)', program: 'viewer', args: () => [...TLS_BROKER, '--cert-file', dir, '--key-file', pki.clientKey], line: /certFile .* cannot be read \(EISDIR\)/ },
  { name: 'CA file that is not PEM', program: 'viewer', args: () => [...TLS_BROKER, '--ca-file', f('not-pem.txt')], line: /caFile .*not-pem\.txt holds no PEM certificate/ },
  { name: 'key file that is not a key', program: 'agent', args: () => [...TLS_BROKER, '--cert-file', pki.clientCert, '--key-file', f('not-pem.txt')], line: /keyFile .*not-pem\.txt is not an unencrypted PEM private key/ },
  { name: 'key of another certificate', program: 'agent', args: () => [...TLS_BROKER, '--cert-file', pki.clientCert, '--key-file', pki.strayKey], line: /keyFile .*stray\.key does not belong to certFile/ },
  { name: 'certificate without key', program: 'agent', args: () => [...TLS_BROKER, '--cert-file', pki.clientCert], line: /certFile is set without keyFile/ },
  { name: 'TLS files with a plain mqtt:// broker', program: 'viewer', args: () => ['--broker', 'mqtt://127.0.0.1:1883', '--ca-file', pki.ca], line: /caFile set but broker mqtt:\/\/127\.0\.0\.1:1883 does not use TLS: use mqtts:\/\// },
  // Secrets: refused on the command line, never echoed
  { name: 'password as a flag', program: 'agent', args: () => ['--password', SECRET], line: /--password cannot be given on the command line \(it would show in ps\): use PICAM_PASSWORD or the config file/ },
  { name: 'password inside a --broker URL', program: 'viewer', args: () => ['--broker', `mqtt://viewer:${SECRET}@127.0.0.1:1883`], line: /--broker: the URL holds a password, which would show in ps; .* PICAM_VIEWER_PASSWORD or passwordFile/ },
  { name: 'password of the wrong type in a file', program: 'agent', args: () => ['--config', f('secret-type.yaml')], line: /"password" in .*secret-type\.yaml: expected text, got a value that is not shown \(secret\)/ },
  { name: 'broken JSON holding the password', program: 'agent', args: () => ['--config', f('broken-secret.json')], line: /config file .*broken-secret\.json is not valid JSON/ },
  { name: 'YAML password starting with !', program: 'agent', args: () => ['--config', f('secret-tag.yaml')], line: /config file .*secret-tag\.yaml is not valid YAML at line 2 \("password"\): a value starts with !, which YAML reads as a tag; put the value in quotes/ },
  { name: 'YAML password starting with *', program: 'viewer', args: () => ['--config', f('secret-alias.yaml')], line: /config file .*secret-alias\.yaml is not valid YAML at line 2 \("password"\): a value starts with \*, which YAML reads as an alias; put the value in quotes/ },
  { name: 'password without a user name (agent)', program: 'agent', args: () => [], env: { PICAM_PASSWORD: SECRET }, line: /username is not set but a password is: MQTT sends a password only with a user name; set username \(--username or PICAM_USERNAME\)/ },
  { name: 'password file without a user name (viewer)', program: 'viewer', args: () => ['--password-file', f('password-only')], line: /username is not set but a password is: .* PICAM_VIEWER_USERNAME/ },
  { name: 'password in a broker URL without a user name', program: 'agent', args: () => [], env: { PICAM_BROKER: `mqtt://:${SECRET}@127.0.0.1:1883` }, line: /username is not set but a password is/ },
  // A password holding @ was partly shown (mqtt://user:Sup3r@Secret@host logged as ***@Secret@host).
  { name: 'TLS files with a plain broker URL whose password holds @', program: 'agent', args: () => ['--ca-file', pki.ca], env: { PICAM_BROKER: `mqtt://garden:Sup3r@${SECRET}@127.0.0.1:1883` }, line: /caFile set but broker mqtt:\/\/garden:\*\*\*@127\.0\.0\.1:1883 does not use TLS/ },
  { name: 'not a broker URL, with a password', program: 'viewer', args: () => [], env: { PICAM_VIEWER_BROKER: `http://viewer:Sup3r@${SECRET}@pi.local` }, line: /PICAM_VIEWER_BROKER: "http:\/\/viewer:\*\*\*@pi\.local" is not a broker URL/ },
];

test(`bad configuration: ${CASES.length} cases, each one clear line naming the field, exit code 2, no secret echoed`, async () => {
  const results: string[] = [];
  const failures: string[] = [];
  // A few at a time: each is a short-lived process.
  for (let i = 0; i < CASES.length; i += 4) {
    await Promise.all(CASES.slice(i, i + 4).map(async (c) => {
      const cli = c.program === 'agent' ? AGENT_CLI : VIEWER_CLI;
      const run = runNode(cli, c.args(), { PICAM_CONFIG: '', PICAM_VIEWER_CONFIG: '', ...c.env });
      // A configuration that is wrongly accepted would run for ever: killed, it fails the case.
      const timer = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
      const code = await run.exited;
      clearTimeout(timer);
      const out = run.output();
      const lines = out.split('\n').filter((l) => l.trim() !== '');
      const ok = code === 2 && lines.length === 1 && lines[0]!.startsWith(`picam-${c.program}: config error: `) && c.line.test(lines[0]!) && !out.includes('hunter2');
      if (!ok) failures.push(`${c.name}: exit ${code}, expected 2 and one line matching ${c.line} without the secret; got:\n${out}`);
      results.push(`${c.name} → ${lines[0]}`);
    }));
  }
  for (const r of results.sort()) console.log(`# ${r}`);
  assert.deepEqual(failures, []);
});
