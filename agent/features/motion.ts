import type { MotionChanges, MotionSettings, MotionStats } from '../../protocol/motion.js';
import { MotionDetector, type MotionOptions } from '../motion/motion-detector.js';
import type { AgentContext, Feature } from './feature.js';
import type { Presence } from './presence.js';

/**
 * Motion detection (`--motion`, docs/MOTION.md): the detector is fed every frame the pipeline sends, with its
 * sequence number, and never delays one; its `ON`/`OFF` (retained) and event documents go on the camera's
 * `motion` and `event` topics, the state again on every connect so a restarted broker learns it anew.
 */
export class MotionFeature implements Feature {
  private readonly detector: MotionDetector;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly ctx: AgentContext, private readonly presence: Presence, options: MotionOptions) {
    this.detector = new MotionDetector(options, { publish: (kind, payload, retain) => this.publish(kind, payload, retain), logger: ctx.logger.child('motion') });
  }

  get current(): Readonly<MotionSettings> {
    return this.detector.current;
  }

  start(): void {
    this.unsubscribe ??= this.ctx.pipeline.onOutgoing((frame, seq) => this.detector.offer(frame, seq));
    this.detector.start();
  }

  /** Ends an event in progress (its OFF goes out before the presence's `offline`). Idempotent. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.detector.stop();
  }

  onConnect(): void {
    this.detector.announce();
  }

  /** Live changes from a `set` request; returns the settings now in force. */
  apply(changes: MotionChanges): MotionSettings {
    return this.detector.apply(changes);
  }

  /** The stats field; closes the detector's timing window. */
  takeStats(): MotionStats {
    return this.detector.takeStats();
  }

  /** Never throws; a refusal is logged once per topic by the presence. */
  private publish(kind: 'motion' | 'event', payload: string, retain: boolean): void {
    const { link, topics } = this.ctx;
    if (!link.connected) return;
    void link.publish(topics[kind], Buffer.from(payload), { qos: 1, retain }).catch((error: Error) => this.presence.refused(error));
  }
}
