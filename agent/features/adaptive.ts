import type { ControlChanges } from '../../protocol/control.js';
import { AdaptiveQuality } from '../adaptive-quality.js';
import type { CaptureSettings } from '../capture/registry.js';
import type { AgentContext, Feature, OutputRate } from './feature.js';

/**
 * Adaptive quality as a feature: every `adaptInterval` seconds it tells the AdaptiveQuality policy what the
 * link did (the publisher's figures over the interval) and carries out its steps. It steps only the quality
 * the camera encodes at (re-encoding in the agent to save bandwidth would trade a slow link for a busy CPU),
 * and the frame rate with the pipeline's rate gate, by skipping frames (no camera restart).
 */
export class Adaptive implements Feature, OutputRate {
  readonly policy: AdaptiveQuality;
  private timer: NodeJS.Timeout | undefined;
  private window = { at: 0, offeredFrames: 0, offeredBytes: 0, deliveredBytes: 0, busy: 0 };

  constructor(private readonly ctx: AgentContext) {
    const { config, logger, camera } = ctx;
    this.policy = new AdaptiveQuality({ minQuality: config.minQuality, minFps: config.minFps }, (changes) => this.carryOut(changes), logger.child('adaptive'));
    this.policy.setTarget({ quality: config.quality, fps: config.fps }, camera.cameraAdjustable.includes('quality'));
  }

  get level(): number {
    return this.policy.level;
  }

  /** The frame rate frames go out at: the camera's, or adaptive quality's lower one. */
  targetFps(): number {
    return Math.min(this.ctx.camera.settings.fps, this.policy.current.fps);
  }

  start(): void {
    if (this.timer) return;
    void this.evaluate();
    this.timer = setInterval(() => void this.evaluate(), this.ctx.config.adaptInterval * 1000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The operator set quality or frame rate: those become the target, and steps start again from there. */
  retarget(settings: CaptureSettings): void {
    const { camera, pipeline } = this.ctx;
    this.policy.setTarget({ quality: settings.quality, fps: settings.fps }, camera.cameraAdjustable.includes('quality'));
    if (pipeline.rateLimit !== undefined) { pipeline.limitRate(undefined); this.ctx.infoChanged(); }
  }

  private async evaluate(): Promise<void> {
    const { publisher } = this.ctx.pipeline;
    const now = { at: performance.now(), offeredFrames: publisher.offeredFrames, offeredBytes: publisher.offeredBytes, deliveredBytes: publisher.deliveredBytes, busy: this.ctx.counts.drops.busy };
    const last = this.window;
    this.window = now;
    // While the broker is away every frame is dropped as "offline": that says nothing about the link's speed.
    if (!this.ctx.link.connected || last.at === 0) return;
    await this.policy.evaluate({
      seconds: (now.at - last.at) / 1000,
      offeredFrames: now.offeredFrames - last.offeredFrames,
      offeredBytes: now.offeredBytes - last.offeredBytes,
      deliveredBytes: now.deliveredBytes - last.deliveredBytes,
      busyDrops: now.busy - last.busy,
      capacity: publisher.capacityHint(),
      rate: publisher.rateEstimate(),
      measuring: publisher.measuring,
    });
  }

  private async carryOut(changes: ControlChanges): Promise<void> {
    const { camera, config, pipeline } = this.ctx;
    if (changes.quality !== undefined) await camera.apply({ quality: changes.quality }, 'adaptive');
    if (changes.fps !== undefined) {
      // Below minFps, skipping frames here would only make the frame the link takes older: the publisher
      // already sends the newest frame whenever the link has room.
      const skip = changes.fps < camera.settings.fps && changes.fps >= config.minFps;
      pipeline.limitRate(skip ? changes.fps : undefined);
      this.ctx.infoChanged();
    }
  }
}
