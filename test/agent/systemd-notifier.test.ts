import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, type Logger } from '../../common/logger.js';
import { SystemdNotifier } from '../../agent/systemd-notifier.js';
import { startNotifySocket, type NotifySocket } from '../helpers/notify-socket.js';
import { waitFor } from '../helpers/processes.js';

// These tests drive the real systemd-notify binary against a real AF_UNIX datagram socket.

const NOTIFY_VARS = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;
const saved = Object.fromEntries(NOTIFY_VARS.map((k) => [k, process.env[k]]));

function setEnv(values: Partial<Record<(typeof NOTIFY_VARS)[number], string>>): void {
  for (const key of NOTIFY_VARS) {
    if (values[key] === undefined) delete process.env[key];
    else process.env[key] = values[key];
  }
}

function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'debug', component: 'notify', write: (l) => lines.push(l) }), lines };
}

/** Live handles of one kind (timers, child processes) in this process. */
const countResources = (kind: string): number => process.getActiveResourcesInfo().filter((r) => r === kind).length;

describe('SystemdNotifier', () => {
  before(() => {
    for (const tool of ['systemd-notify', 'python3']) {
      assert.equal(spawnSync('sh', ['-c', `command -v ${tool}`]).status, 0, `${tool} is needed (Debian: apt-get install systemd python3)`);
    }
  });

  let socket: NotifySocket | undefined;
  let notifier: SystemdNotifier | undefined;

  beforeEach(async () => {
    socket = await startNotifySocket();
  });
  afterEach(async () => {
    await notifier?.stop();
    notifier = undefined;
    await socket?.stop();
    socket = undefined;
    setEnv({});
  });
  after(() => {
    for (const key of NOTIFY_VARS) if (saved[key] !== undefined) process.env[key] = saved[key];
  });

  it('does nothing at all without NOTIFY_SOCKET', async () => {
    setEnv({ WATCHDOG_USEC: '200000' });
    const timers = countResources('Timeout');
    const children = countResources('ProcessWrap');
    const { logger } = capturingLogger();
    notifier = new SystemdNotifier({ logger });
    notifier.start();
    assert.equal(notifier.enabled, false);
    assert.equal(notifier.watchdogIntervalMs, undefined);
    assert.equal(countResources('Timeout'), timers, 'no watchdog timer');
    await notifier.ready('streaming');
    notifier.frameSent();
    await notifier.status('still streaming');
    assert.equal(countResources('ProcessWrap'), children, 'no systemd-notify child');
    await notifier.stopping();
    await notifier.stop();
    assert.deepEqual(notifier.counters, { sent: 0, failed: 0, watchdogPings: 0, watchdogWithheld: 0 });
    await sleep(50); // a window for a datagram that must not come (none is ever sent, so no event to wait for)
    assert.deepEqual(socket!.received(), []);
  });

  it('sends READY=1 with the status and waits on the barrier that keeps the sender attributable', async () => {
    setEnv({ NOTIFY_SOCKET: socket!.address });
    const { logger } = capturingLogger();
    notifier = new SystemdNotifier({ logger });
    notifier.start();
    assert.equal(notifier.enabled, true);
    await notifier.ready('streaming 640x480 @ 15.0 fps');
    const ready = await socket!.waitFor((d) => d.fields.READY === '1');
    assert.equal(ready.fields.STATUS, 'streaming 640x480 @ 15.0 fps');
    assert.equal(ready.fields.MAINPID, String(process.pid));
    // systemd-notify only exits after the receiver closed the fd sent with BARRIER=1, so the message was read first.
    const all = socket!.received();
    const readyIndex = all.findIndex((d) => d.fields.READY === '1');
    const barrier = all.findIndex((d) => d.fields.BARRIER === '1');
    assert.ok(barrier > readyIndex, `a barrier follows READY: ${JSON.stringify(all)}`);
    assert.equal(all[barrier]!.fds, 1);
    assert.equal(notifier.counters.sent, 1);
  });

  it('works with an abstract-namespace socket (@name)', async () => {
    await socket!.stop();
    socket = await startNotifySocket({ abstract: true });
    assert.ok(socket.address.startsWith('@'));
    setEnv({ NOTIFY_SOCKET: socket.address });
    notifier = new SystemdNotifier({ logger: capturingLogger().logger });
    notifier.start();
    await notifier.ready('up');
    const ready = await socket.waitFor((d) => d.fields.READY === '1');
    assert.equal(ready.fields.STATUS, 'up');
  });

  it('keeps messages in order and replaces a STATUS still waiting by the newer one', async () => {
    setEnv({ NOTIFY_SOCKET: socket!.address });
    notifier = new SystemdNotifier({ logger: capturingLogger().logger });
    notifier.start();
    const sent = [notifier.ready('first frame out'), notifier.status('a'), notifier.status('b'), notifier.status('c')];
    await Promise.all(sent);
    await socket!.waitFor((d) => d.fields.STATUS === 'c');
    const statuses = socket!.messages().map((d) => d.fields.STATUS);
    assert.equal(statuses[0], 'first frame out');
    assert.equal(statuses.at(-1), 'c');
    assert.ok(!statuses.includes('b'), `b was replaced while waiting: ${statuses.join(',')}`);
    assert.equal(socket!.messages()[0]!.fields.READY, '1');
  });

  it('sends STOPPING=1 and nothing after it', async () => {
    setEnv({ NOTIFY_SOCKET: socket!.address, WATCHDOG_USEC: '200000' });
    notifier = new SystemdNotifier({ logger: capturingLogger().logger });
    notifier.start();
    notifier.frameSent();
    await notifier.stopping();
    const stopping = await socket!.waitFor((d) => d.fields.STOPPING === '1');
    assert.equal(stopping.fields.STATUS, 'stopping');
    notifier.frameSent();
    await notifier.ready('too late');
    await sleep(350); // longer than one watchdog period: a ping would have gone out by now
    assert.deepEqual(socket!.messages().map((d) => d.fields.STOPPING), ['1']);
    assert.equal(notifier.counters.watchdogPings, 0);
  });

  it('pings the watchdog at half of WatchdogSec only while frames are being sent', async () => {
    setEnv({ NOTIFY_SOCKET: socket!.address, WATCHDOG_USEC: '400000' });
    const { logger, lines } = capturingLogger();
    notifier = new SystemdNotifier({ logger });
    assert.equal(notifier.watchdogIntervalMs, 200);
    notifier.start();
    const pings = (): number => socket!.messages().filter((d) => d.fields.WATCHDOG === '1').length;

    // Two periods with no frame yet, counted by the notifier itself: withheld, not sent.
    await waitFor(() => notifier!.counters.watchdogWithheld >= 2, 2000, 'two withheld pings');
    assert.equal(pings(), 0);

    const frames = setInterval(() => notifier!.frameSent(), 40);
    try {
      await socket!.waitFor(() => pings() >= 2);
    } finally {
      clearInterval(frames);
    }

    // Once a period has passed without frames, no ping is queued any more; a STATUS queued behind whatever
    // is still in flight tells when the last of them was delivered.
    const withheld = notifier.counters.watchdogWithheld;
    await waitFor(() => notifier!.counters.watchdogWithheld !== withheld, 2000, 'a period without frames');
    await notifier.status('quiet');
    await socket!.waitFor((d) => d.fields.STATUS === 'quiet'); // the receiver reports in arrival order
    const settled = pings();
    const withheldSettled = notifier.counters.watchdogWithheld;
    // Three more periods without frames, as the notifier counts them; not one may ping.
    await waitFor(() => notifier!.counters.watchdogWithheld >= withheldSettled + 3, 3000, 'three more periods without frames');
    assert.equal(pings(), settled, 'no ping while no frame is sent');
    assert.ok(lines.some((l) => l.startsWith('warn') && l.includes('withholding WATCHDOG=1')), lines.join('\n'));

    notifier.frameSent();
    await socket!.waitFor((d) => d.fields.WATCHDOG === '1' && pings() > settled);
    assert.ok(lines.some((l) => l.includes('watchdog pings resume')));
  });

  it('leaves the watchdog alone when WATCHDOG_PID names another process', () => {
    setEnv({ NOTIFY_SOCKET: socket!.address, WATCHDOG_USEC: '400000', WATCHDOG_PID: String(process.pid + 1) });
    const other = new SystemdNotifier({ logger: capturingLogger().logger });
    assert.equal(other.watchdogIntervalMs, undefined);
    setEnv({ NOTIFY_SOCKET: socket!.address, WATCHDOG_USEC: '400000', WATCHDOG_PID: String(process.pid) });
    const ours = new SystemdNotifier({ logger: capturingLogger().logger });
    assert.equal(ours.watchdogIntervalMs, 200);
  });

  it('logs one warning when the socket is gone and keeps going', async () => {
    setEnv({ NOTIFY_SOCKET: socket!.address + '.missing' });
    const { logger, lines } = capturingLogger();
    notifier = new SystemdNotifier({ logger });
    notifier.start();
    await notifier.ready('up');
    await notifier.status('still up');
    assert.equal(notifier.counters.failed, 2);
    const warnings = lines.filter((l) => l.startsWith('warn'));
    assert.equal(warnings.length, 1, lines.join('\n'));
    assert.match(warnings[0]!, /READY=1.*failed/);
  });

  it('stop() waits for queued messages, clears its timer, and is idempotent', async () => {
    setEnv({ NOTIFY_SOCKET: socket!.address, WATCHDOG_USEC: '10000000' });
    const timers = countResources('Timeout');
    const children = countResources('ProcessWrap');
    notifier = new SystemdNotifier({ logger: capturingLogger().logger });
    notifier.start();
    assert.equal(countResources('Timeout'), timers + 1, 'watchdog timer running');
    void notifier.ready('up');
    const first = notifier.stop();
    assert.equal(notifier.stop(), first);
    await first;
    assert.equal(notifier.counters.sent, 1, 'the queued READY was delivered before stop resolved');
    // libuv releases an exited child's handles a few loop turns after 'close'; a leak would stay.
    await waitFor(() => countResources('ProcessWrap') <= children, 1000, 'the systemd-notify child\'s handles released').catch(() => undefined);
    assert.equal(countResources('Timeout'), timers);
    assert.equal(countResources('ProcessWrap'), children, 'no systemd-notify child left');
    await notifier.status('after stop');
    assert.equal(notifier.counters.sent, 1);
  });
});
