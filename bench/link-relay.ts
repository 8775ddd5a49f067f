import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { LinkEmulator, type LinkCounters, type LinkShape } from '../harness/link-emulator.js';

/**
 * The link emulator on a thread of its own, so that moving bytes on time does not compete with the
 * benchmark's receiver for one event loop (the receiver's clock readings are the latency figures).
 */

type Command = { kind: 'shape'; shape: LinkShape } | { kind: 'counters' } | { kind: 'stop' };
type Reply = { kind: 'started'; port: number } | { kind: 'counters'; counters: LinkCounters } | { kind: 'stopped' } | { kind: 'ok' };

interface Init {
  target: { host: string; port: number };
  shape: LinkShape;
}

export class RelayThread {
  private constructor(private readonly worker: Worker, readonly port: number) {}

  static async start(target: { host: string; port: number }, shape: LinkShape): Promise<RelayThread> {
    const worker = new Worker(new URL(import.meta.url), { workerData: { target, shape } satisfies Init });
    const port = await new Promise<number>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (reply: Reply) => (reply.kind === 'started' ? resolve(reply.port) : reject(new Error('relay did not start'))));
    });
    return new RelayThread(worker, port);
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  setShape(shape: LinkShape): Promise<void> {
    return this.ask({ kind: 'shape', shape }).then(() => undefined);
  }

  async counters(): Promise<LinkCounters> {
    const reply = await this.ask({ kind: 'counters' });
    if (reply.kind !== 'counters') throw new Error('unexpected reply from the relay');
    return reply.counters;
  }

  async stop(): Promise<void> {
    await this.ask({ kind: 'stop' }).catch(() => undefined);
    await this.worker.terminate();
  }

  private ask(command: Command): Promise<Reply> {
    return new Promise((resolve) => {
      this.worker.once('message', resolve);
      this.worker.postMessage(command);
    });
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const init = workerData as Init;
  const emulator = new LinkEmulator(init.target, init.shape);
  void emulator.start().then((listening) => port.postMessage({ kind: 'started', port: listening } satisfies Reply));
  port.on('message', (command: Command) => {
    switch (command.kind) {
      case 'shape':
        emulator.setShape(command.shape);
        port.postMessage({ kind: 'ok' } satisfies Reply);
        break;
      case 'counters':
        port.postMessage({ kind: 'counters', counters: { ...emulator.counters } } satisfies Reply);
        break;
      case 'stop':
        void emulator.stop().then(() => port.postMessage({ kind: 'stopped' } satisfies Reply));
        break;
    }
  });
}
