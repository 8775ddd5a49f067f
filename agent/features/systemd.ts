import type { LifecycleReporter } from '../lifecycle.js';
import type { AgentContext, Feature } from './feature.js';
import type { Presence } from './presence.js';
import type { Stats } from './stats.js';

/**
 * Tells the supervisor (systemd, through a LifecycleReporter; see systemd-notifier.ts) how the agent is doing:
 * ready once the first frame is out, a watchdog ping per frame sent (so a stalled camera starves it), a status
 * line with every stats document, stopping first and done last.
 */
export class Supervision implements Feature {
  private isReady = false;

  constructor(private readonly ctx: AgentContext, private readonly lifecycle: LifecycleReporter, stats: Stats, private readonly presence: Presence) {
    ctx.pipeline.onSent(() => this.frameSent());
    stats.onDocument((doc) => this.lifecycle.status(ctx.pipeline.stall.stalled ? this.summary(0) : `${this.summary(doc.fps)}, ${doc.framesDropped} dropped`));
  }

  start(): void {}

  onStopping(): void {
    this.lifecycle.stopping();
  }

  stop(): Promise<void> {
    return this.lifecycle.stop();
  }

  private frameSent(): void {
    this.lifecycle.frameSent();
    if (this.isReady) return;
    this.isReady = true;
    this.ctx.logger.info('first frame published', { topic: this.ctx.topics.frame });
    this.lifecycle.ready(this.summary(this.ctx.counts.lastWindowFps()));
  }

  private summary(fps: number): string {
    const { stall } = this.ctx.pipeline;
    if (stall.stalled) return `stalled: no frame from the ${this.ctx.camera.activeSource.kind} source for ${Math.round(stall.sinceLastFrameMs / 1000)} s`;
    const info = this.presence.info();
    return `streaming ${info.width}x${info.height} @ ${fps.toFixed(1)} fps`;
  }
}
