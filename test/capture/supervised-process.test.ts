import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CameraProcessError } from '../../agent/capture/capture-errors.js';
import { SupervisedProcess, type SupervisedProcessOptions } from '../../agent/capture/supervised-process.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { isAlive } from '../helpers/process-table.js';
import { waitFor } from '../helpers/processes.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-supervised-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A supervised `sh -c script`; every stdout chunk counts as progress (as a frame would). */
function shell(script: string, extra: Partial<SupervisedProcessOptions> = {}) {
  const { logger, lines } = memoryLogger();
  const spawned: number[] = [];
  let output = '';
  const supervisor: SupervisedProcess = new SupervisedProcess({
    name: 'test-program',
    command: 'sh',
    args: ['-c', script],
    logger,
    stallTimeoutMs: 5000,
    backoff: { initialMs: 20, maxMs: 1000, factor: 2 },
    random: () => 1,
    onSpawn: (pid) => spawned.push(pid),
    onStdout: (chunk) => {
      output += chunk.toString();
      supervisor.noteProgress();
    },
    ...extra,
  });
  return { supervisor, lines, spawned, output: () => output };
}

describe('SupervisedProcess', () => {
  it('rejects start() when the program does not exist', async () => {
    const { supervisor } = shell('', { command: 'no-such-camera-program' });
    await assert.rejects(supervisor.start(), (e: unknown) => e instanceof CameraProcessError && /no-such-camera-program not found on PATH/.test(e.message));
    await supervisor.stop();
  });

  it('gives up after maxFailedStarts runs without progress, with the program\'s stderr, backing off exponentially', async () => {
    const { supervisor, lines, spawned } = shell('echo "camera is busy" >&2; exit 3', { maxFailedStarts: 4 });
    await assert.rejects(supervisor.start(), (e: unknown) => {
      assert.ok(e instanceof CameraProcessError);
      assert.match(e.message, /exited with code 3; no frame in 4 attempts, giving up/);
      assert.match(e.message, /camera is busy/);
      return true;
    });
    assert.equal(spawned.length, 4);
    // random() = 1 gives the upper end of each jittered delay: the base itself.
    const delays = lines.filter((l) => l.includes('restarting')).map((l) => Number(l.match(/inMs=(\d+)/)![1]));
    assert.deepEqual(delays, [20, 40, 80]);
    assert.ok(lines.some((l) => l.includes('camera is busy') && l.startsWith('info')), 'stderr lines are logged');
  });

  it('jitter keeps each delay between half and all of the exponential base', async () => {
    const { supervisor, lines } = shell('exit 1', { maxFailedStarts: 3, random: () => 0 });
    await assert.rejects(supervisor.start());
    const delays = lines.filter((l) => l.includes('restarting')).map((l) => Number(l.match(/inMs=(\d+)/)![1]));
    assert.deepEqual(delays, [10, 20]);
  });

  it('stop() sends SIGTERM, then SIGKILL to a program that ignores SIGTERM', async () => {
    const { supervisor, lines } = shell('trap "" TERM; echo ready; exec sleep 30', { stopTimeoutMs: 300 });
    await supervisor.start();
    const pid = supervisor.pid!;
    const began = Date.now();
    await supervisor.stop();
    assert.ok(Date.now() - began >= 250, 'waited for the grace period');
    assert.ok(!isAlive(pid));
    assert.ok(lines.some((l) => l.includes('ignored SIGTERM; sending SIGKILL')));
  });

  it('never restarts after stop(), even when stop() lands during a backoff wait', async () => {
    const { supervisor, spawned } = shell('echo frame; exit 1', { backoff: { initialMs: 200, maxMs: 200, factor: 1 } });
    await supervisor.start();
    await waitFor(() => supervisor.pid === undefined, 2000, 'the first run to end');
    await supervisor.stop();
    await supervisor.stop();
    await new Promise((resolve) => setTimeout(resolve, 400)); // absence: two backoff waits, a restart would have come
    assert.equal(spawned.length, 1);
  });

  it('stop() during start-up resolves start() and ends the program', async () => {
    const { supervisor } = shell('exec sleep 30');
    const started = supervisor.start();
    await waitFor(() => supervisor.pid !== undefined, 2000, 'spawn');
    const pid = supervisor.pid!;
    await supervisor.stop();
    await started;
    assert.ok(!isAlive(pid));
  });

  it('reports a give-up after a successful start through onFatal', async () => {
    const counter = path.join(tmp, 'runs');
    const fatals: Error[] = [];
    const script = `n=$(cat ${counter} 2>/dev/null || echo 0); echo $((n+1)) > ${counter}; if [ "$n" = 0 ]; then echo frame; sleep 0.1; fi; exit 1`;
    const { supervisor } = shell(script, { maxFailedStarts: 2, onFatal: (e) => fatals.push(e) });
    await supervisor.start();
    await waitFor(() => fatals.length === 1, 3000, 'onFatal');
    assert.match(fatals[0]!.message, /no frame in 2 attempts/);
    assert.equal(fs.readFileSync(counter, 'utf8').trim(), '3');
    await supervisor.stop();
  });

  it('restarts a program that goes silent (stall), counting it as a failure', async () => {
    const { supervisor, spawned, lines } = shell('echo frame; exec sleep 30', { stallTimeoutMs: 200 });
    await supervisor.start();
    await waitFor(() => spawned.length >= 2, 3000, 'a restart after the stall');
    assert.ok(lines.some((l) => l.includes('test-program stalled (no frames); restarting')));
    assert.equal(supervisor.restarts >= 1, true);
    await supervisor.stop();
    assert.ok(spawned.every((pid) => !isAlive(pid)));
  });
});
