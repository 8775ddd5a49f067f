import type { MqttClient } from 'mqtt';
import { monoUs, sleep, sleepUntil } from './clock.js';
import { connectReceiver, createDecoder, createSender, socketBytesRead, type FrameDecoder, type FrameSender } from './contenders.js';
import { FrameSet } from './frames.js';
import type { FinishResult, PacedCommand, PacedResult, PeerInit, Reply, Request, ThroughputCommand, ThroughputResult } from './peer-protocol.js';

/**
 * One benchmark process: the sending or the receiving half of one contender. Started by the orchestrator
 * with its settings as JSON in argv[2]; obeys commands over IPC; CPU and memory are its own.
 */

const QUIET_MS = 200;
const MAX_DRAIN_MS = 5000;

function reply(message: Reply): void {
  process.send!(message);
}

function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

interface Sample {
  atUs: number;
  cpuUs: number;
  frames: number;
  bytes: number;
}

class SenderPeer {
  private next = 0;

  constructor(private readonly sender: FrameSender, private readonly frames: FrameSet) {}

  private nextFrame(): [number, Buffer] {
    const index = this.next;
    this.next = (this.next + 1) % this.frames.frames.length;
    return [index, this.frames.frames[index]!];
  }

  private sample(frames: number): Sample {
    return { atUs: monoUs(), cpuUs: cpuUs(), frames, bytes: this.sender.bytesWritten() };
  }

  async throughput(command: ThroughputCommand): Promise<ThroughputResult> {
    if (command.chunkSize !== undefined) await this.sender.setChunkSize(command.chunkSize);
    this.next = 0;
    await sleepUntil(command.startUs);
    let sent = 0;
    let first: Sample | undefined;
    for (;;) {
      const now = monoUs();
      if (!first && now >= command.windowStartUs) first = this.sample(sent);
      if (now >= command.windowEndUs) break;
      await this.sender.send(this.nextFrame()[1], now);
      sent++;
    }
    const last = this.sample(sent);
    first ??= last;
    return { frames: last.frames - first.frames, elapsedUs: last.atUs - first.atUs, cpuUs: last.cpuUs - first.cpuUs, wireBytes: last.bytes - first.bytes, invalid: 0 };
  }

  async paced(command: PacedCommand): Promise<PacedResult> {
    if (command.chunkSize !== undefined) await this.sender.setChunkSize(command.chunkSize);
    const periodUs = 1e6 / command.fps;
    const events: Array<[number, number]> = [];
    let jpegBytes = 0;
    // Every contender sends the same sequence of frames in a paced trial.
    this.next = 0;
    await sleepUntil(command.startUs);
    const begin = this.sample(0);
    for (let i = 0; i < command.frames; i++) {
      // Scheduled against the start, so a slow frame does not shift the ones after it.
      await sleepUntil(command.startUs + i * periodUs);
      const [index, data] = this.nextFrame();
      const at = monoUs();
      events.push([index, at]);
      jpegBytes += data.length;
      await this.sender.send(data, at);
    }
    const end = this.sample(command.frames);
    return { events, cpuUs: end.cpuUs - begin.cpuUs, wireBytes: end.bytes - begin.bytes, jpegBytes, invalid: 0 };
  }
}

class ReceiverPeer {
  private verified = 0;
  private verifiedBytes = 0;
  private invalid = 0;
  private lastMessageUs = 0;
  private recording: Array<[number, number]> | undefined;

  constructor(private readonly client: MqttClient, private readonly decoder: FrameDecoder, private readonly frames: FrameSet) {
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
  }

  private onMessage(topic: string, payload: Buffer): void {
    this.lastMessageUs = monoUs();
    let data: Buffer | undefined;
    try {
      data = this.decoder.decode(topic, payload);
    } catch {
      this.invalid++;
      return;
    }
    if (!data) return;
    const at = monoUs();
    const index = this.frames.identify(data);
    if (index < 0) {
      this.invalid++;
      return;
    }
    this.verified++;
    this.verifiedBytes += data.length;
    this.recording?.push([index, at]);
  }

  private sample(): Sample {
    return { atUs: monoUs(), cpuUs: cpuUs(), frames: this.verified, bytes: socketBytesRead(this.client) };
  }

  /** Waits until the broker has nothing more for us (the sender's backlog is drained). */
  private async quiet(): Promise<void> {
    const deadline = monoUs() + MAX_DRAIN_MS * 1000;
    while (monoUs() < deadline && monoUs() - this.lastMessageUs < QUIET_MS * 1000) await sleep(25);
  }

  async throughput(command: ThroughputCommand): Promise<ThroughputResult> {
    const invalidBefore = this.invalid;
    await sleepUntil(command.windowStartUs);
    const first = this.sample();
    await sleepUntil(command.windowEndUs);
    const last = this.sample();
    await this.quiet();
    return { frames: last.frames - first.frames, elapsedUs: last.atUs - first.atUs, cpuUs: last.cpuUs - first.cpuUs, wireBytes: last.bytes - first.bytes, invalid: this.invalid - invalidBefore };
  }

  async paced(command: PacedCommand): Promise<PacedResult> {
    const invalidBefore = this.invalid;
    const events: Array<[number, number]> = [];
    const begin = this.sample();
    const bytesBefore = this.verifiedBytes;
    this.recording = events;
    await sleepUntil(command.endUs);
    await this.quiet();
    this.recording = undefined;
    const end = this.sample();
    return { events, cpuUs: end.cpuUs - begin.cpuUs, wireBytes: end.bytes - begin.bytes, jpegBytes: this.verifiedBytes - bytesBefore, invalid: this.invalid - invalidBefore };
  }
}

async function main(): Promise<void> {
  const init = JSON.parse(process.argv[2]!) as PeerInit;
  const frames = FrameSet.load(init.frameDir);
  let stop: () => Promise<void>;
  let handle: (request: Request) => Promise<ThroughputResult | PacedResult | FinishResult>;
  if (init.role === 'sender') {
    const sender = await createSender(init.contender, { brokerUrl: init.brokerUrl, namespace: init.namespace, chunkSize: init.chunkSize, noDelay: init.noDelay });
    const peer = new SenderPeer(sender, frames);
    stop = () => sender.stop();
    handle = (r) => (r.type === 'throughput' ? peer.throughput(r) : r.type === 'paced' ? peer.paced(r) : finish());
  } else {
    const decoder = createDecoder(init.contender, init.namespace);
    const client = await connectReceiver(init.contender, init.brokerUrl, `${init.namespace}-receiver-${process.pid}`, init.noDelay);
    await client.subscribeAsync(decoder.filters, { qos: 0 });
    const peer = new ReceiverPeer(client, decoder, frames);
    stop = () => client.endAsync();
    handle = (r) => (r.type === 'throughput' ? peer.throughput(r) : r.type === 'paced' ? peer.paced(r) : finish());
  }
  async function finish(): Promise<FinishResult> {
    await stop();
    return { maxRssKb: process.resourceUsage().maxRSS };
  }
  // Commands come one at a time; running them in order keeps a slow one from overlapping the next.
  let queue = Promise.resolve();
  process.on('message', (request: Request) => {
    queue = queue.then(async () => {
      try {
        const result = await handle(request);
        reply({ type: 'result', id: request.id, result });
        if (request.type === 'finish') process.disconnect();
      } catch (error) {
        reply({ type: 'error', id: request.id, message: (error as Error).stack ?? String(error) });
      }
    });
  });
  reply({ type: 'ready' });
}

main().catch((error: Error) => {
  if (process.send) reply({ type: 'error', message: error.stack ?? String(error) });
  process.exitCode = 1;
  process.disconnect?.();
});
