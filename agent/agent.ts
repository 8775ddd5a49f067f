import crypto from 'node:crypto';
import type { Logger } from '../common/logger.js';
import { MqttConnection, PublishRefusedError } from '../common/mqtt-connection.js';
import type { TlsMaterial } from '../common/tls-files.js';
import { PROTOCOL_VERSION } from '../protocol/header.js';
import type { CameraInfo } from '../protocol/messages.js';
import { cameraTopic } from '../protocol/topics.js';
import type { FrameSource } from './capture/frame-source.js';
import type { AgentConfig } from './config.js';
import { FramePublisher } from './frame-publisher.js';
import { noLifecycle, type LifecycleReporter } from './lifecycle.js';
import { StallWatch, type StallChange } from './stall-watch.js';
import { StreamStats } from './stream-stats.js';

export interface AgentDeps {
  config: AgentConfig;
  source: FrameSource;
  logger: Logger;
  version: string;
  /** Password read from the environment, the config file or passwordFile (never a flag). */
  password?: string;
  /** TLS files' contents (loadTlsFiles), when configured. */
  tls?: TlsMaterial;
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
  private readonly stall: StallWatch;
  private readonly refusalsLogged = new Set<string>();
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
        keepaliveS: config.keepalive,
        tls: deps.tls,
        caFile: config.caFile,
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
    this.stall = new StallWatch({ timeoutMs: config.stallTimeout * 1000 }, (change) => this.onStallChange(change));
  }

  get connected(): boolean {
    return this.connection.connected;
  }

  async start(): Promise<void> {
    const { config, source, logger } = this.deps;
    this.startedAt = new Date();
    this.connection.start();
    await source.start({
      frame: (frame) => {
        this.stall.frameArrived();
        this.publisher.offer(frame);
      },
      fatal: (error) => {
        logger.error('camera source failed', { source: source.kind, error: error.message });
        process.exitCode = 1;
        void this.stop();
      },
    });
    this.stall.start();
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
    this.stall.stop();
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
    void this.connection.publish(this.topics.status, Buffer.from('online'), retained).catch((error: Error) => this.onRefused(error));
    void this.connection.publish(this.topics.info, Buffer.from(JSON.stringify(this.info())), retained).catch((error: Error) => this.onRefused(error));
  }

  /** A broker ACL refusing our own topics is a deployment mistake worth one line per topic, not silence. */
  private onRefused(error: Error): void {
    if (!(error instanceof PublishRefusedError) || this.refusalsLogged.has(error.topic)) return;
    this.refusalsLogged.add(error.topic);
    this.deps.logger.warn('the broker refused a message: check that the ACL lets this account write its camera\'s topics', { topic: error.topic, reason: error.message });
  }

  private onStallChange(change: StallChange): void {
    const { logger, source, config } = this.deps;
    if (change.stalled) {
      logger.warn('camera stalled: no frame from the source', { source: source.kind, forS: round1(change.sinceLastFrameMs / 1000), stallTimeoutS: config.stallTimeout });
      this.lifecycle.status(this.summary());
    } else {
      logger.info('camera frames resumed', { source: source.kind, stalledForS: round1(change.stalledForMs / 1000) });
    }
    // Stats go out at once, so a viewer learns of the change without waiting for the next interval.
    this.publishStats();
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
    if (this.stall.stalled) return `stalled: no frame from the ${this.deps.source.kind} source for ${Math.round(this.stall.sinceLastFrameMs / 1000)} s`;
    const info = this.info();
    return `streaming ${info.width}x${info.height} @ ${this.stats.snapshotFps().toFixed(1)} fps`;
  }

  private publishStats(): void {
    const doc = this.stats.snapshot({
      connected: this.connection.connected,
      stalled: this.stall.stalled,
      lastFrameAgeS: round1(this.stall.sinceLastFrameMs / 1000),
      stalls: this.stall.stalls,
    });
    this.lifecycle.status(this.stall.stalled ? this.summary() : `streaming ${this.info().width}x${this.info().height} @ ${doc.fps.toFixed(1)} fps, ${doc.framesDropped} dropped`);
    if (!this.connection.connected) return;
    void this.connection.publish(this.topics.stats, Buffer.from(JSON.stringify(doc)), { qos: 0 }).catch(() => undefined);
  }
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
