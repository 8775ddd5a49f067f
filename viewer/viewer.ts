import crypto from 'node:crypto';
import type { Logger } from '../common/logger.js';
import { MqttConnection } from '../common/mqtt-connection.js';
import type { TlsMaterial } from '../common/tls-files.js';
import { receiverSubscriptions } from '../protocol/topics.js';
import { CameraRegistry } from './camera-registry.js';
import { encodeFrameMessage } from './client-feed.js';
import type { ViewerConfig } from './config.js';
import { parseListen } from './config.js';
import { FrameReceiver } from './frame-receiver.js';
import { FrameSaver } from './frame-saver.js';
import { WebServer } from './web-server.js';

export interface ViewerDeps {
  config: ViewerConfig;
  logger: Logger;
  password?: string;
  /** TLS files' contents (loadTlsFiles), when configured. */
  tls?: TlsMaterial;
}

/** The viewer's composition root: MQTT → receiver → (page server, saver). Starts in order, stops in reverse. */
export class Viewer {
  readonly registry: CameraRegistry;
  readonly receiver: FrameReceiver;
  readonly saver: FrameSaver | undefined;
  private readonly connection: MqttConnection;
  private readonly web: WebServer;
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopped: Promise<void> | undefined;
  /** Where the page is served, once started. */
  url = '';

  constructor(private readonly deps: ViewerDeps) {
    const { config, logger } = deps;
    this.registry = new CameraRegistry(config.maxCameras);
    this.receiver = new FrameReceiver(
      this.registry,
      { maxFrameBytes: config.maxFrameBytes, frameTimeoutMs: config.frameTimeout, maxSources: config.maxCameras },
      logger.child('receiver'),
    );
    this.saver = config.saveDir ? new FrameSaver(config.saveDir, logger.child('saver')) : undefined;
    this.web = new WebServer(
      { snapshot: () => this.snapshot(), latestJpeg: (camera) => this.registry.lookup(camera)?.latest?.frame.data },
      logger.child('web'),
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
    if (this.saver) this.receiver.onFrame((camera, frame) => this.saver!.save(camera, frame));
    this.receiver.onFrame((camera, frame) => {
      this.web.broadcastFrame(camera.key, encodeFrameMessage({ key: camera.key, seq: frame.seq, capturedAtUs: frame.capturedAtUs }, frame.data));
    });
    const { host, port } = parseListen(config.listen);
    const bound = await this.web.start(host, port);
    this.url = `http://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;
    this.sweepTimer = setInterval(() => this.receiver.reassembler.sweep(), 250);
    this.connection.start();
    logger.info('viewer started', { page: this.url, broker: config.broker.replace(/\/\/[^@/]*@/, '//***@') });
    if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
      logger.warn('the page is reachable from other computers on the network: it has no login', { listen: config.listen });
    }
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      clearInterval(this.sweepTimer);
      await this.connection.stop();
      await this.web.stop();
      await this.saver?.stop();
      this.deps.logger.info('viewer stopped');
    })();
    return this.stopped;
  }

  snapshot(): unknown {
    const now = Date.now();
    const reassembler = this.receiver.reassembler;
    return {
      cameras: this.registry.all().map((c) => this.registry.summary(c, now, reassembler.counters(c.key))),
      viewer: {
        connected: this.connection.connected,
        malformed: this.receiver.malformed,
        rejectedChunks: Object.fromEntries(reassembler.rejections),
        pendingBytes: reassembler.pendingByteCount,
        pages: this.web.clientCount,
        saved: this.saver ? { written: this.saver.written, skipped: this.saver.skipped, failed: this.saver.failed, lastError: this.saver.lastError } : undefined,
      },
    };
  }
}
