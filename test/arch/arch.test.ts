import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import sharp from 'sharp';
import { createLogger } from '../../common/logger.js';
import { parseStats, parseTopic, Reassembler, type CameraStats, type CompleteFrame } from '../../protocol/index.js';
import { archInfo, type ReleaseArch } from '../../scripts/release/arch.js';
import { buildRelease, MANIFEST_FILE, SUMS_FILE, type ReleaseManifest, type ReleaseResult } from '../../scripts/release/build-release.js';
import { runCommand } from '../../scripts/release/run-command.js';
import { sha256File } from '../../scripts/release/tree-hash.js';
import { aptMirror, cachedRootTarball, defaultCacheDir, removeRoot, unpackRoot } from '../helpers/debian-root.js';
import { EmulatedProcess, runEmulatedNode, type EmulationSpec } from '../helpers/emulated-node.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { waitFor, ROOT } from '../helpers/processes.js';
import type { EncodeProbeResult } from './encode-probe.js';

// The Pi's own architectures, proven here under qemu user-mode emulation: each release is built as the deploy
// ships it, unpacked into a Debian trixie root of that architecture (its Node.js, its glibc), and the agent runs
// on an emulated Pi CPU against a Mosquitto on the host. A host subscriber reassembles and CRC-checks the frames
// and decodes every JPEG. Figures (emulated start-up, frame and encode times) are printed and written to
// release/arch-report.json; they describe qemu on this machine, not a real Pi, and nothing asserts on them.
//
// Run with `npm run test:arch` (PICAM_TEST_ARCH=1); under plain `npm test` this file only says so and skips.
// PICAM_TEST_ARCHES=arm64 limits the run; PICAM_DEBIAN_MIRROR and PICAM_TEST_CACHE override the mirror and cache.

const ENABLED = process.env.PICAM_TEST_ARCH === '1';
const ARCHES = (process.env.PICAM_TEST_ARCHES ?? 'arm64,armhf').split(',').map((a) => a.trim()).filter(Boolean) as ReleaseArch[];
const SUITE = 'trixie';
const ROOT_PACKAGES = ['nodejs', 'ca-certificates'];
const WIDTH = 640;
const HEIGHT = 480;
const QUALITY = 80;
const FRAMES_WANTED = 10;
const REPORT = path.join(ROOT, 'release', 'arch-report.json');

const logger = createLogger({ level: 'info', component: 'test:arch' });
const report: Record<string, unknown> = {};

/** Decided before the tests are declared, so a skip names its reason. Only a qemu that cannot run skips. */
function skipReason(arch: ReleaseArch): string | false {
  if (!ENABLED) return 'emulated ARM releases are tested by `npm run test:arch`';
  const qemu = archInfo(arch).qemu;
  if (!qemu) return `${arch} needs no emulation`;
  const probe = spawnSync(qemu.binary, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return `${qemu.binary} cannot run here (${probe.error?.message ?? `exit ${probe.status}`}): apt-get install qemu-user-static`;
  return false;
}

let broker: RunningBroker | undefined;
const sharedBroker = async (): Promise<RunningBroker> => (broker ??= await startMosquitto());

after(async () => {
  await broker?.stop();
  if (Object.keys(report).length > 0) {
    fs.mkdirSync(path.dirname(REPORT), { recursive: true });
    fs.writeFileSync(REPORT, JSON.stringify(report, null, 2) + '\n');
    console.log(`figures written to ${path.relative(process.cwd(), REPORT)}`);
  }
});

const round = (ms: number): number => Math.round(ms);

for (const arch of ARCHES) {
  const info = archInfo(arch);
  const qemu = info.qemu ?? { binary: '', cpu: '' };
  describe(`${arch} release on an emulated ${qemu.cpu} in Debian ${SUITE}`, { skip: skipReason(arch) }, () => {
    const figures: Record<string, unknown> = { machines: info.machines, qemu: `${qemu.binary} -cpu ${qemu.cpu}` };
    let work: string;
    let release: ReleaseResult | undefined;
    let root: string | undefined;
    let appDir: string | undefined;
    let emulation: EmulationSpec | undefined;
    let agent: EmulatedProcess | undefined;

    before(() => {
      work = fs.mkdtempSync(path.join(os.tmpdir(), `picam-arch-${arch}-`));
      report[arch] = figures;
    });
    after(async () => {
      await agent?.stop('SIGKILL', 5000);
      if (root) removeRoot(root);
      fs.rmSync(work, { recursive: true, force: true });
    });

    it('builds a release whose native code is all for the target CPU', { timeout: 300_000 }, async () => {
      const started = performance.now();
      release = await buildRelease({ arch, projectDir: ROOT, outDir: path.join(work, 'out'), logger: logger.child(arch) });
      figures.releaseBuildMs = round(performance.now() - started);
      figures.tarballBytes = release.bytes;
      figures.unpackedBytes = release.manifest.bytes;
      figures.files = release.manifest.files;
      const m = release.manifest;
      assert.equal(m.arch, arch);
      assert.equal(m.nodeArch, info.nodeArch);
      assert.ok(m.bin['picam-agent'], 'picam-agent is in the release');
      const sharpBinary = m.native.find((n) => /@img\/sharp-linux-[^/]+\/lib\/sharp-.*\.node$/.test(n.path));
      assert.ok(sharpBinary, `sharp's prebuilt binary for ${info.nodeArch} is in the release: ${JSON.stringify(m.native)}`);
      assert.ok(m.glibc, 'the manifest names the glibc the native code needs');
      assert.equal(fs.readFileSync(`${release.tarball}.sha256`, 'utf8'), `${sha256File(release.tarball)}  ${path.basename(release.tarball)}\n`);
      assert.equal(sha256File(release.stableTarball), release.sha256, 'the name without the version is the same file');
    });

    it(`unpacks into a Debian ${SUITE} ${info.debianArch} root with every file as listed`, { timeout: 600_000 }, async () => {
      assert.ok(release, 'no release was built');
      const spec = { arch: info.debianArch, suite: SUITE, packages: ROOT_PACKAGES, mirror: aptMirror() };
      const cached = await cachedRootTarball(spec, defaultCacheDir(), logger.child(arch));
      figures.rootCached = cached.cached;
      figures.rootPrepareMs = round(cached.ms);
      const unpackStarted = performance.now();
      root = await unpackRoot(cached.tarball, work);
      appDir = path.join(root, 'opt', 'picam-mqtt');
      fs.mkdirSync(appDir, { recursive: true });
      await runCommand('tar', ['--extract', '--gzip', '--file', release.tarball, '--directory', appDir]);
      figures.unpackMs = round(performance.now() - unpackStarted);
      await runCommand('sha256sum', ['--check', '--quiet', '--strict', SUMS_FILE], { cwd: appDir });
      const manifest = JSON.parse(fs.readFileSync(path.join(appDir, MANIFEST_FILE), 'utf8')) as ReleaseManifest;
      assert.equal(manifest.treeSha256, sha256File(path.join(appDir, SUMS_FILE)), 'MANIFEST.json treeSha256 is the hash of SHA256SUMS');
      assert.deepEqual(manifest, release.manifest);
      emulation = { qemu: qemu.binary, cpu: qemu.cpu, root };
    });

    it('runs picam-agent --version with the root\'s Node.js on the emulated CPU', { timeout: 180_000 }, async () => {
      assert.ok(emulation && appDir && release, 'no emulated root');
      const node = await runEmulatedNode(emulation, ['-p', 'JSON.stringify({ version: process.version, arch: process.arch, glibc: process.report.getReport().header.glibcVersionRuntime })']);
      const runtime = JSON.parse(node.stdout) as { version: string; arch: string; glibc: string };
      assert.equal(runtime.arch, info.nodeArch, 'the emulated Node is the target architecture');
      figures.node = runtime.version;
      figures.glibc = runtime.glibc;
      const result = await runEmulatedNode(emulation, [path.join(appDir, release.manifest.bin['picam-agent']!), '--version']);
      assert.equal(result.stdout, `picam-agent ${release.manifest.version}\n`);
      assert.equal(result.stderr, '', 'no warnings on start-up');
      figures.agentVersionMs = round(result.ms);
    });

    it('streams intact frames from the emulated CPU to a subscriber on the host, then stops cleanly', { timeout: 240_000 }, async () => {
      assert.ok(emulation && appDir && release, 'no emulated root');
      const mosquitto = await sharedBroker();
      const cameraId = `arch-${arch}`;
      const frames: CompleteFrame[] = [];
      const statuses: string[] = [];
      const stats: CameraStats[] = [];
      let corrupt = 0;
      const reassembler = new Reassembler();
      const subscriber = await mqtt.connectAsync(mosquitto.url, { reconnectPeriod: 0 });
      try {
        subscriber.on('message', (topic, payload) => {
          const parsed = parseTopic(topic);
          if (!parsed) return;
          if (parsed.kind === 'frame') {
            const result = reassembler.push(parsed.base, payload);
            if (result.kind === 'frame') frames.push(result.frame);
            if (result.kind === 'corrupt') corrupt++;
          } else if (parsed.kind === 'status') {
            statuses.push(payload.toString('utf8'));
          } else if (parsed.kind === 'stats') {
            const doc = parseStats(payload);
            if (doc) stats.push(doc);
          }
        });
        await subscriber.subscribeAsync(`picam/${cameraId}/#`);

        const started = performance.now();
        // Small chunks, so every frame crosses the broker in several pieces and reassembly is exercised.
        agent = new EmulatedProcess(emulation, [
          path.join(appDir, release.manifest.bin['picam-agent']!),
          '--broker', mosquitto.url, '--camera-id', cameraId, '--source', 'synthetic',
          '--fps', '5', '--width', String(WIDTH), '--height', String(HEIGHT), '--quality', String(QUALITY),
          '--chunk-size', '8192', '--stats-interval', '2',
        ]);
        agent.start();
        const running = agent;
        const failIfExited = (): void => { if (!running.running()) throw new Error(`agent exited early:\n${running.output()}`); };
        await waitFor(() => { failIfExited(); return frames.length > 0 ? true : undefined; }, 120_000, 'the first frame');
        figures.firstFrameMs = round(performance.now() - started);
        const windowStart = performance.now();
        const countAtStart = frames.length;
        await waitFor(() => { failIfExited(); return frames.length >= FRAMES_WANTED && stats.length > 0 ? true : undefined; }, 120_000, `${FRAMES_WANTED} frames and a stats message`);
        figures.receivedFps = Math.round(((frames.length - countAtStart) / ((performance.now() - windowStart) / 1000)) * 10) / 10;

        const stopped = await agent.stop('SIGTERM', 30_000);
        assert.deepEqual(stopped, { code: 0, signal: null, forced: false }, `agent output:\n${agent.output()}`);
        await waitFor(() => (statuses.at(-1) === 'offline' ? true : undefined), 10_000, 'status offline');
        assert.equal(statuses[0], 'online');
        assert.match(agent.output(), /agent stopped framesSent=\d+/);
      } finally {
        await subscriber.endAsync();
      }

      assert.equal(corrupt, 0, 'no frame failed its CRC-32');
      const counters = reassembler.counters(`picam/${cameraId}`)!;
      assert.ok(counters.chunksReceived > frames.length, `frames came in several chunks (${counters.chunksReceived} chunks for ${frames.length} frames)`);
      let previous = -1;
      for (const frame of frames) {
        assert.ok(frame.seq > previous, 'frames arrive in order');
        previous = frame.seq;
        assert.equal(frame.data.readUInt16BE(0), 0xffd8, 'JPEG starts with SOI');
        assert.equal(frame.data.readUInt16BE(frame.data.length - 2), 0xffd9, 'JPEG ends with EOI');
        const decoded = await sharp(frame.data).raw().toBuffer({ resolveWithObject: true });
        assert.equal(decoded.info.width, WIDTH);
        assert.equal(decoded.info.height, HEIGHT);
      }
      figures.framesReceived = frames.length;
      figures.agentStatsFps = stats.at(-1)!.fps;
      figures.meanJpegBytes = Math.round(frames.reduce((sum, f) => sum + f.data.length, 0) / frames.length);
    });

    it('times the agent\'s frame work and a sharp JPEG encode on the emulated CPU', { timeout: 180_000 }, async () => {
      assert.ok(emulation && appDir, 'no emulated root');
      const probe = path.join(ROOT, 'dist', 'test', 'arch', 'encode-probe.js');
      const result = await runEmulatedNode(emulation, [probe, appDir, String(WIDTH), String(HEIGHT), String(QUALITY), '10']);
      const figuresOut = JSON.parse(result.stdout) as EncodeProbeResult;
      assert.equal(figuresOut.arch, info.nodeArch);
      assert.equal(figuresOut.agentFrameMs.length, 10);
      assert.equal(figuresOut.jpegEncodeMs.length, 10);
      figures.sharpLoadMs = figuresOut.loadMs;
      figures.agentFrameMedianMs = figuresOut.agentFrameMedianMs;
      figures.jpegEncodeMedianMs = figuresOut.jpegEncodeMedianMs;
      figures.sharp = figuresOut.sharp;
      figures.vips = figuresOut.vips;
      console.log(`${arch} (${qemu.cpu}, emulated): release ${(Number(figures.tarballBytes) / 1048576).toFixed(1)} MiB; ` +
        `node ${String(figures.node)} glibc ${String(figures.glibc)}; picam-agent --version ${String(figures.agentVersionMs)} ms; ` +
        `first frame after ${String(figures.firstFrameMs)} ms, ${String(figures.receivedFps)} fps received (asked 5); ` +
        `${WIDTH}x${HEIGHT} q${QUALITY}: agent frame ${figuresOut.agentFrameMedianMs} ms, sharp JPEG encode ${figuresOut.jpegEncodeMedianMs} ms (medians of 10); ` +
        `root ${figures.rootCached ? 'cached' : `built in ${String(figures.rootPrepareMs)} ms`}`);
    });
  });
}

describe('host reference for the emulated figures', { skip: ENABLED ? false : 'part of `npm run test:arch`' }, () => {
  it('times the same frame work with the project\'s Node.js and sharp on this machine', { timeout: 60_000 }, async () => {
    const probe = path.join(ROOT, 'dist', 'test', 'arch', 'encode-probe.js');
    const result = await runCommand(process.execPath, [probe, ROOT, String(WIDTH), String(HEIGHT), String(QUALITY), '10']);
    const out = JSON.parse(result.stdout) as EncodeProbeResult;
    assert.equal(out.agentFrameMs.length, 10);
    report.host = { arch: out.arch, node: out.node, sharpLoadMs: out.loadMs, agentFrameMedianMs: out.agentFrameMedianMs, jpegEncodeMedianMs: out.jpegEncodeMedianMs };
    console.log(`host ${out.arch} (native): agent frame ${out.agentFrameMedianMs} ms, sharp JPEG encode ${out.jpegEncodeMedianMs} ms (medians of 10)`);
  });
});
