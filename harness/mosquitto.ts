import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A real mosquitto on a free loopback port with its own temp config, for one test file. */
export interface RunningBroker {
  port: number;
  url: string;
  dir: string;
  process: ChildProcess;
  /** Everything mosquitto logged so far. */
  log(): string;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Stops it (SIGTERM) and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

export interface BrokerOptions {
  /** Extra mosquitto.conf lines (e.g. max_packet_size, password_file, acl_file). */
  extraConfig?: string[];
  /** Replaces the default `allow_anonymous true`. */
  anonymous?: boolean;
  /** Reuse this port (for restart tests). */
  port?: number;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function mosquittoPath(): string {
  for (const candidate of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error('mosquitto is not installed: run `apt-get install mosquitto` (bash .ci/run does this)');
}

async function waitForPort(port: number, deadline: number, child: ChildProcess): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mosquitto did not listen on ${port} in time`);
}

export async function startMosquitto(options: BrokerOptions = {}): Promise<RunningBroker> {
  const port = options.port ?? (await freePort());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-mosquitto-'));
  const config = [
    `listener ${port} 127.0.0.1`,
    `allow_anonymous ${options.anonymous === false ? 'false' : 'true'}`,
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    ...(options.extraConfig ?? []),
  ];
  const configFile = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(configFile, config.join('\n') + '\n');
  const child = spawn(mosquittoPath(), ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => { output += text; if (output.length > 1_000_000) output = output.slice(-500_000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A test or benchmark that ends without stopping its broker (an error, Ctrl-C) must not leave it running.
  const orphan = (): void => { child.kill('SIGKILL'); };
  process.once('exit', orphan);
  child.once('exit', () => process.off('exit', orphan));
  await waitForPort(port, Date.now() + 10_000, child).catch((error: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${error.message}\n${output}`);
  });
  let stopped = false;
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    process: child,
    log: () => output,
    kill: () => halt('SIGKILL'),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await halt('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
