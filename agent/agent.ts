import crypto from 'node:crypto';
import type { Logger } from '../common/logger.js';
import { MqttConnection } from '../common/mqtt-connection.js';
import type { TlsMaterial } from '../common/tls-files.js';
import type { CameraInfo } from '../protocol/messages.js';
import { cameraTopics } from '../protocol/topics.js';
import type { AdaptiveQuality } from './adaptive-quality.js';
import { CameraControl, type ExactSettings } from './camera-control.js';
import type { FrameSource } from './capture/frame-source.js';
import type { CaptureSettings } from './capture/registry.js';
import { captureSettings, motionOptions, overlaySettings, type AgentConfig } from './config.js';
import { Adaptive } from './features/adaptive.js';
import type { AgentContext, Feature, OutputRate } from './features/feature.js';
import { HomeAssistant } from './features/homeassistant.js';
import { MotionFeature } from './features/motion.js';
import { OFFLINE, Presence } from './features/presence.js';
import { RemoteControl } from './features/remote-control.js';
import { Snapshot } from './features/snapshot.js';
import { Stats } from './features/stats.js';
import { Supervision } from './features/systemd.js';
import { noLifecycle, type LifecycleReporter } from './lifecycle.js';
import { Pipeline } from './pipeline.js';
import { StreamStats } from './stream-stats.js';

export interface AgentDeps {
  config: AgentConfig;
  /** The first source, built for the configured settings. */
  source: FrameSource;
  /** Builds a source for new settings (remote control, adaptive quality); without it those need no restart or are refused. */
  recreateSource?: (settings: CaptureSettings) => FrameSource;
  logger: Logger;
  version: string;
  /** Password read from the environment, the config file or passwordFile (never a flag). */
  password?: string;
  /** TLS files' contents (loadTlsFiles), when configured. */
  tls?: TlsMaterial;
  lifecycle?: LifecycleReporter;
  /** Size and quality the user set (exactSettings in config.ts); by default both are only requests to the camera. */
  exact?: ExactSettings;
}

/**
 * The agent's composition root. It builds the broker link, the camera and the frame's pipeline (pipeline.ts),
 * then the features (features/), each given the same AgentContext; starts them in order and stops them in
 * reverse. Nothing else happens here: a frame's way is in the pipeline, each feature's logic in its own file.
 */
export class Agent {
  readonly streamId = crypto.randomBytes(4).readUInt32BE(0);
  /** The stream's one counter. */
  readonly stats: StreamStats;
  readonly camera: CameraControl;
  /** Adaptive quality's policy, when it is on. */
  readonly adaptive: AdaptiveQuality | undefined;
  /** Motion detection (--motion), fed the frames going to the publisher. */
  readonly motion: MotionFeature | undefined;
  private readonly link: MqttConnection;
  private readonly ctx: AgentContext;
  private readonly presence: Presence;
  /** In start order: supervision first (stopped last), then the broker presence, the pipeline, the features. */
  private readonly parts: Feature[];
  private stopped: Promise<void> | undefined;

  constructor(private readonly deps: AgentDeps) {
    const { config, logger } = deps;
    const topics = cameraTopics(config.prefix, config.cameraId);
    this.stats = new StreamStats(this.streamId);
    const mqtt5 = config.mqttVersion === '5';
    this.link = new MqttConnection({
      url: config.broker, clientId: `picam-agent-${config.cameraId}-${this.streamId.toString(16)}`, protocolVersion: mqtt5 ? 5 : 4,
      username: config.username, password: deps.password, keepaliveS: config.keepalive, noDelay: true, tls: deps.tls, caFile: config.caFile,
      will: { topic: topics.status, payload: OFFLINE, qos: 1, retain: true },
      onConnect: () => { if (this.presence.brokerFits()) for (const part of this.parts) part.onConnect?.(); },
      onMessage: (topic, payload, retained) => { for (const part of this.parts) part.onMessage?.(topic, payload, retained); },
    }, logger.child('mqtt'));
    this.camera = new CameraControl(deps.source, captureSettings(config), deps.exact ?? { size: false, quality: false }, deps.recreateSource, logger.child('camera'), () => this.presence.publishInfo());
    const pipeline = new Pipeline({
      camera: this.camera, counts: this.stats, link: this.link, overlay: overlaySettings(config), stallTimeoutS: config.stallTimeout, logger,
      publisher: { topic: topics.frame, streamId: this.streamId, chunkSize: config.chunkSize, qos: config.qos === '1' ? 1 : 0, expiryS: mqtt5 ? config.frameExpiry : undefined },
      onFatal: () => this.fail(1),
    });
    const ctx: AgentContext = this.ctx = {
      config, logger, version: deps.version, streamId: this.streamId, topics, link: this.link, camera: this.camera, pipeline, counts: this.stats,
      infoChanged: () => this.presence.publishInfo(),
      fail: (exitCode) => this.fail(exitCode),
    };
    const adaptive = config.adaptive ? new Adaptive(ctx) : undefined;
    this.adaptive = adaptive?.policy;
    const rate: OutputRate = adaptive ?? { level: 0, targetFps: () => this.camera.settings.fps };
    this.presence = new Presence(ctx, rate);
    const motion = motionOptions(config);
    this.motion = motion && new MotionFeature(ctx, this.presence, motion);
    const stats = new Stats(ctx, rate, this.motion);
    const snapshot = new Snapshot(ctx);
    // Motion stops before the presence: its last OFF goes out before `offline`.
    this.parts = [
      new Supervision(ctx, deps.lifecycle ?? noLifecycle, stats, this.presence), this.presence, pipeline, snapshot, stats,
      new RemoteControl(ctx, snapshot, adaptive, this.motion), ...(adaptive ? [adaptive] : []), ...(this.motion ? [this.motion] : []),
      ...(config.homeassistant ? [new HomeAssistant(ctx, snapshot, this.motion !== undefined)] : []),
    ];
  }

  get connected(): boolean {
    return this.link.connected;
  }

  async start(): Promise<void> {
    const { config, logger } = this.deps;
    try {
      for (const part of this.parts) {
        await part.start();
        // Stopped while this part was starting (a broker refused at connect): its stop came too early.
        if (this.stopped) return void (await part.stop());
      }
    } catch (error) {
      // No camera (or it cannot start): release the broker connection too, so the process can exit.
      await this.stop().catch(() => undefined);
      throw error;
    }
    logger.info('agent started', { cameraId: config.cameraId, source: this.camera.activeSource.kind, topic: this.ctx.topics.frame, streamId: this.streamId.toString(16) });
  }

  /** Publishes `offline`, stops the source, closes the connection. Idempotent; resolves when all is released. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  info(): CameraInfo {
    return this.presence.info();
  }

  private async shutdown(): Promise<void> {
    for (const part of this.parts) part.onStopping?.();
    for (const part of [...this.parts].reverse()) await part.stop();
    this.deps.logger.info('agent stopped', { framesSent: this.stats.framesSent, framesDropped: this.stats.framesDropped });
  }

  private fail(exitCode: number): void {
    process.exitCode = exitCode;
    void this.stop();
  }
}
