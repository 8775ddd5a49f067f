import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, it } from 'node:test';
import { descendants, isAlive, withCommand } from '../helpers/process-table.js';
import { waitFor } from '../helpers/processes.js';
import { standinEnv } from '../../harness/standin-path.js';

/**
 * An agent-like program owns a camera process; whatever way the program ends (SIGTERM, or SIGKILL that gives it
 * no chance to clean up), no camera process may be left holding the device.
 *
 * The stand-in camera is told to hang after 3 frames: it stays alive but writes nothing, so it cannot die of
 * SIGPIPE on its own. Only the parent-death guard can end it, which the `none` control case proves.
 */

const program = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/capture-program.js');

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];

// A test that fails half-way (e.g. no frame in time on a busy machine) must not leave its owner and camera
// running: they would keep this file from ever ending.
afterEach(() => {
  for (const child of started.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    for (const pid of descendants(child.pid!)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone already */ } }
    child.kill('SIGKILL');
  }
});

function runProgram(config: object): Running {
  const child = spawn(process.execPath, [program, JSON.stringify(config)], {
    env: standinEnv({ PICAM_STANDIN_STALL_AFTER: '3' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exited };
}

async function cameraOf(running: Running, tool: string): Promise<number> {
  await waitFor(() => running.output().includes('frame 3'), 8000, `3 frames from ${tool} (output: ${running.output()})`);
  const cameras = withCommand(descendants(running.child.pid!), `standins/${tool}.js`);
  assert.equal(cameras.length, 1, `one ${tool} process`);
  return cameras[0]!;
}

describe('camera processes never outlive their owner', () => {
  for (const [source, tool, guard] of [['rpicam', 'rpicam-vid', 'pdeathsig'], ['rpicam', 'rpicam-vid', 'watchdog'], ['raspistill', 'raspistill', 'pdeathsig']] as const) {
    it(`${source}, ${guard} guard: SIGKILL of the owner takes the camera process with it`, async () => {
      const running = runProgram({ source, guard, stallTimeoutMs: 60_000 });
      const camera = await cameraOf(running, tool);
      running.child.kill('SIGKILL');
      assert.equal((await running.exited).signal, 'SIGKILL');
      await waitFor(() => !isAlive(camera), 3000, `${tool} (pid ${camera}) to die with its owner`);
    });
  }

  it('control: without a guard, a hung camera process outlives a SIGKILLed owner', async () => {
    const running = runProgram({ source: 'rpicam', guard: 'none', stallTimeoutMs: 60_000 });
    const camera = await cameraOf(running, 'rpicam-vid');
    running.child.kill('SIGKILL');
    await running.exited;
    try {
      await new Promise((resolve) => setTimeout(resolve, 700)); // absence: longer than a guarded camera takes to die
      assert.ok(isAlive(camera), 'the orphan is still there: the guard is what ends it');
    } finally {
      process.kill(camera, 'SIGKILL');
    }
  });

  for (const [source, tool] of [['rpicam', 'rpicam-vid'], ['raspistill', 'raspistill']] as const) {
    it(`${source}: SIGTERM stops the source, the owner exits 0, no camera process is left`, async () => {
      const running = runProgram({ source, stallTimeoutMs: 60_000 });
      const camera = await cameraOf(running, tool);
      running.child.kill('SIGTERM');
      const { code } = await running.exited;
      assert.equal(code, 0, running.output());
      assert.match(running.output(), /stopped/);
      assert.ok(!isAlive(camera), `${tool} was stopped before the owner exited`);
    });
  }
});
