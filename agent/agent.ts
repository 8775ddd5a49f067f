import crypto from 'node:crypto';
import type { Logger } from '../common/logger.js';
import { MqttConnection } from '../common/mqtt-connection.js';
import { PROTOCOL_VERSION } from '../protocol/header.js';
import type { CameraInfo } from '../protocol/messages.js';
import { cameraTopic } from '../protocol/topics.js';
import type { FrameSource } from './capture/frame-source.js';
import type { AgentConfig } from './config.js';
import { FramePublisher } from './frame-publisher.js';
import { noLifecycle, type LifecycleReporter } from './lifecycle.js';
import { StreamStats } from './stream-stats.js';

export interface AgentDeps {
  config: AgentConfig;
  source: FrameSource;
  logger: Logger;
  version: string;
  /** Password read from the environment, the config file or passwordFile (never a flag). */
  password?: string;
  lifecycle?: LifecycleReporter;
}

/**
 * The agent's composition root: owns the MQTT connection, the frame source, the publisher and the stats
 * timer; starts them in that order and stops them in reverse.
 */
export class Agent {
  readonly streamId = crypto.randomBytes(4).readUInt32BE(0);
  readonly stats: StreamStats;
  private readonly connection: MqttConnection;
  private readonly publisher: FramePublisher;
  private readonly lifecycle: LifecycleReporter;
  private readonly topics: Record<'frame' | 'status' | 'info' | 'stats', string>;
  private statsTimer: NodeJS.Timeout | undefined;
  private startedAt = new Date();
  private isReady = false;
  private stopped: Promise<void> | undefined;

  constructor(private readonly deps: AgentDeps) {
    const { config, logger } = deps;
    this.lifecycle = deps.lifecycle ?? noLifecycle;
    this.topics = {
      frame: cameraTopic(config.prefix, config.cameraId, 'frame'),
      status: cameraTopic(config.prefix, config.cameraId, 'status'),
      info: cameraTopic(config.prefix, config.cameraId, 'info'),
      stats: cameraTopic(config.prefix, config.cameraId, 'stats'),
    };
    this.stats = new StreamStats(this.streamId);
    const mqttVersion = config.mqttVersion === '5' ? 5 : 4;
    this.connection = new MqttConnection(
      {
        url: config.broker,
        clientId: `picam-agent-${config.cameraId}-${this.streamId.toString(16)}`,
        protocolVersion: mqttVersion,
        username: config.username,
        password: deps.password,
        will: { topic: this.topics.status, payload: Buffer.from('offline'), qos: 1, retain: true },
        onConnect: () => this.announce(),
      },
      logger.child('mqtt'),
    );
    this.publisher = new FramePublisher(
      this.connection,
      {
        topic: this.topics.frame,
        streamId: this.streamId,
        chunkSize: config.chunkSize,
        qos: config.qos === '1' ? 1 : 0,
        expiryS: mqttVersion === 5 ? config.frameExpiry : undefined,
      },
      this.stats,
      logger.child('publisher'),
      () => this.onFrameSent(),
    );
  }

  get connected(): boolean {
    return this.connection.connected;
  }

  async start(): Promise<void> {
    const { config, source, logger } = this.deps;
    this.startedAt = new Date();
    this.connection.start();
    await source.start({
      frame: (frame) => this.publisher.offer(frame),
      fatal: (error) => {
        logger.error('camera source failed', { source: source.kind, error: error.message });
        process.exitCode = 1;
        void this.stop();
      },
    });
    this.statsTimer = setInterval(() => this.publishStats(), config.statsInterval * 1000);
    logger.info('agent started', { cameraId: config.cameraId, source: source.kind, topic: this.topics.frame, streamId: this.streamId.toString(16) });
  }

  /** Publishes `offline`, stops the source, closes the connection. Idempotent; resolves when all is released. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    const { logger, source } = this.deps;
    this.lifecycle.stopping();
    clearInterval(this.statsTimer);
    await source.stop();
    await this.publisher.stop();
    if (this.connection.connected) {
      await this.connection.publish(this.topics.status, Buffer.from('offline'), { qos: 1, retain: true }).catch(() => undefined);
    }
    await this.connection.stop();
    await this.lifecycle.stop();
    logger.info('agent stopped', { framesSent: this.stats.framesSent, framesDropped: this.stats.framesDropped });
  }

  info(): CameraInfo {
    const { config, source, version } = this.deps;
    return {
      protocol: PROTOCOL_VERSION,
      cameraId: config.cameraId,
      codec: 'image/jpeg',
      width: source.width || config.width,
      height: source.height || config.height,
      fps: config.fps,
      chunkSize: config.chunkSize,
      streamId: this.streamId,
      source: source.kind,
      agentVersion: version,
      startedAt: this.startedAt.toISOString(),
    };
  }

  /** Retained state, sent again on every connect so a restarted broker learns it anew. */
  private announce(): void {
    const retained = { qos: 1 as const, retain: true };
    void this.connection.publish(this.topics.status, Buffer.from('online'), retained).catch(() => undefined);
    void this.connection.publish(this.topics.info, Buffer.from(JSON.stringify(this.info())), retained).catch(() => undefined);
  }

  private onFrameSent(): void {
    this.lifecycle.frameSent();
    if (!this.isReady) {
      this.isReady = true;
      this.deps.logger.info('first frame published', { topic: this.topics.frame });
      this.lifecycle.ready(this.summary());
    }
  }

  private summary(): string {
    const info = this.info();
    return `streaming ${info.width}x${info.height} @ ${this.stats.snapshotFps().toFixed(1)} fps`;
  }

  private publishStats(): void {
    const doc = this.stats.snapshot({ connected: this.connection.connected });
    this.lifecycle.status(`streaming ${this.info().width}x${this.info().height} @ ${doc.fps.toFixed(1)} fps, ${doc.framesDropped} dropped`);
    if (!this.connection.connected) return;
    void this.connection.publish(this.topics.stats, Buffer.from(JSON.stringify(doc)), { qos: 0 }).catch(() => undefined);
  }
}
