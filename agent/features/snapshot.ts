import type { Logger } from '../../common/logger.js';
import { publishOverhead } from '../../protocol/packet-size.js';
import type { CapturedFrame } from '../capture/frame-source.js';
import type { AgentContext, Feature } from './feature.js';

/**
 * Publishes one whole JPEG, retained, on `<base>/snapshot` when asked (a `set` request, or the Home
 * Assistant interval). For consumers that cannot reassemble chunks. It takes the next frame as it goes out
 * (processed, as the stream's). The frame must fit the broker's Maximum Packet Size; if it does not, the
 * snapshot is skipped with a warning.
 */
export class Snapshot implements Feature {
  private wanted = false;
  private waiters: Array<(ok: boolean) => void> = [];
  published = 0;

  private readonly logger: Logger;

  constructor(private readonly ctx: AgentContext) {
    this.logger = ctx.logger.child('snapshot');
    ctx.pipeline.onOutgoing((frame) => this.offer(frame));
  }

  start(): void {}

  /** Answers every pending request with false. */
  stop(): void {
    this.wanted = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(false);
  }

  /** Resolves true once the next frame has been published (false when it could not be). */
  request(): Promise<boolean> {
    this.wanted = true;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private offer(frame: CapturedFrame): void {
    if (!this.wanted) return;
    this.wanted = false;
    const waiters = this.waiters;
    this.waiters = [];
    const done = (ok: boolean): void => { for (const w of waiters) w(ok); };
    const { link, topics } = this.ctx;
    const limit = link.maxPacketSize;
    if (limit !== undefined && frame.data.length + publishOverhead(topics.snapshot) > limit) {
      this.logger.warn('snapshot larger than the broker accepts; skipped', { bytes: frame.data.length, maxPacketSize: limit });
      return done(false);
    }
    link.publish(topics.snapshot, frame.data, { qos: 0, retain: true }).then(
      () => { this.published++; done(true); },
      () => done(false),
    );
  }
}
