import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { clipSpecs, makeClip, writeClip, type Clip } from '../../bench/motion-clips.js';
import { parseMotionEvent, type MotionEvent } from '../../protocol/motion.js';
import { Reassembler } from '../../protocol/reassembler.js';
import { startMosquitto, freePort, type RunningBroker } from '../../harness/mosquitto.js';
import { AGENT_CLI, VIEWER_CLI, waitFor, runNode, type RunningProcess } from '../helpers/processes.js';

// End to end: a stand-in camera (the agent's file: source replaying clips made in the project) → picam-agent
// --motion → real mosquitto → a watching MQTT client and picam-viewer --record-on-motion.
// The moving clip: 2 s still, 3 s of a walking figure (frames 20-49), 4 s still, at 10 fps.

const FPS = 10;
const MOTION_FPS = 5;
const MIN_DURATION_S = 0.3;
const HOLD_S = 1;
/**
 * The promise (docs/MOTION.md): ON within minDuration + 2 analysis intervals of capture time after the first
 * moving frame, OFF within hold + 2 intervals after the last. On this shared machine the analysis and the
 * broker add time of their own; SLACK_S is that allowance, and the figures are printed.
 */
const SLACK_S = 1.5;

let broker: RunningBroker;
let moving: Clip;
let masked: Clip;
const dirs: string[] = [];
const running: RunningProcess[] = [];
let watcher: mqtt.MqttClient | undefined;

before(async () => {
  broker = await startMosquitto();
  const specs = clipSpecs(320, 240);
  moving = await makeClip(specs.find((s) => s.name === 'medium')!);
  masked = await makeClip(specs.find((s) => s.name === 'masked')!);
});
after(async () => {
  await watcher?.endAsync(true);
  for (const p of running) await p.stop('SIGKILL');
  await broker.stop();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `picam-motion-${name}-`));
  dirs.push(dir);
  return dir;
}

/** Which clip frame these bytes are (-1 when none): the camera's bytes must arrive untouched. */
const indexOf = (clip: Clip, data: Buffer): number => clip.frames.findIndex((f) => f.equals(data));

interface Seen {
  /** Arrival time (ms, this clock) of each clip frame by its index, and its seq. */
  frames: Map<number, { atMs: number; seq: number }>;
  motion: Array<{ state: string; atMs: number; retain: boolean }>;
  events: MotionEvent[];
}

async function watch(cameras: Record<string, Clip>): Promise<Record<string, Seen>> {
  const seen: Record<string, Seen> = {};
  for (const id of Object.keys(cameras)) seen[id] = { frames: new Map(), motion: [], events: [] };
  const reassembler = new Reassembler({});
  watcher = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  watcher.on('message', (topic, payload, packet) => {
    const [, id, kind] = topic.split('/');
    const s = seen[id!];
    if (!s) return;
    const atMs = performance.now();
    if (kind === 'frame') {
      const result = reassembler.push(id!, payload);
      if (result.kind === 'frame') s.frames.set(indexOf(cameras[id!]!, result.frame.data), { atMs, seq: result.frame.seq });
    } else if (kind === 'motion') {
      s.motion.push({ state: payload.toString(), atMs, retain: packet.retain });
    } else if (kind === 'event') {
      const event = parseMotionEvent(payload);
      assert.ok(event, `a valid event document: ${payload.toString()}`);
      s.events.push(event);
    }
  });
  await watcher.subscribeAsync('picam/+/#');
  return seen;
}

test('motion: ON and OFF on MQTT within the promised delay, the event names the first moving frame, the recording holds the pre-roll byte for byte, a masked zone triggers nothing', async () => {
  const recordDir = tempDir('rec');
  const port = await freePort();
  const viewer = runNode(VIEWER_CLI, ['--broker', broker.url, '--listen', `127.0.0.1:${port}`, '--record-on-motion', recordDir, '--pre-roll', '1.5', '--post-roll', '0.5']);
  running.push(viewer);
  await viewer.waitFor(/connected to broker/);
  const seen = await watch({ walk: moving, masked });

  const common = ['--broker', broker.url, '--fps', String(FPS), '--no-loop', '--motion', '--motion-fps', String(MOTION_FPS), '--motion-min-duration', String(MIN_DURATION_S), '--motion-hold', String(HOLD_S), '--stats-interval', '1'];
  const walkDir = tempDir('walk');
  writeClip(moving, walkDir);
  const maskedDir = tempDir('masked');
  writeClip(masked, maskedDir);
  const walk = runNode(AGENT_CLI, [...common, '--camera-id', 'walk', '--source', `file:${walkDir}`]);
  const mask = runNode(AGENT_CLI, [...common, '--camera-id', 'masked', '--source', `file:${maskedDir}`, '--motion-mask', '0.6,0,0.4,1']);
  running.push(walk, mask);

  // Both clips played to the end, and the walk's event is over (OFF after hold) and its file closed.
  await walk.waitFor(/file source reached the last file/, 60_000);
  await mask.waitFor(/file source reached the last file/, 60_000);
  await waitFor(() => (seen.walk!.motion.some((m) => m.state === 'OFF' && !m.retain) ? true : undefined), 15_000, 'OFF for the walk');
  await viewer.waitFor(/motion: recording closed/, 15_000);

  // --- ON / OFF and the event, against the frames as they arrived
  const w = seen.walk!;
  const first = w.frames.get(20);
  const last = w.frames.get(49);
  assert.ok(first && last, 'the moving frames reached the watcher');
  const on = w.motion.find((m) => m.state === 'ON');
  const off = w.motion.filter((m) => m.state === 'OFF' && !m.retain).at(-1);
  assert.ok(on && off, JSON.stringify(w.motion));
  assert.equal(w.motion.filter((m) => m.state === 'ON').length, 1, 'one event, not a flicker');
  const onDelayS = (on.atMs - first.atMs) / 1000;
  const offDelayS = (off.atMs - last.atMs) / 1000;
  const interval = 1 / MOTION_FPS;
  console.log(`# ON ${onDelayS.toFixed(2)} s after the first moving frame arrived (promise ${MIN_DURATION_S + 2 * interval} s + ${SLACK_S} s slack); OFF ${offDelayS.toFixed(2)} s after the last (promise ${HOLD_S + 2 * interval} s + slack)`);
  assert.ok(onDelayS >= MIN_DURATION_S - 0.05 && onDelayS <= MIN_DURATION_S + 2 * interval + SLACK_S, `ON delay ${onDelayS} s`);
  // The hold runs from the last *analysed* frame with motion, which may be up to one interval before frame 49.
  assert.ok(offDelayS >= HOLD_S - interval - 0.05 && offDelayS <= HOLD_S + 2 * interval + SLACK_S, `OFF delay ${offDelayS} s`);
  const start = w.events.find((e) => e.phase === 'start');
  const end = w.events.find((e) => e.phase === 'end');
  assert.ok(start && end && start.id === end.id, JSON.stringify(w.events));
  const startIndex = [...w.frames].find(([, f]) => f.seq === start.seq)?.[0];
  assert.ok(startIndex !== undefined && startIndex >= 20 && startIndex < 20 + FPS / MOTION_FPS + 1, `the event's seq names a first moving frame (clip frame ${startIndex})`);
  assert.ok(end.peak >= 2 && end.box.x >= 0 && end.box.w > 0, `peak ${end.peak} %, box ${JSON.stringify(end.box)}`);

  // --- the masked camera: motion only inside its mask, nothing reported
  const m = seen.masked!;
  assert.ok(m.frames.has(35), 'the masked clip\'s moving frames were sent');
  assert.deepEqual(m.motion.map((x) => x.state), ['OFF'], 'only its initial OFF');
  assert.equal(m.events.length, 0);
  const stats = await waitFor(async () => {
    const api = (await (await fetch(`http://127.0.0.1:${port}/api/cameras`)).json()) as { cameras: Array<{ cameraId: string; motion?: { state?: string; events: unknown[] } }> };
    return api.cameras.find((c) => c.cameraId === 'walk')?.motion?.events.length === 1 ? api : undefined;
  }, 10_000, 'the viewer lists the event');
  assert.equal(stats.cameras.find((c) => c.cameraId === 'masked')?.motion?.events.length ?? 0, 0);
  const picture = await fetch(`http://127.0.0.1:${port}/api/cameras/walk/event-${start.id}.jpg`);
  assert.equal(picture.status, 200);
  assert.ok(indexOf(moving, Buffer.from(await picture.arrayBuffer())) >= 20, 'the event\'s picture is a frame of the clip with the figure');

  // --- the recording: pre-roll, event and post-roll, every frame byte-identical to the camera's
  const files = fs.readdirSync(recordDir).sort();
  assert.deepEqual(files.map((f) => f.replace(/^walk_.*_motion/, 'walk_motion')), ['walk_motion.csv', 'walk_motion.mjpeg'], 'one event file, none for the masked camera');
  const data = fs.readFileSync(path.join(recordDir, files[1]!));
  const rows = fs.readFileSync(path.join(recordDir, files[0]!), 'utf8').trim().split('\n');
  assert.equal(rows[0], 'frame,seq,captured_at_utc,captured_at_us,received_at_ms,offset,length,motion,event');
  const recorded = rows.slice(1).map((line) => {
    const cells = line.split(',');
    const offset = Number(cells[5]);
    const length = Number(cells[6]);
    return { seq: Number(cells[1]), phase: cells[7]!, event: cells[8]!, index: indexOf(moving, data.subarray(offset, offset + length)) };
  });
  assert.ok(recorded.every((r) => r.index >= 0), 'every recorded frame is byte-identical to a frame of the clip');
  const pre = recorded.filter((r) => r.phase === 'pre-roll');
  assert.ok(pre.length >= 5, `a pre-roll of ${pre.length} frames`);
  // Under load the analysis may first see motion a frame or two after it began: the pre-roll is what came before
  // the frame the event names.
  assert.ok(pre.every((r) => r.index < startIndex!), 'the pre-roll holds the frames before the event\'s first frame');
  assert.ok(pre.filter((r) => r.index < 20).length >= 5, 'and the still scene before the figure came');
  assert.equal(pre.at(-1)!.index, startIndex! - 1, 'the pre-roll runs up to the event\'s first frame');
  const motionRows = recorded.filter((r) => r.phase === 'motion');
  assert.equal(motionRows[0]!.index, startIndex, 'the event\'s rows start at its first frame');
  assert.ok(motionRows.some((r) => r.index === 49), 'the last moving frame is in the event');
  assert.ok(recorded.some((r) => r.phase === 'post-roll'), 'a post-roll follows');
  assert.ok(recorded.every((r) => r.event === String(start.id)), 'each row names the event');
  for (let i = 1; i < recorded.length; i++) assert.ok(recorded[i]!.index > recorded[i - 1]!.index, 'in order');
  console.log(`# recording: ${pre.length} pre-roll, ${motionRows.length} motion, ${recorded.length - pre.length - motionRows.length} post-roll frames; event ${start.id} from clip frame ${startIndex}`);

  for (const p of [walk, mask, viewer]) assert.equal(await p.stop('SIGTERM'), 0, p.output());
});

test('motion options out of range: one line naming each, exit code 2', async () => {
  const agent = runNode(AGENT_CLI, ['--motion', '--motion-threshold', '-3', '--motion-mask', '0.5,0.5,0.6,0.1', '--motion-min-area', '0']);
  assert.equal(await agent.exited, 2);
  const lines = agent.output().trim().split('\n');
  assert.equal(lines.length, 3, agent.output());
  assert.match(agent.output(), /--motion-threshold: -3 is out of range; use 1 to 255/);
  assert.match(agent.output(), /--motion-mask: zone 0\.5,0\.5,0\.6,0\.1: w and h must be above 0 and keep the zone inside the picture/);
  assert.match(agent.output(), /--motion-min-area: 0 is out of range; use 0\.01 to 100/);
  const viewer = runNode(VIEWER_CLI, ['--pre-roll', '-1']);
  assert.equal(await viewer.exited, 2);
  assert.match(viewer.output(), /--pre-roll: -1 is out of range; use 0 to 60/);
});
