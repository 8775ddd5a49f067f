import { EXIT_CONFIG } from '../../common/cli-runner.js';
import { PACKET_TOO_LARGE, PublishRefusedError } from '../../common/mqtt-connection.js';
import { PROTOCOL_VERSION } from '../../protocol/header.js';
import type { CameraInfo } from '../../protocol/messages.js';
import { settingsFrameSize, type FrameSize } from '../capture/camera-settings.js';
import { planProcessing, processedSize } from '../processing/processing-plan.js';
import { packetLimitProblem } from './broker-packet-limit.js';
import type { AgentContext, Feature, OutputRate } from './feature.js';

/** What the will says when the agent vanishes, and the agent itself when it stops. */
export const OFFLINE = Buffer.from('offline');
const ONLINE = Buffer.from('online');
const RETAINED = { qos: 1 as const, retain: true };

/**
 * The camera's presence on the broker: the connection itself (started first, closed last), the retained
 * `status` (`online` on every connect, `offline` at stop and, through the will, when the agent vanishes) and
 * the retained `info` document, sent again whenever what it says changes.
 */
export class Presence implements Feature {
  private startedAt = new Date();
  private readonly refusalsLogged = new Set<string>();

  constructor(private readonly ctx: AgentContext, private readonly rate: OutputRate) {
    ctx.pipeline.onOutputChange(() => this.publishInfo());
  }

  start(): void {
    this.startedAt = new Date();
    this.ctx.link.start();
  }

  /**
   * Whether the broker's packet limit leaves the agent room to work; if not the agent stops (exit code 2) rather
   * than connecting, being dropped and reconnecting for ever.
   */
  brokerFits(): boolean {
    const { link, topics, logger } = this.ctx;
    const problem = packetLimitProblem(link.maxPacketSize, topics.frame, { topic: topics.info, payload: JSON.stringify(this.info()) });
    if (!problem) return true;
    logger.error('the broker\'s Maximum Packet Size is too small for the agent; stopping', { maxPacketSize: link.maxPacketSize, needed: problem.needed, hint: problem.hint });
    this.ctx.fail(EXIT_CONFIG);
    return false;
  }

  /** Retained state, sent again on every connect so a restarted broker learns it anew. */
  onConnect(): void {
    void this.ctx.link.publish(this.ctx.topics.status, ONLINE, RETAINED).catch((error: Error) => this.refused(error));
    this.publishInfo();
  }

  publishInfo(): void {
    const { link, topics } = this.ctx;
    if (!link.connected) return;
    void link.publish(topics.info, Buffer.from(JSON.stringify(this.info())), RETAINED).catch((error: Error) => this.refused(error));
  }

  info(): CameraInfo {
    const { config, version, camera, pipeline, streamId } = this.ctx;
    const size = this.frameSize();
    return {
      protocol: PROTOCOL_VERSION,
      cameraId: config.cameraId,
      codec: 'image/jpeg',
      width: size.width,
      height: size.height,
      fps: this.rate.targetFps(),
      chunkSize: config.chunkSize,
      streamId,
      source: camera.activeSource.kind,
      agentVersion: version,
      startedAt: this.startedAt.toISOString(),
      quality: camera.settings.quality,
      adjustable: camera.adjustable,
      control: config.control,
      processing: pipeline.processor.steps,
    };
  }

  /** Publishes `offline` (after the pipeline let its last frames go), then closes the connection. */
  async stop(): Promise<void> {
    const { link, topics } = this.ctx;
    if (link.connected) await link.publish(topics.status, OFFLINE, RETAINED).catch(() => undefined);
    await link.stop();
  }

  /** A broker ACL refusing our own topics (or a packet limit) is a deployment mistake worth one line per topic, not silence. */
  refused(error: Error): void {
    if (!(error instanceof PublishRefusedError) || this.refusalsLogged.has(error.topic)) return;
    this.refusalsLogged.add(error.topic);
    const advice = error.reasonCode === PACKET_TOO_LARGE ? 'not sent: raise the broker\'s max_packet_size' : 'check that the ACL lets this account write its camera\'s topics';
    this.ctx.logger.warn(`the broker refused a message: ${advice}`, { topic: error.topic, reason: error.message });
  }

  /** The size frames go out at: the latest frame's, else what the source and the processing step will make. */
  private frameSize(): FrameSize {
    const { camera, pipeline } = this.ctx;
    if (pipeline.processor.lastSize) return pipeline.processor.lastSize;
    const source = camera.activeSource;
    const fromSource = source.width > 0 ? { width: source.width, height: source.height } : settingsFrameSize(camera.settings);
    return processedSize(planProcessing(camera.processingRequest(false)), fromSource);
  }
}
