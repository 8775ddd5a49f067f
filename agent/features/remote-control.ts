import { parseControlRequest, type ControlRequest, type ControlResult } from '../../protocol/control.js';
import { ChangeRejected } from '../camera-control.js';
import type { Adaptive } from './adaptive.js';
import type { MotionFeature } from './motion.js';
import type { AgentContext, Feature } from './feature.js';
import type { Snapshot } from './snapshot.js';

/**
 * Remote control (PROTOCOL.md §8): a `set` request changes the camera's settings or asks for a snapshot, and
 * is answered on `result`. Subscribed on every connect when `control` is on. Never throws on a request.
 */
export class RemoteControl implements Feature {
  constructor(
    private readonly ctx: AgentContext,
    private readonly snapshot: Snapshot,
    private readonly adaptive: Adaptive | undefined,
    private readonly motion: MotionFeature | undefined,
  ) {}

  start(): void {}

  stop(): void {}

  onConnect(): void {
    if (!this.ctx.config.control) return;
    this.ctx.link.subscribe([this.ctx.topics.set], 1).catch((error: Error) => this.ctx.logger.warn('cannot subscribe to the control topic', { error: error.message }));
  }

  onMessage(topic: string, payload: Buffer, retained: boolean): void {
    if (topic === this.ctx.topics.set) void this.handle(payload, retained);
  }

  /** A `set` request: validate, apply, answer on `result`. */
  private async handle(payload: Buffer, retained: boolean): Promise<void> {
    if (payload.length === 0) return; // how a retained message is cleared: no request
    if (retained) return this.ignoreRetained(payload.length);
    const parsed = parseControlRequest(payload);
    const result: ControlResult = parsed.ok ? await this.apply(parsed.request) : { id: parsed.id, ok: false, error: parsed.error };
    this.ctx.logger.info(result.ok ? 'control request applied' : 'control request rejected', { id: result.id, error: result.error, restarted: result.restarted });
    await this.ctx.link.publish(this.ctx.topics.result, Buffer.from(JSON.stringify(result)), { qos: 1 }).catch(() => undefined);
  }

  private async apply(request: ControlRequest): Promise<ControlResult> {
    if (request.motion && !this.motion) return { id: request.id, ok: false, error: 'motion detection is off on this camera (start the agent with --motion)' };
    try {
      if (request.motion) this.motion!.apply(request.motion);
      const { restarted, settings } = await this.ctx.camera.apply(request.changes);
      if (request.changes.quality !== undefined || request.changes.fps !== undefined) this.adaptive?.retarget(settings);
      if (request.snapshot && !(await this.snapshot.request())) {
        return { id: request.id, ok: false, error: 'snapshot could not be published (no frame, no broker, or larger than the broker accepts)' };
      }
      return { id: request.id, ok: true, restarted, settings: { ...settings, ...this.motionSettings() } };
    } catch (error) {
      if (error instanceof ChangeRejected) return { id: request.id, ok: false, error: error.message };
      throw error;
    }
  }

  /** The motion settings in force, named as in a `set` request's answer (PROTOCOL.md §11). */
  private motionSettings(): Record<string, number> {
    if (!this.motion) return {};
    const m = this.motion.current;
    return { motionThreshold: m.threshold, motionMinArea: m.minArea, motionMinDuration: m.minDuration, motionHold: m.hold, motionZones: m.mask.length };
  }

  /**
   * A retained `set` request would take over every agent start (and every reconnect) long after whoever sent
   * it has gone, so it is never applied. The broker is asked to clear it, which the documented ACL does not
   * let a camera do (only the operator writes `set`): the log then says how to clear it by hand.
   */
  private async ignoreRetained(bytes: number): Promise<void> {
    const { link, topics, logger } = this.ctx;
    const topic = topics.set;
    const cleared = await link.publish(topic, Buffer.alloc(0), { qos: 1, retain: true }).then(() => true, () => false);
    logger.warn(cleared ? 'ignored a retained control request and asked the broker to clear it' : 'ignored a retained control request; the broker did not let this account clear it', {
      topic,
      bytes,
      hint: `control requests must not be retained; to clear one by hand, with an account that may write the topic: mosquitto_pub -t ${topic} -r -n`,
    });
  }
}
