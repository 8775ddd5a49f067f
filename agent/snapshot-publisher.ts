import type { Logger } from '../common/logger.js';
import { publishOverhead } from '../protocol/packet-size.js';
import type { CapturedFrame } from './capture/frame-source.js';
import type { PublishLink } from './frame-publisher.js';

/**
 * Publishes one whole JPEG, retained, on `<base>/snapshot` when asked (a `set` request, or the Home
 * Assistant interval). For consumers that cannot reassemble chunks. The frame must fit the broker's
 * Maximum Packet Size; if it does not, the snapshot is skipped with a warning.
 */
export class SnapshotPublisher {
  private wanted = false;
  private waiters: Array<(ok: boolean) => void> = [];
  published = 0;

  constructor(private readonly link: PublishLink, private readonly topic: string, private readonly logger: Logger) {}

  /** Resolves true once the next frame has been published (false when it could not be). */
  request(): Promise<boolean> {
    this.wanted = true;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  offer(frame: CapturedFrame): void {
    if (!this.wanted) return;
    this.wanted = false;
    const waiters = this.waiters;
    this.waiters = [];
    const done = (ok: boolean): void => { for (const w of waiters) w(ok); };
    const limit = this.link.maxPacketSize;
    if (limit !== undefined && frame.data.length + publishOverhead(this.topic) > limit) {
      this.logger.warn('snapshot larger than the broker accepts; skipped', { bytes: frame.data.length, maxPacketSize: limit });
      return done(false);
    }
    this.link.publish(this.topic, frame.data, { qos: 0, retain: true }).then(
      () => { this.published++; done(true); },
      () => done(false),
    );
  }

  /** Answers every pending request with false (on shutdown). */
  cancel(): void {
    this.wanted = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(false);
  }
}
