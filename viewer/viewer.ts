import crypto from 'node:crypto';
import type { Logger } from '../common/logger.js';
import { MqttConnection } from '../common/mqtt-connection.js';
import { redactUrl } from '../common/redact-url.js';
import type { ControlResult } from '../protocol/control.js';
import type { TlsMaterial } from '../common/tls-files.js';
import { receiverSubscriptions } from '../protocol/topics.js';
import { CameraRegistry } from './camera-registry.js';
import type { ViewerConfig } from './config.js';
import { parseListen } from './config.js';
import { MessageReceiver } from './message-receiver.js';
import { FrameSaver, SaveError } from './frame-saver.js';
import { isLoopbackHost } from './host-allow-list.js';
import { browsableHost } from './open-browser.js';
import { DEFAULT_MOTION_EVENTS, MotionEvents } from './motion-events.js';
import { MotionRecorder } from './motion-recorder.js';
import { Recorder, RecordingError } from './recorder.js';
import type { CameraStates } from './page/contract.js';
import { HttpError, WebServer, type ExtraRoutes } from './web-server.js';
import { openAppWindow } from './app-window.js';

/** Room above a frame's bytes for the MQTT fixed header, topic, properties and chunk header. */
const MQTT_OVERHEAD_BYTES = 64 * 1024;

export interface ViewerDeps {
  config: ViewerConfig;
  logger: Logger;
  password?: string;
  /** TLS files' contents (loadTlsFiles), when configured. */
  tls?: TlsMaterial;
  /** False: no broker yet (the desktop viewer's first start, which shows the settings form). Default true. */
  connect?: boolean;
  /** More routes for the page server (the desktop settings form). */
  extraRoutes?: ExtraRoutes;
  /** The path --open opens, default `/`. */
  openPath?: string;
}

/** The viewer's composition root: MQTT → receiver → (page server, saver). Starts in order, stops in reverse. */
export class Viewer {
  readonly registry: CameraRegistry;
  readonly receiver: MessageReceiver;
  readonly saver: FrameSaver | undefined;
  /** Where the page's snapshots go: --media-dir, else --save-dir. */
  private readonly snapshotSaver: FrameSaver | undefined;
  readonly recorder: Recorder;
  /** --record-on-motion. */
  readonly motionRecorder: MotionRecorder | undefined;
  readonly motionEvents: MotionEvents;
  private readonly connection: MqttConnection;
  private readonly web: WebServer;
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopped: Promise<void> | undefined;
  /** Where the page is served, once started. */
  url = '';

  constructor(private readonly deps: ViewerDeps) {
    const { config, logger } = deps;
    this.registry = new CameraRegistry(config.maxCameras);
    this.receiver = new MessageReceiver(
      this.registry,
      { maxFrameBytes: config.maxFrameBytes, frameTimeoutMs: config.frameTimeout, maxSources: config.maxCameras, maxLatestBytes: config.maxLatestBytes },
      logger.child('receiver'),
    );
    this.saver = config.saveDir ? new FrameSaver(config.saveDir, logger.child('saver')) : undefined;
    this.snapshotSaver = config.mediaDir ? new FrameSaver(config.mediaDir, logger.child('snapshots')) : this.saver;
    this.recorder = new Recorder({ maxSegmentBytes: config.recordMaxMb * 1024 * 1024, maxSegmentMs: config.recordMaxMinutes * 60_000 }, logger.child('recorder'));
    this.motionRecorder = config.recordOnMotion
      ? new MotionRecorder({ dir: config.recordOnMotion, preRollMs: config.preRoll * 1000, preRollBytes: config.preRollMb * 1024 * 1024, postRollMs: config.postRoll * 1000, maxSegmentBytes: config.recordMaxMb * 1024 * 1024 }, logger.child('motion-recorder'))
      : undefined;
    this.motionEvents = new MotionEvents(DEFAULT_MOTION_EVENTS, (camera, seq) => this.motionRecorder?.frameBySeq(camera.key, seq) ?? camera.latest?.frame.data);
    this.web = new WebServer(
      {
        cameraStates: () => this.cameraStates(),
        latestJpeg: (camera) => this.registry.lookup(camera)?.latest?.frame.data,
        saveSnapshot: (camera) => this.saveSnapshot(camera),
        eventPicture: (camera, id) => {
          const state = this.registry.lookup(camera);
          return state && this.motionEvents.pictureOf(state.key, id);
        },
        setRecording: (on) => this.setRecording(on),
        control: async (camera, request) => {
          const state = this.registry.lookup(camera);
          if (!state) throw new HttpError(404, `no camera ${camera}`);
          const { id: _ignored, ...rest } = request;
          return { ...(await this.control(state.key, rest)) };
        },
      },
      logger.child('web'),
      deps.extraRoutes,
    );
    const topics = receiverSubscriptions(config.prefix, config.camera);
    this.connection = new MqttConnection(
      {
        url: config.broker,
        clientId: `picam-viewer-${crypto.randomBytes(4).toString('hex')}`,
        protocolVersion: config.mqttVersion === '5' ? 5 : 4,
        username: config.username,
        password: deps.password,
        keepaliveS: config.keepalive,
        tls: deps.tls,
        caFile: config.caFile,
        // No message the viewer takes is larger than a frame in one chunk (36-byte header, topic, properties),
        // so over MQTT 5 the broker keeps anything larger (a 60 MB retained info) from ever reaching it.
        maximumPacketSize: config.maxFrameBytes + MQTT_OVERHEAD_BYTES,
        onConnect: () => {
          this.connection.subscribe(topics).catch((error: Error) => logger.error('subscribe failed', { error: error.message }));
        },
        onMessage: (topic, payload) => this.receiver.handle(topic, payload),
      },
      logger.child('mqtt'),
    );
  }

  async start(): Promise<void> {
    const { config, logger } = this.deps;
    await this.saver?.start();
    if (this.snapshotSaver !== this.saver) await this.snapshotSaver?.start();
    if (config.record) await this.recorder.start(config.record);
    await this.motionRecorder?.start();
    // Events before the recorder: an event's picture is taken from the pre-roll before it is written out.
    this.receiver.onMotion((camera, change) => {
      if ('event' in change) this.motionEvents.add(camera, change.event);
      this.motionRecorder?.motion(camera, change);
      this.web.broadcastSummary();
    });
    if (this.motionRecorder) this.receiver.onFrame((camera, frame) => this.motionRecorder!.frame(camera, frame, camera.latest?.receivedAtMs ?? Date.now()));
    if (this.saver) this.receiver.onFrame((camera, frame) => this.saver!.save(camera, frame));
    this.receiver.onFrame((camera, frame) => this.recorder.write(camera, frame, camera.latest?.receivedAtMs ?? Date.now()));
    this.receiver.onForget((camera) => {
      this.recorder.forget(camera.key);
      this.motionRecorder?.forget(camera.key);
      this.motionEvents.forget(camera.key);
      this.web.forgetCamera(camera.key);
    });
    this.receiver.onFrame((camera, frame) => {
      this.web.broadcastFrame({ key: camera.key, seq: frame.seq, capturedAtUs: frame.capturedAtUs }, frame.data);
    });
    const { host, port } = parseListen(config.listen);
    const bound = await this.web.start(host, port, { allowHosts: config.allowHost, maxPages: config.maxPages, thumbnailFps: config.thumbnailFps });
    this.url = `http://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;
    this.sweepTimer = setInterval(() => this.receiver.reassembler.sweep(), 250);
    if (this.deps.connect !== false) this.connection.start();
    logger.info('viewer started', { page: this.url, broker: this.deps.connect === false ? 'none yet' : redactUrl(config.broker) });
    if (!isLoopbackHost(host)) {
      logger.warn('the page is reachable from other computers on the network: it has no login', { listen: config.listen, answersTo: this.web.hostNames.join(',') });
    }
    if (config.open) {
      const shown = browsableHost(bound.host);
      openAppWindow(`http://${shown.includes(':') ? `[${shown}]` : shown}:${bound.port}${this.deps.openPath ?? '/'}`, logger);
    }
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      clearInterval(this.sweepTimer);
      await this.connection.stop();
      await this.web.stop();
      await this.recorder.stop();
      await this.motionRecorder?.stop();
      await this.saver?.stop();
      this.deps.logger.info('viewer stopped');
    })();
    return this.stopped;
  }

  /**
   * Sends a remote-control request to a camera and waits for its answer on `result` (matched by id).
   * Resolves with the agent's answer, or with ok=false when none came within timeoutMs.
   */
  async control(cameraKey: string, request: Record<string, unknown>, timeoutMs = 5000): Promise<ControlResult> {
    const id = crypto.randomBytes(6).toString('hex');
    let settle: (result: ControlResult) => void = () => {};
    const answer = new Promise<ControlResult>((resolve) => { settle = resolve; });
    const off = this.receiver.onResult((camera, result) => {
      if (camera.key === cameraKey && result.id === id) finish(result);
    });
    const timer = setTimeout(() => finish({ id, ok: false, error: `no answer from the camera within ${timeoutMs} ms` }), timeoutMs);
    const finish = (result: ControlResult): void => { clearTimeout(timer); off(); settle(result); };
    this.connection
      .publish(`${cameraKey}/set`, Buffer.from(JSON.stringify({ ...request, id })), { qos: 1 })
      .catch((error: Error) => finish({ id, ok: false, error: `cannot send the request: ${error.message}` }));
    return answer;
  }

  /** Every camera's state and the viewer's: what the page shows and `/api/cameras` answers. */
  cameraStates(): CameraStates {
    const now = Date.now();
    const reassembler = this.receiver.reassembler;
    return {
      cameras: this.registry.all().map((c) => ({ ...this.registry.summary(c, now, reassembler.counters(c.key)), motion: this.motionEvents.summary(c) })),
      viewer: {
        connected: this.connection.connected,
        brokerProblem: this.deps.connect === false ? { error: 'no broker set', hint: 'Open Settings and enter the broker.' } : this.connection.connected ? undefined : this.connection.problem,
        malformed: this.receiver.malformed,
        rejectedChunks: Object.fromEntries(reassembler.rejections),
        pendingBytes: reassembler.pendingByteCount,
        latestBytes: this.receiver.latestFrames.bytes,
        pages: this.web.clientCount,
        saved: this.saver ? { written: this.saver.written, skipped: this.saver.skipped, failed: this.saver.failed, lastError: this.saver.lastError } : undefined,
        canSaveSnapshots: this.snapshotSaver !== undefined,
        recordDir: this.recordDir,
        recording: this.recorder.state(),
        motionRecording: this.motionRecorder?.state(),
        motionPictureBytes: this.motionEvents.bytes,
        pageFeeds: this.web.feedStats(),
      },
    };
  }

  /** Where the page's Record button records: --record, else --media-dir, else --save-dir, else nowhere (the button says why). */
  get recordDir(): string | undefined {
    return this.deps.config.record ?? this.deps.config.mediaDir ?? this.deps.config.saveDir;
  }

  async setRecording(on: boolean): Promise<Record<string, unknown>> {
    if (!on) {
      await this.recorder.stop();
      return { recording: this.recorder.state() };
    }
    const dir = this.recordDir;
    if (!dir) throw new HttpError(409, 'no recording folder: start picam-viewer with --record DIR (or --media-dir DIR)');
    try {
      await this.recorder.start(dir);
    } catch (error) {
      if (error instanceof RecordingError) throw new HttpError(500, error.message);
      throw error;
    }
    return { recording: this.recorder.state() };
  }

  async saveSnapshot(cameraName: string): Promise<Record<string, unknown>> {
    const camera = this.registry.lookup(cameraName);
    if (!camera) throw new HttpError(404, `no camera ${cameraName}`);
    const latest = camera.latest;
    if (!latest) throw new HttpError(404, `no frame from ${camera.cameraId} kept: none came yet, or it was let go to stay within --max-latest-bytes`);
    if (!this.snapshotSaver) throw new HttpError(409, 'snapshots are saved on disk only with --media-dir DIR (or --save-dir DIR); the page downloaded it');
    try {
      const file = await this.snapshotSaver.saveSnapshot(camera, latest.frame);
      return { file, seq: latest.frame.seq, bytes: latest.frame.data.length };
    } catch (error) {
      if (error instanceof SaveError) throw new HttpError(500, error.message);
      throw error;
    }
  }
}
