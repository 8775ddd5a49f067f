import crypto from 'node:crypto';
import { EXIT_CONFIG } from '../common/cli-runner.js';
import type { Logger } from '../common/logger.js';
import { MqttConnection, PACKET_TOO_LARGE, PublishRefusedError } from '../common/mqtt-connection.js';
import type { TlsMaterial } from '../common/tls-files.js';
import { parseControlRequest, type ControlChanges, type ControlRequest, type ControlResult } from '../protocol/control.js';
import { PROTOCOL_VERSION } from '../protocol/header.js';
import type { CameraInfo } from '../protocol/messages.js';
import { cameraTopic, type TopicKind } from '../protocol/topics.js';
import { AdaptiveQuality } from './adaptive-quality.js';
import { packetLimitProblem } from './broker-packet-limit.js';
import { CameraControl, ChangeRejected, type ExactSettings } from './camera-control.js';
import type { FrameSource } from './capture/frame-source.js';
import type { CaptureSettings } from './capture/registry.js';
import { outputSize } from './capture/camera-settings.js';
import { captureSettings, motionOptions, overlaySettings, type AgentConfig } from './config.js';
import { MotionFeature } from './features/motion.js';
import { FramePublisher } from './frame-publisher.js';
import { FrameRateGate } from './frame-rate-gate.js';
import { discoveryMessages } from './homeassistant.js';
import { noLifecycle, type LifecycleReporter } from './lifecycle.js';
import { FrameProcessor } from './processing/frame-processor.js';
import { outputSizeOf, planProcessing } from './processing/processing-plan.js';
import { ignoreRetainedControl } from './retained-control.js';
import { SnapshotPublisher } from './snapshot-publisher.js';
import { StallWatch, type StallChange } from './stall-watch.js';
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
 * The agent's composition root: owns the MQTT connection, the camera (source and settings), the publisher,
 * remote control, adaptive quality, Home Assistant discovery and the timers; starts them in that order and
 * stops them in reverse.
 */
export class Agent {
  readonly streamId = crypto.randomBytes(4).readUInt32BE(0);
  readonly stats: StreamStats;
  readonly camera: CameraControl;
  readonly adaptive: AdaptiveQuality | undefined;
  /** Motion detection (--motion): fed the frames going to the publisher, with their seq. */
  readonly motion: MotionFeature | undefined;
  private readonly connection: MqttConnection;
  private readonly publisher: FramePublisher;
  private readonly processor: FrameProcessor;
  /** Adaptive quality's frame-rate steps: frames are skipped here, the camera keeps running. */
  private readonly gate = new FrameRateGate();
  private readonly snapshots: SnapshotPublisher;
  private readonly stall: StallWatch;
  private readonly refusalsLogged = new Set<string>();
  private readonly lifecycle: LifecycleReporter;
  private readonly topics: Record<TopicKind, string>;
  private readonly timers: NodeJS.Timeout[] = [];
  private startedAt = new Date();
  private isReady = false;
  private adaptWindow = { at: 0, offeredFrames: 0, offeredBytes: 0, deliveredBytes: 0, busy: 0 };
  private stopped: Promise<void> | undefined;

  constructor(private readonly deps: AgentDeps) {
    const { config, logger } = deps;
    this.lifecycle = deps.lifecycle ?? noLifecycle;
    const topic = (kind: TopicKind): string => cameraTopic(config.prefix, config.cameraId, kind);
    this.topics = { frame: topic('frame'), status: topic('status'), info: topic('info'), stats: topic('stats'), set: topic('set'), result: topic('result'), snapshot: topic('snapshot'), motion: topic('motion'), event: topic('event') };
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
        noDelay: true,
        tls: deps.tls,
        caFile: config.caFile,
        will: { topic: this.topics.status, payload: Buffer.from('offline'), qos: 1, retain: true },
        onConnect: () => this.onConnected(),
        onMessage: (topic, payload, retained) => { if (topic === this.topics.set) void this.handleControl(payload, retained); },
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
    this.snapshots = new SnapshotPublisher(this.connection, this.topics.snapshot, logger.child('snapshot'));
    const exact = deps.exact ?? { size: false, quality: false };
    this.camera = new CameraControl(deps.source, captureSettings(config), exact, deps.recreateSource, logger.child('camera'), () => this.publishInfo());
    const overlay = overlaySettings(config);
    this.processor = new FrameProcessor({
      request: () => ({ wanted: this.camera.settings, exact: this.camera.exact, overlay: overlay !== undefined, applies: this.camera.applies }),
      overlay,
      output: (frame) => {
        this.snapshots.offer(frame);
        const seq = this.publisher.offer(frame);
        this.motion?.offer(frame, seq);
      },
      onDrop: (reason, frame) => {
        // Counted as captured too, so captured = sent + dropped holds whichever step dropped the frame.
        this.stats.captured(frame.data.length);
        this.stats.dropped(reason);
      },
      onChange: () => this.publishInfo(),
      logger: logger.child('processing'),
    });
    const motion = motionOptions(config);
    this.motion = motion && new MotionFeature(motion, {
      publish: (kind, payload, retain) => {
        if (this.connection.connected) void this.connection.publish(this.topics[kind], Buffer.from(payload), { qos: 1, retain }).catch((error: Error) => this.onRefused(error));
      },
      logger: logger.child('motion'),
    });
    if (config.adaptive) {
      // Adaptive steps only the quality the camera encodes at (re-encoding in the agent to save bandwidth would
      // trade a slow link for a busy CPU), and the frame rate by skipping frames (no camera restart).
      this.adaptive = new AdaptiveQuality({ minQuality: config.minQuality, minFps: config.minFps }, (changes) => this.adaptTo(changes), logger.child('adaptive'));
      this.adaptive.setTarget({ quality: config.quality, fps: config.fps }, this.camera.cameraAdjustable.includes('quality'));
    }
  }

  get connected(): boolean {
    return this.connection.connected;
  }

  async start(): Promise<void> {
    const { config, logger } = this.deps;
    this.startedAt = new Date();
    this.connection.start();
    try {
      await this.camera.start({
        frame: (frame) => {
          this.stall.frameArrived();
          if (this.gate.accept(frame.capturedAtUs)) this.processor.offer(frame);
        },
        fatal: (error) => {
          logger.error('camera source failed', { source: this.camera.activeSource.kind, error: error.message });
          process.exitCode = 1;
          void this.stop();
        },
      });
    } catch (error) {
      // No camera (or it cannot start): release the broker connection too, so the process can exit.
      await this.stop().catch(() => undefined);
      throw error;
    }
    if (this.stopped) {
      // Stopped while the camera was starting (a broker refused at connect): its stop came too early.
      await this.camera.stop();
      return;
    }
    this.stall.start();
    this.motion?.start();
    this.timers.push(setInterval(() => this.publishStats(), config.statsInterval * 1000));
    if (this.adaptive) {
      void this.adapt();
      this.timers.push(setInterval(() => void this.adapt(), config.adaptInterval * 1000));
    }
    if (config.homeassistant) this.timers.push(setInterval(() => void this.snapshots.request(), config.haSnapshotInterval * 1000));
    logger.info('agent started', { cameraId: config.cameraId, source: this.camera.activeSource.kind, topic: this.topics.frame, streamId: this.streamId.toString(16) });
  }

  /** Publishes `offline`, stops the source, closes the connection. Idempotent; resolves when all is released. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    const { logger } = this.deps;
    this.lifecycle.stopping();
    for (const timer of this.timers) clearInterval(timer);
    this.stall.stop();
    this.snapshots.cancel();
    await this.camera.stop();
    await this.processor.stop();
    await this.motion?.stop();
    await this.publisher.stop();
    if (this.connection.connected) {
      await this.connection.publish(this.topics.status, Buffer.from('offline'), { qos: 1, retain: true }).catch(() => undefined);
    }
    await this.connection.stop();
    await this.lifecycle.stop();
    logger.info('agent stopped', { framesSent: this.stats.framesSent, framesDropped: this.stats.framesDropped });
  }

  info(): CameraInfo {
    const { config, version } = this.deps;
    const settings = this.camera.settings;
    const size = this.frameSize();
    return {
      protocol: PROTOCOL_VERSION,
      cameraId: config.cameraId,
      codec: 'image/jpeg',
      width: size.width,
      height: size.height,
      fps: this.effectiveFps(),
      chunkSize: config.chunkSize,
      streamId: this.streamId,
      source: this.camera.activeSource.kind,
      agentVersion: version,
      startedAt: this.startedAt.toISOString(),
      quality: settings.quality,
      adjustable: this.camera.adjustable,
      control: config.control,
      processing: this.processor.steps,
    };
  }

  /** The size frames go out at: the latest frame's, else what the source and the processing step will make. */
  private frameSize(): { width: number; height: number } {
    if (this.processor.lastSize) return this.processor.lastSize;
    const source = this.camera.activeSource;
    const plan = planProcessing({ wanted: this.camera.settings, exact: this.camera.exact, overlay: false, applies: this.camera.applies });
    const fromSource = source.width > 0 ? { width: source.width, height: source.height } : outputSize(this.camera.settings);
    return outputSizeOf(plan, fromSource);
  }

  /** A broker whose packet limit is too small for the agent is refused (exit code 2) rather than looped on. */
  private onConnected(): void {
    const problem = packetLimitProblem(this.connection.maxPacketSize, this.topics.frame, { topic: this.topics.info, payload: JSON.stringify(this.info()) });
    if (!problem) return this.announce();
    this.deps.logger.error('the broker\'s Maximum Packet Size is too small for the agent; stopping', { maxPacketSize: this.connection.maxPacketSize, needed: problem.needed, hint: problem.hint });
    process.exitCode = EXIT_CONFIG;
    void this.stop();
  }

  /** Retained state, sent again on every connect so a restarted broker learns it anew. */
  private announce(): void {
    const { config } = this.deps;
    const retained = { qos: 1 as const, retain: true };
    void this.connection.publish(this.topics.status, Buffer.from('online'), retained).catch((error: Error) => this.onRefused(error));
    this.publishInfo();
    this.motion?.announce();
    if (config.control) {
      this.connection.subscribe([this.topics.set], 1).catch((error: Error) => this.deps.logger.warn('cannot subscribe to the control topic', { error: error.message }));
    }
    if (config.homeassistant) {
      const messages = discoveryMessages({ discoveryPrefix: config.haPrefix, prefix: config.prefix, cameraId: config.cameraId, source: this.camera.activeSource.kind, version: this.deps.version, motion: this.motion !== undefined });
      for (const m of messages) void this.connection.publish(m.topic, Buffer.from(JSON.stringify(m.payload)), retained).catch(() => undefined);
      void this.snapshots.request();
    }
  }

  private publishInfo(): void {
    if (!this.connection.connected) return;
    void this.connection.publish(this.topics.info, Buffer.from(JSON.stringify(this.info())), { qos: 1, retain: true }).catch((error: Error) => this.onRefused(error));
  }

  /** A broker ACL refusing our own topics (or a packet limit) is a deployment mistake worth one line per topic, not silence. */
  private onRefused(error: Error): void {
    if (!(error instanceof PublishRefusedError) || this.refusalsLogged.has(error.topic)) return;
    this.refusalsLogged.add(error.topic);
    const advice = error.reasonCode === PACKET_TOO_LARGE ? 'not sent: raise the broker\'s max_packet_size' : 'check that the ACL lets this account write its camera\'s topics';
    this.deps.logger.warn(`the broker refused a message: ${advice}`, { topic: error.topic, reason: error.message });
  }

  private onStallChange(change: StallChange): void {
    const { logger, config } = this.deps;
    const source = this.camera.activeSource.kind;
    if (change.stalled) {
      logger.warn('camera stalled: no frame from the source', { source, forS: round1(change.sinceLastFrameMs / 1000), stallTimeoutS: config.stallTimeout });
    } else {
      logger.info('camera frames resumed', { source, stalledForS: round1(change.stalledForMs / 1000) });
    }
    // Stats (and the systemd status) go out at once, so a viewer learns of the change without waiting.
    this.publishStats();
  }

  /** A `set` request: validate, apply, answer on `result`. Never throws. */
  private async handleControl(payload: Buffer, retained: boolean): Promise<void> {
    if (payload.length === 0) return; // how a retained message is cleared: no request
    if (retained) return ignoreRetainedControl(this.connection, this.topics.set, payload.length, this.deps.logger);
    const parsed = parseControlRequest(payload);
    let result: ControlResult;
    if (!parsed.ok) {
      result = { id: parsed.id, ok: false, error: parsed.error };
    } else {
      result = await this.applyControl(parsed.request);
    }
    this.deps.logger.info(result.ok ? 'control request applied' : 'control request rejected', { id: result.id, error: result.error, restarted: result.restarted });
    await this.connection.publish(this.topics.result, Buffer.from(JSON.stringify(result)), { qos: 1 }).catch(() => undefined);
  }

  private async applyControl(request: ControlRequest): Promise<ControlResult> {
    if (request.motion && !this.motion) return { id: request.id, ok: false, error: 'motion detection is off on this camera (start the agent with --motion)' };
    try {
      if (request.motion) this.motion!.apply(request.motion);
      const { restarted, settings } = await this.camera.apply(request.changes);
      if (this.adaptive && (request.changes.quality !== undefined || request.changes.fps !== undefined)) {
        // The operator's values become the new target; adaptive steps start again from there.
        this.adaptive.setTarget({ quality: settings.quality, fps: settings.fps }, this.camera.cameraAdjustable.includes('quality'));
        if (this.gate.limit !== undefined) { this.gate.setLimit(undefined); this.publishInfo(); }
      }
      if (request.snapshot && !(await this.snapshots.request())) {
        return { id: request.id, ok: false, error: 'snapshot could not be published (no frame, no broker, or larger than the broker accepts)' };
      }
      const motion = this.motion ? { motionThreshold: this.motion.current.threshold, motionMinArea: this.motion.current.minArea, motionMinDuration: this.motion.current.minDuration, motionHold: this.motion.current.hold, motionZones: this.motion.current.mask.length } : {};
      return { id: request.id, ok: true, restarted, settings: { ...settings, ...motion } };
    } catch (error) {
      if (error instanceof ChangeRejected) return { id: request.id, ok: false, error: error.message };
      throw error;
    }
  }

  private async adapt(): Promise<void> {
    const p = this.publisher;
    const now = { at: performance.now(), offeredFrames: p.offeredFrames, offeredBytes: p.offeredBytes, deliveredBytes: p.deliveredBytes, busy: this.stats.drops.busy };
    const last = this.adaptWindow;
    this.adaptWindow = now;
    // While the broker is away every frame is dropped as "offline": that says nothing about the link's speed.
    if (!this.connection.connected || last.at === 0) return;
    await this.adaptive!.evaluate({
      seconds: (now.at - last.at) / 1000,
      offeredFrames: now.offeredFrames - last.offeredFrames,
      offeredBytes: now.offeredBytes - last.offeredBytes,
      deliveredBytes: now.deliveredBytes - last.deliveredBytes,
      busyDrops: now.busy - last.busy,
      capacity: p.capacityHint(),
      rate: p.rateEstimate(),
      measuring: p.measuring,
    });
  }

  private async adaptTo(changes: ControlChanges): Promise<void> {
    if (changes.quality !== undefined) await this.camera.apply({ quality: changes.quality }, 'adaptive');
    if (changes.fps !== undefined) {
      // Below minFps, skipping frames here would only make the frame the link takes older: the publisher
      // already sends the newest frame whenever the link has room.
      const skip = changes.fps < this.camera.settings.fps && changes.fps >= this.deps.config.minFps;
      this.gate.setLimit(skip ? changes.fps : undefined);
      this.publishInfo();
    }
  }

  /** The frame rate frames go out at: the camera's, or adaptive quality's lower limit. */
  private effectiveFps(): number {
    return Math.min(this.camera.settings.fps, this.adaptive?.current.fps ?? Infinity);
  }

  private onFrameSent(): void {
    this.lifecycle.frameSent();
    if (!this.isReady) {
      this.isReady = true;
      this.deps.logger.info('first frame published', { topic: this.topics.frame });
      this.lifecycle.ready(this.summary(this.stats.snapshotFps()));
    }
  }

  private summary(fps: number): string {
    if (this.stall.stalled) return `stalled: no frame from the ${this.camera.activeSource.kind} source for ${Math.round(this.stall.sinceLastFrameMs / 1000)} s`;
    const info = this.info();
    return `streaming ${info.width}x${info.height} @ ${fps.toFixed(1)} fps`;
  }

  private publishStats(): void {
    const settings = this.camera.settings;
    const processing = this.processor.takeWindow();
    const doc = this.stats.snapshot({
      framesProcessed: this.processor.framesProcessed,
      processMeanMs: processing.meanMs,
      connected: this.connection.connected,
      quality: settings.quality,
      targetFps: this.effectiveFps(),
      adaptiveLevel: this.adaptive?.level ?? 0,
      sourceRestarts: this.camera.restarts,
      stalled: this.stall.stalled,
      lastFrameAgeS: round1(this.stall.sinceLastFrameMs / 1000),
      stalls: this.stall.stalls,
      link: this.publisher.linkStats(),
      ...(this.motion ? { motion: this.motion.takeStats() } : {}),
    });
    this.lifecycle.status(this.stall.stalled ? this.summary(0) : `${this.summary(doc.fps)}, ${doc.framesDropped} dropped`);
    if (!this.connection.connected) return;
    void this.connection.publish(this.topics.stats, Buffer.from(JSON.stringify(doc)), { qos: 0 }).catch(() => undefined);
  }
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
