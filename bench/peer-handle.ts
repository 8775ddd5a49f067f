import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { FinishResult, PacedCommand, PacedResult, PeerCommand, PeerInit, Reply, ThroughputCommand, ThroughputResult } from './peer-protocol.js';

export class PeerError extends Error {
  constructor(message: string, readonly peer: string) {
    super(`${peer}: ${message}`);
    this.name = 'PeerError';
  }
}

const PEER_SCRIPT = path.join(path.dirname(new URL(import.meta.url).pathname), 'peer.js');
const READY_TIMEOUT_MS = 20_000;

/** The orchestrator's handle on one sender or receiver process: start, commands, idempotent stop. */
export class PeerHandle {
  readonly label: string;
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly init: PeerInit, private readonly execArgv: string[] = []) {
    this.label = `${init.contender} ${init.role}`;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = fork(PEER_SCRIPT, [JSON.stringify(this.init)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: this.execArgv });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new PeerError('not ready in time', this.label)), READY_TIMEOUT_MS);
      child.on('message', (message: Reply) => {
        if (message.type === 'ready') { clearTimeout(timer); resolve(); return; }
        if (message.type === 'error' && message.id === undefined) { clearTimeout(timer); reject(new PeerError(message.message, this.label)); return; }
        const id = message.type === 'result' || message.type === 'error' ? message.id : undefined;
        const pending = id === undefined ? undefined : this.waiting.get(id);
        if (!pending || id === undefined) return;
        this.waiting.delete(id);
        if (message.type === 'result') pending.resolve(message.result);
        else if (message.type === 'error') pending.reject(new PeerError(message.message, this.label));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const error = new PeerError(`exited (code ${code}, signal ${signal})`, this.label);
        reject(error);
        for (const pending of this.waiting.values()) pending.reject(error);
        this.waiting.clear();
      });
    });
    await ready;
  }

  private request<T>(command: PeerCommand): Promise<T> {
    const child = this.child;
    if (!child || child.exitCode !== null) return Promise.reject(new PeerError('not running', this.label));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ id, ...command });
    });
  }

  throughput(command: Omit<ThroughputCommand, 'type'>): Promise<ThroughputResult> {
    return this.request({ type: 'throughput', ...command });
  }

  paced(command: Omit<PacedCommand, 'type'>): Promise<PacedResult> {
    return this.request({ type: 'paced', ...command });
  }

  /** Ends the peer cleanly and returns its peak RSS. */
  async finish(): Promise<FinishResult> {
    const result = await this.request<FinishResult>({ type: 'finish' });
    await this.exited;
    return result;
  }

  /** Kills the process if it is still running. Idempotent. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.exited;
  }
}
