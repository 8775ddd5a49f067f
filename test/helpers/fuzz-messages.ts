import { chunkFrame } from '../../protocol/chunker.js';
import { HEADER_LENGTH, MAGIC, writeHeader } from '../../protocol/header.js';
import { randomBytes } from './random.js';

export interface FuzzMessage {
  kind: string;
  topic: string;
  payload: Buffer;
}

/**
 * Junk for a viewer: random bytes, chunk headers that lie, declared sizes far too big, unknown versions,
 * mutated real chunks, broken JSON and status words, and topic names with odd characters, spread over a
 * pool of camera ids. `protectedBase` (a genuine camera's `<prefix>/<id>`) only ever gets messages that
 * the protocol's header check (PROTOCOL.md §2.4 step 1) or the JSON/status parsers must reject: a chunk
 * that passes validation on a camera's own topic can only come from someone the broker lets write there,
 * which the broker's ACL rules out (docs/SECURITY.md), not the viewer.
 */
export class FuzzMessages {
  readonly counts = new Map<string, number>();
  private readonly seedChunks: Buffer[];

  constructor(
    private readonly random: () => number,
    private readonly prefix: string,
    private readonly protectedBase: string,
    private readonly cameraPool: string[],
    sampleFrame: Buffer,
  ) {
    this.seedChunks = chunkFrame({ streamId: 7, seq: 1, capturedAtUs: 1, data: sampleFrame }, 900);
  }

  next(): FuzzMessage {
    const r = this.random();
    const message =
      r < 0.15 ? this.randomBytes()
      : r < 0.30 ? this.lyingHeader()
      : r < 0.40 ? this.hugeSize()
      : r < 0.50 ? this.wrongVersion()
      : r < 0.62 ? this.mutatedChunk()
      : r < 0.72 ? this.badJson()
      : r < 0.80 ? this.badStatus()
      : r < 0.92 ? this.oddTopic()
      : this.rejectedOnProtected();
    this.counts.set(message.kind, (this.counts.get(message.kind) ?? 0) + 1);
    return message;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private int(max: number): number {
    return Math.floor(this.random() * max);
  }

  /** A fuzz camera's topic, or the protected camera's for messages that must fail validation anyway. */
  private topic(kind: string, mayBeProtected: boolean): string {
    if (mayBeProtected && this.random() < 0.3) return `${this.protectedBase}/${kind}`;
    return `${this.prefix}/${this.pick(this.cameraPool)}/${kind}`;
  }

  private header(fields: Partial<Record<'streamId' | 'seq' | 'index' | 'count' | 'frameLength' | 'offset' | 'crc' | 'capturedAtUs', number>>, payloadLength: number): Buffer {
    const message = Buffer.alloc(HEADER_LENGTH + payloadLength);
    writeHeader(message, {
      streamId: fields.streamId ?? this.int(2 ** 32),
      seq: fields.seq ?? this.int(2 ** 32),
      index: fields.index ?? this.int(65536),
      count: fields.count ?? this.int(65536),
      frameLength: fields.frameLength ?? this.int(2 ** 32),
      offset: fields.offset ?? this.int(2 ** 32),
      crc: fields.crc ?? this.int(2 ** 32),
      capturedAtUs: fields.capturedAtUs ?? this.int(2 ** 52),
    });
    randomBytes(this.random, payloadLength).copy(message, HEADER_LENGTH);
    return message;
  }

  private randomBytes(): FuzzMessage {
    const length = this.pick([0, 1, 2, 35, 36, 37, this.int(400), this.int(3000)]);
    const payload = randomBytes(this.random, length);
    const topic = this.topic('frame', true);
    // Past the magic check, on fuzz cameras only: with it, random bytes pass validation about once in a thousand.
    if (length >= 2 && !topic.startsWith(this.protectedBase + '/') && this.random() < 0.5) payload.writeUInt16BE(MAGIC, 0);
    return { kind: 'random-bytes', topic, payload };
  }

  /** Headers whose fields contradict each other or the payload; some pass every check (fuzz cameras only). */
  private lyingHeader(): FuzzMessage {
    const payloadLength = 1 + this.int(600);
    const count = this.pick([1, 2, 3, this.int(65536)]);
    const index = this.pick([0, count - 1, this.int(count + 2)]);
    const frameLength = this.pick([payloadLength, payloadLength * count, this.int(8 * 1024 * 1024), this.int(2 ** 32)]);
    const offset = index === 0 ? this.pick([0, 0, this.int(frameLength + 1)]) : this.pick([this.int(frameLength + 1), frameLength - payloadLength, 2 ** 32 - 1]);
    const payload = this.header({ count, index, frameLength: frameLength >>> 0, offset: offset >>> 0, streamId: this.int(4), seq: this.int(8) }, payloadLength);
    return { kind: 'lying-header', topic: this.topic('frame', false), payload };
  }

  private hugeSize(): FuzzMessage {
    const payload = this.header({ index: 0, offset: 0, count: this.pick([1, 2, 65535]), frameLength: 0x1000_0000 + this.int(2 ** 32 - 0x1000_0000) }, 1 + this.int(64));
    return { kind: 'huge-size', topic: this.topic('frame', true), payload };
  }

  private wrongVersion(): FuzzMessage {
    const real = Buffer.from(this.pick(this.seedChunks));
    real[2] = this.pick([0, 2, 3, 255]);
    return { kind: 'wrong-version', topic: this.topic('frame', true), payload: real };
  }

  private mutatedChunk(): FuzzMessage {
    let message = Buffer.from(this.pick(this.seedChunks));
    const flips = 1 + this.int(8);
    for (let i = 0; i < flips; i++) {
      const at = this.int(message.length);
      message[at] = message[at]! ^ (1 << this.int(8));
    }
    const cut = this.random();
    if (cut < 0.2) message = message.subarray(0, this.int(message.length));
    else if (cut < 0.3) message = Buffer.concat([message, randomBytes(this.random, this.int(500))]);
    return { kind: 'mutated-chunk', topic: this.topic('frame', false), payload: message };
  }

  private badJson(): FuzzMessage {
    const kind = this.pick(['info', 'stats']);
    const payload = Buffer.from(this.pick([
      '{', 'null', '[]', '"x"', '{"protocol":1}', '{"protocol":2,"cameraId":"x","codec":"image/jpeg"}',
      '{"streamId":-1,"uptimeS":1,"fps":1,"kbps":1,"framesCaptured":1,"framesSent":1,"framesDropped":1,"bytesSent":1}',
      '{"protocol":1,"codec":"image/jpeg","cameraId":"a","source":"s","agentVersion":"v","startedAt":"t","width":"wide","height":1,"fps":1,"chunkSize":1,"streamId":1}',
      JSON.stringify({ a: 'x'.repeat(this.int(5000)) }),
    ]));
    return { kind: `bad-${kind}`, topic: this.topic(kind, true), payload: this.random() < 0.3 ? randomBytes(this.random, this.int(200)) : payload };
  }

  private badStatus(): FuzzMessage {
    const payload = this.pick([Buffer.from('ONLINE'), Buffer.from('online\n'), Buffer.from('"offline"'), Buffer.from('on'), randomBytes(this.random, this.int(50) + 1)]);
    return { kind: 'bad-status', topic: this.topic('status', true), payload };
  }

  /** Topics the viewer's subscriptions match, but whose camera level is not a valid id. */
  private oddTopic(): FuzzMessage {
    const level = this.pick([
      'caméra', 'with space', 'dot.dot', 'x'.repeat(65), 'x'.repeat(200), '$SYS', 'émoji-📷', '-', '_', 'a\u200bb', 'quote"', 'back\\slash', '%2F', '..',
      String.fromCharCode(...Array.from({ length: 1 + this.int(20) }, () => 0x21 + this.int(0x5d))).replace(/[+#/]/g, '_'),
    ]);
    const kind = this.pick(['frame', 'status', 'info', 'stats']);
    const payload = kind === 'frame' ? Buffer.from(this.pick(this.seedChunks)) : Buffer.from(kind === 'status' ? 'online' : '{}');
    return { kind: 'odd-topic', topic: `${this.prefix}/${level}/${kind}`, payload };
  }

  private rejectedOnProtected(): FuzzMessage {
    const chunk = Buffer.from(this.pick(this.seedChunks));
    const damage = this.int(5);
    if (damage === 0) chunk.writeUInt16BE(0, 14); // count 0
    else if (damage === 1) chunk.writeUInt16BE(chunk.readUInt16BE(14), 12); // index = count
    else if (damage === 2) chunk[3] = 35; // header length below 36
    else if (damage === 3) chunk.writeUInt32BE(0, 16); // frame length 0
    else chunk[0] = 0x51; // magic
    return { kind: 'invalid-on-genuine', topic: `${this.protectedBase}/frame`, payload: chunk };
  }
}
