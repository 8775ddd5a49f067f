import type { CameraStats } from '../../protocol/messages.js';
import { Listeners } from '../../common/listeners.js';
import type { MotionFeature } from './motion.js';
import type { AgentContext, Feature, OutputRate } from './feature.js';

/**
 * The `stats` document (PROTOCOL.md §4): every `statsInterval` seconds, and at once when the camera stalls or
 * comes back so a viewer learns of it without waiting. Made even while the broker is away (the systemd
 * status reads it), published only while connected.
 */
export class Stats implements Feature {
  private timer: NodeJS.Timeout | undefined;
  private readonly documents: Listeners<[CameraStats]>;

  constructor(private readonly ctx: AgentContext, private readonly rate: OutputRate, private readonly motion?: MotionFeature) {
    this.documents = new Listeners(ctx.logger, 'stats listener');
    ctx.pipeline.onStallChange(() => this.publish());
  }

  /** Each document as it is made, whether or not it can be published. */
  onDocument(listener: (doc: CameraStats) => void): () => void {
    return this.documents.add(listener);
  }

  start(): void {
    this.timer ??= setInterval(() => this.publish(), this.ctx.config.statsInterval * 1000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private publish(): void {
    const { camera, counts, link, pipeline, topics } = this.ctx;
    const processing = pipeline.processor.takeWindow();
    const doc = counts.takeWindow({
      framesProcessed: pipeline.processor.framesProcessed,
      processMeanMs: processing.meanMs,
      connected: link.connected,
      quality: camera.settings.quality,
      targetFps: this.rate.targetFps(),
      adaptiveLevel: this.rate.level,
      sourceRestarts: camera.restarts,
      stalled: pipeline.stall.stalled,
      lastFrameAgeS: round1(pipeline.stall.sinceLastFrameMs / 1000),
      stalls: pipeline.stall.stalls,
      link: pipeline.publisher.linkStats(),
      ...(this.motion ? { motion: this.motion.takeStats() } : {}),
    });
    this.documents.emit(doc);
    if (!link.connected) return;
    void link.publish(topics.stats, Buffer.from(JSON.stringify(doc)), { qos: 0 }).catch(() => undefined);
  }
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
