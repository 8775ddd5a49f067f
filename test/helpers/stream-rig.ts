import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SourceCounters } from '../../protocol/reassembler.js';
import { freePort } from '../../harness/mosquitto.js';
import { AGENT_CLI, VIEWER_CLI, runNode, waitFor, within, type RunningProcess } from './processes.js';

/** The parts of picam-viewer's /api/cameras that the fault tests read. */
export interface ViewerApi {
  cameras: Array<{ key: string; cameraId: string; status: string; lastSeq?: number; counters?: SourceCounters; agent?: { framesSent: number; framesDropped: number } }>;
  viewer: { connected: boolean; malformed: Record<string, number>; rejectedChunks: Record<string, number>; pendingBytes: number };
}

export interface RunningViewer {
  process: RunningProcess;
  saveDir: string;
  url: string;
  api(): Promise<ViewerApi>;
  /** Counters of one camera, or undefined before its first chunk. */
  counters(cameraId: string): Promise<SourceCounters | undefined>;
}

/** picam-viewer as a separate process with --save-dir and its page on a free loopback port; waits until it is connected. */
export async function spawnViewer(broker: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunningViewer> {
  const saveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-saved-'));
  const port = await freePort();
  const proc = runNode(VIEWER_CLI, ['--broker', broker, '--listen', `127.0.0.1:${port}`, '--save-dir', saveDir, ...extraArgs], env);
  await proc.waitFor(/open http:\/\/127\.0\.0\.1:\d+/);
  await proc.waitFor(/connected to broker/);
  const url = `http://127.0.0.1:${port}`;
  const api = async (): Promise<ViewerApi> => (await (await fetch(`${url}/api/cameras`)).json()) as ViewerApi;
  return {
    process: proc,
    saveDir,
    url,
    api,
    counters: async (cameraId) => (await api()).cameras.find((c) => c.cameraId === cameraId)?.counters,
  };
}

/** picam-agent replaying a folder of JPEG files, as a separate process. */
export function spawnAgent(broker: string, cameraId: string, sourceDir: string, fps: number, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): RunningProcess {
  return runNode(AGENT_CLI, ['--broker', broker, '--camera-id', cameraId, '--source', `file:${sourceDir}`, '--fps', String(fps), '--stats-interval', '1', ...extraArgs], env);
}

/**
 * Every frame the viewer saved for a camera must be byte-identical to one of the source files, and saved in
 * increasing order. (Not necessarily the file its sequence number would name: when adaptive quality changes
 * the frame rate, the file source restarts from its first file while sequence numbers go on.) Returns the
 * sequence numbers saved.
 */
export function checkSavedFrames(saveDir: string, cameraId: string, sourceFrames: Buffer[]): number[] {
  const dir = path.join(saveDir, cameraId);
  const names = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  const seqs: number[] = [];
  for (const name of names) {
    const seq = Number(/-(\d{10})\.jpg$/.exec(name)![1]);
    if (seqs.length > 0) assert.ok(seq > seqs.at(-1)!, `frames saved in order (${name})`);
    const bytes = fs.readFileSync(path.join(dir, name));
    assert.ok(sourceFrames.some((frame) => frame.equals(bytes)), `${name} is byte-identical to a source frame`);
    seqs.push(seq);
  }
  return seqs;
}

/**
 * After `warning` (a refused connection, which the log says once), waits until `attempts` more attempts were
 * closed in turn without connecting: a program that fell back to a weaker connection would have connected by
 * then. The program must run with --log-level debug, which logs every close ("connection closed; reconnecting").
 */
export async function refusedAgain(p: RunningProcess, warning: string, attempts = 2): Promise<void> {
  const from = p.output().indexOf(warning);
  assert.ok(from >= 0, `the warning is in the output: ${warning}`);
  // The close of the attempt that logged the warning comes after it, then one per further attempt.
  await waitFor(() => (p.output().slice(from).match(/connection closed; reconnecting/g) ?? []).length > attempts, 10_000, `${attempts} more refused attempts`);
  assert.doesNotMatch(p.output(), /connected to broker/, 'never connected');
}

/**
 * SIGTERM, then the exit code; a program that has not exited after `ms` is killed and the test fails with
 * its output, rather than waiting for ever.
 */
export async function stopWithin(p: RunningProcess, ms = 12_000): Promise<number | string> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  const outcome = await within(p.exited, ms, 'timeout' as const);
  if (outcome === 'timeout') {
    p.child.kill('SIGKILL');
    throw new Error(`did not exit within ${ms} ms of SIGTERM; output:\n${p.output()}`);
  }
  return outcome;
}
