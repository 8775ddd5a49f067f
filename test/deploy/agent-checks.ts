import assert from 'node:assert/strict';
import type { NspawnHost } from './nspawn-host.js';

/** Checks on a deployed agent that the playbook's test and install.sh's test share. */

export async function unitProperty(host: NspawnHost, property: string): Promise<string> {
  return (await host.execOk(['systemctl', 'show', '-p', property, '--value', 'picam-agent'])).stdout.trim();
}

export async function agentJournal(host: NspawnHost, args: string[] = []): Promise<Record<string, string>[]> {
  const result = await host.execOk(['journalctl', '-u', 'picam-agent', '-o', 'json', '--no-pager', ...args]);
  return result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, string>);
}

/** The running invocation logged its first frame no later than systemd logged it started (READY=1). */
export async function assertReadyAfterFirstFrame(host: NspawnHost): Promise<void> {
  const invocation = await unitProperty(host, 'InvocationID');
  const entries = (await agentJournal(host)).filter((e) => e._SYSTEMD_INVOCATION_ID === invocation || e.INVOCATION_ID === invocation);
  const firstFrame = entries.find((e) => typeof e.MESSAGE === 'string' && e.MESSAGE.includes('first frame published'));
  // "Started picam-agent.service": PID 1 logs it when READY=1 arrives for a Type=notify unit.
  const startedEntry = entries.find((e) => e.MESSAGE_ID === '39f53479d3a045ac8e11786248231fbf');
  assert.ok(firstFrame, `agent logged its first frame: ${entries.map((e) => e.MESSAGE).join('\n')}`);
  assert.ok(startedEntry, 'systemd logged the start');
  assert.ok(Number(firstFrame.__MONOTONIC_TIMESTAMP) <= Number(startedEntry.__MONOTONIC_TIMESTAMP),
    `first frame at ${firstFrame.__MONOTONIC_TIMESTAMP}, READY at ${startedEntry.__MONOTONIC_TIMESTAMP}`);
  assert.match(await unitProperty(host, 'StatusText'), /^streaming 640x480 @ [\d.]+ fps/);
  // systemd says so when it drops a notification it cannot attribute or does not accept.
  const dropped = (await agentJournal(host)).map((e) => e.MESSAGE ?? '').filter((m) => /notification message/i.test(m));
  assert.deepEqual(dropped, []);
}

export interface Recap {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
}

/** The PLAY RECAP line of one host in ansible-playbook's output. */
export function recapOf(output: string, host: string): Recap {
  const match = new RegExp(`${host}\\s*:\\s*ok=(\\d+)\\s+changed=(\\d+)\\s+unreachable=(\\d+)\\s+failed=(\\d+)`).exec(output);
  if (!match) throw new Error(`no PLAY RECAP for ${host} in:\n${output.slice(-3000)}`);
  return { ok: Number(match[1]), changed: Number(match[2]), unreachable: Number(match[3]), failed: Number(match[4]) };
}

/** Tasks reported as changed, for a readable failure message. */
export function changedTasks(output: string): string[] {
  const tasks: string[] = [];
  let current = '';
  for (const line of output.split('\n')) {
    const task = /^(?:TASK|RUNNING HANDLER) \[(.*)\]/.exec(line);
    if (task) current = task[1]!;
    else if (/^changed:/.test(line)) tasks.push(current);
  }
  return tasks;
}
