import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

/**
 * A real AF_UNIX datagram socket standing where systemd's notify socket would be, so tests exercise the real
 * systemd-notify binary end to end. Node cannot bind datagram unix sockets, so a few lines of Python (present
 * wherever Ansible or Debian's base is) own the socket. Like PID 1 it receives the sender's credentials and
 * closes file descriptors passed along (that is what releases systemd-notify's BARRIER=1 wait).
 */

export interface NotifyDatagram {
  /** Sender PID from SCM_CREDENTIALS. */
  pid: number | null;
  /** File descriptors that came with the datagram (BARRIER=1 carries one). */
  fds: number;
  /** KEY=VALUE pairs of the message. */
  fields: Record<string, string>;
  /** Wall time of reception (ms since epoch). */
  at: number;
}

export interface NotifySocket {
  /** The value for NOTIFY_SOCKET: a path, or `@name` for the abstract namespace. */
  address: string;
  /** Everything received so far, barriers included. */
  received(): NotifyDatagram[];
  /** Received messages without the BARRIER=1 handshakes. */
  messages(): NotifyDatagram[];
  /** Resolves with the first message (barriers excluded) the predicate accepts, waiting up to timeoutMs. */
  waitFor(predicate: (d: NotifyDatagram) => boolean, timeoutMs?: number): Promise<NotifyDatagram>;
  /** Closes the socket and removes it. Idempotent. */
  stop(): Promise<void>;
}

const RECEIVER = String.raw`
import array, json, os, socket, struct, sys
address = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind('\0' + address[1:] if address.startswith('@') else address)
print(json.dumps({"listening": True}), flush=True)
while True:
    data, ancillary, flags, _ = s.recvmsg(65536, socket.CMSG_SPACE(64 * 4) + socket.CMSG_SPACE(12))
    pid, nfds = None, 0
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array('i')
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
            for fd in fds:
                os.close(fd)
                nfds += 1
        elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack('iII', payload[:12])[0]
    print(json.dumps({"pid": pid, "fds": nfds, "text": data.decode('utf-8', 'replace')}), flush=True)
`;

function parseFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return fields;
}

/** Binds a fresh notify socket: a file in a temp folder, or (abstract) a random `@picam-test-...` name. */
export async function startNotifySocket(options: { abstract?: boolean } = {}): Promise<NotifySocket> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-notify-'));
  const address = options.abstract ? `@picam-test-${process.pid}-${path.basename(dir)}` : path.join(dir, 'notify.sock');
  const child: ChildProcess = spawn('python3', ['-c', RECEIVER, address], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const datagrams: NotifyDatagram[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => { stderr += text; });
  const listening = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`notify socket receiver exited (${code}): ${stderr}`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const parsed = JSON.parse(line) as { listening?: boolean; pid: number | null; fds: number; text: string };
      if (parsed.listening) { resolve(); return; }
      datagrams.push({ pid: parsed.pid, fds: parsed.fds, fields: parseFields(parsed.text), at: Date.now() });
      for (const wake of waiters) wake();
    });
  });
  await listening;
  let stopped = false;
  const messages = (): NotifyDatagram[] => datagrams.filter((d) => d.fields.BARRIER !== '1');
  return {
    address,
    received: () => [...datagrams],
    messages,
    waitFor: (predicate, timeoutMs = 10_000) => new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = messages().find(predicate);
        if (!found) return false;
        clearTimeout(timer);
        waiters.delete(wake);
        resolve(found);
        return true;
      };
      const wake = (): void => { check(); };
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(new Error(`no matching notify message within ${timeoutMs} ms; got ${JSON.stringify(messages().map((d) => d.fields))}`));
      }, timeoutMs);
      if (!check()) waiters.add(wake);
    }),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
