import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { silentLogger } from '../../common/logger.js';
import { MqttConnection } from '../../common/mqtt-connection.js';
import { readJpegSize } from '../../agent/processing/jpeg-size.js';
import { receiverSubscriptions } from '../../protocol/topics.js';
import { CameraRegistry } from '../../viewer/camera-registry.js';
import { MessageReceiver } from '../../viewer/message-receiver.js';
import { qscaleFor } from '../fixtures/standins/standin-common.js';
import { ffmpegFrames } from '../../harness/jpeg-tools.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { commandLine, descendants, isAlive, withCommand } from '../helpers/process-table.js';
import { AGENT_CLI, waitFor, runNode } from '../helpers/processes.js';
import { STANDIN_BIN, standinEnv } from '../../harness/standin-path.js';

// picam-agent as users run it, with the stand-in rpicam-vid as its camera: the camera's JPEG bytes reach a
// subscriber untouched, SIGTERM leaves no camera process, and camera problems end the program with one clear line.

let broker: RunningBroker | undefined;
after(async () => broker?.stop());

/** A receiver on the test broker, as the viewer has one: every reassembled frame of any camera, in `frames`. */
async function receive(clientId: string): Promise<{ receiver: MessageReceiver; frames: Buffer[]; rx: MqttConnection }> {
  broker ??= await startMosquitto();
  const receiver = new MessageReceiver(new CameraRegistry(4), {}, silentLogger);
  const frames: Buffer[] = [];
  receiver.onFrame((_camera, frame) => frames.push(frame.data));
  const rx: MqttConnection = new MqttConnection(
    { url: broker.url, clientId, protocolVersion: 5, onConnect: () => void rx.subscribe(receiverSubscriptions('picam')), onMessage: (t, p) => receiver.handle(t, p) },
    silentLogger,
  );
  rx.start();
  await waitFor(() => (rx.connected ? true : undefined), 5000, 'receiver connected');
  return { receiver, frames, rx };
}

test('--source rpicam: camera JPEGs arrive byte-identical through mosquitto; SIGTERM leaves no camera process', async () => {
  const { frames, rx } = await receive('camera-cli-rx');

  const agent = runNode(AGENT_CLI, ['--broker', broker!.url, '--camera-id', 'pi', '--source', 'rpicam', '--width', '320', '--height', '240', '--fps', '20', '--quality', '80', '--no-adaptive'], standinEnv());
  try {
    await waitFor(() => (frames.length >= 10 ? true : undefined), 10_000, '10 frames');
    const cameras = withCommand(descendants(agent.child.pid!), 'standins/rpicam-vid.js');
    assert.equal(cameras.length, 1, 'the agent runs one rpicam-vid');
    // The stand-in streams this exact set (same generator, same parameters); nothing was re-encoded.
    const sent = ffmpegFrames({ width: 320, height: 240, count: 25, qscale: qscaleFor(80) }).frames;
    for (const frame of frames) assert.ok(sent.some((s) => s.equals(frame)), 'frame is one of the camera\'s own JPEGs, byte for byte');
    assert.equal(await agent.stop('SIGTERM'), 0, agent.output());
    assert.ok(!isAlive(cameras[0]!), 'rpicam-vid stopped with the agent');
  } finally {
    await agent.stop('SIGKILL');
    await rx.stop();
  }
});

test('--source auto without any camera: exit 1 with one line naming every check', async () => {
  // rpicam-apps installed but no camera attached, no raspistill, no V4L2 device (this machine has none).
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-cli-bin-'));
  fs.symlinkSync(path.join(STANDIN_BIN, 'rpicam-vid'), path.join(bin, 'rpicam-vid'));
  const env = { ...process.env, PICAM_STANDIN_CAMERAS: 'none', PATH: [bin, path.dirname(process.execPath), '/usr/bin', '/bin'].join(':') };
  const agent = runNode(AGENT_CLI, ['--broker', 'mqtt://127.0.0.1:1', '--source', 'auto'], env);
  const code = await agent.exited;
  assert.equal(code, 1, agent.output());
  assert.match(agent.output(), /picam-agent: no camera found \(rpicam: rpicam-vid lists no camera; raspistill: not installed; v4l2: .*\)\. .*--source synthetic/);
  fs.rmSync(bin, { recursive: true, force: true });
});

test('a setting the camera cannot do is a configuration error (exit 2) naming the field', async () => {
  const agent = runNode(AGENT_CLI, ['--broker', 'mqtt://127.0.0.1:1', '--source', 'rpicam', '--awb', 'moonlight'], standinEnv());
  assert.equal(await agent.exited, 2);
  assert.match(agent.output(), /config error: --awb: 'moonlight' is not a rpicam mode; use one of /);
});

test('--source rpicam --rotation 90 --overlay: rpicam-vid cannot transpose, so the agent turns the frames and draws the text', async () => {
  const { receiver, frames, rx } = await receive('camera-cli-rx2');
  const agent = runNode(AGENT_CLI, ['--broker', broker!.url, '--camera-id', 'turned', '--source', 'rpicam', '--width', '320', '--height', '240', '--fps', '10',
    '--rotation', '90', '--overlay', '{id} {time}', '--no-adaptive', '--log-level', 'info'], standinEnv());
  try {
    await waitFor(() => (frames.length >= 5 ? true : undefined), 15_000, '5 frames');
    for (const frame of frames) assert.deepEqual(readJpegSize(frame), { width: 240, height: 320 });
    const camera = ffmpegFrames({ width: 320, height: 240, count: 25, qscale: qscaleFor(80) }).frames;
    assert.ok(frames.every((f) => !camera.some((c) => c.equals(f))), 'frames were re-encoded, not the camera\'s own');
    const info = await waitFor(() => receiver.registry.lookup('turned')?.info, 5000, 'info');
    assert.deepEqual(info.processing, ['rotate 90', 'overlay']);
    assert.deepEqual([info.width, info.height], [240, 320]);
    const argv = withCommand(descendants(agent.child.pid!), 'standins/rpicam-vid.js');
    assert.equal(argv.length, 1);
    assert.ok(!commandLine(argv[0]!).includes('--rotation'), 'rpicam-vid was not asked to rotate');
    assert.match(agent.output(), /frames are re-encoded with sharp \(costs CPU\).*rotate 90, overlay/);
    assert.equal(await agent.stop('SIGTERM'), 0, agent.output());
  } finally {
    await agent.stop('SIGKILL');
    await rx.stop();
  }
});
