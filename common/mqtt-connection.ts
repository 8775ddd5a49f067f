import mqtt, { type IClientOptions, type IClientPublishOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import { publishOverhead } from '../protocol/packet-size.js';
import { connectionHint } from './connection-errors.js';
import { ConnectionLog } from './connection-log.js';
import type { Logger } from './logger.js';
import { redactUrl } from './redact-url.js';
import { ConnectTimeout, RECONNECT_MAX_MS, RECONNECT_MIN_MS, ReconnectBackoff } from './reconnect-backoff.js';
import type { TlsMaterial } from './tls-files.js';

export interface MqttConnectionOptions {
  url: string;
  clientId: string;
  protocolVersion: 4 | 5;
  username?: string;
  password?: string;
  /** Seconds; also how fast a dead link is noticed (1.5 × keepalive). */
  keepaliveS?: number;
  /** TLS: CA bundle, client certificate and key (PEM contents, read and checked by loadTlsFiles). */
  tls?: TlsMaterial;
  /** The CA file's path, only to name it in error hints. */
  caFile?: string;
  will?: IClientOptions['will'];
  /**
   * MQTT 5: the largest packet this client takes, told to the broker in CONNECT; the broker then drops larger
   * messages for this client instead of sending them (MQTT 3.1.1 has no such limit).
   */
  maximumPacketSize?: number;
  /** Called on every (re)connect, before anything else is published: retained state, subscriptions. */
  onConnect?: (connack: IConnackPacket) => void;
  /** `retained`: the broker sent a stored retained message (one that was there before this subscription). */
  onMessage?: (topic: string, payload: Buffer, retained: boolean) => void;
  /**
   * Disable Nagle's algorithm on the socket (TCP_NODELAY). For a sender that writes each message whole: with
   * Nagle, a message's last small segment waits for the acknowledgement of an earlier small one, which on a
   * long link delays messages by a round trip.
   */
  noDelay?: boolean;
  /** Backoff bounds for reconnects, ms. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

/** A failure to publish because the link is down or went down mid-write. */
export class NotConnectedError extends Error {
  constructor(cause?: Error) {
    super(cause ? `not connected: ${cause.message}` : 'not connected');
    this.name = 'NotConnectedError';
  }
}

/** MQTT 5 reason code "Packet too large". */
export const PACKET_TOO_LARGE = 149;

/**
 * The broker answered a QoS 1 publish with an error reason code (MQTT 5), e.g. 135 "Not authorized" from an
 * ACL; or the message is larger than the broker's Maximum Packet Size and was not sent (PACKET_TOO_LARGE).
 */
export class PublishRefusedError extends Error {
  constructor(readonly topic: string, readonly reasonCode: number, reason: string) {
    super(`the broker refused the message on ${topic}: ${reason}`);
    this.name = 'PublishRefusedError';
  }
}

/**
 * One MQTT.js client with our policies: no offline queue (QoS 0 publishes fail instead of piling up),
 * reconnects with jittered exponential backoff, retained state re-sent on every connect by `onConnect`,
 * and the broker's Maximum Packet Size remembered for the chunker.
 */
export class MqttConnection {
  private client: MqttClient | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly backoff: ReconnectBackoff;
  private readonly attemptTimeout = new ConnectTimeout();
  /** The current attempt ran out of time (MQTT.js's "connack timeout"). */
  private timedOut = false;
  private readonly log: ConnectionLog;
  /** Maximum Packet Size from the last CONNACK (MQTT 5), if the broker sent one. */
  maxPacketSize: number | undefined;
  connects = 0;
  /**
   * Why the broker cannot be reached, in words for a person (the error and what to do), from the last failed
   * attempt; undefined once connected. The viewer's page shows it.
   */
  problem: { error: string; hint?: string } | undefined;

  constructor(private readonly options: MqttConnectionOptions, private readonly logger: Logger) {
    this.backoff = new ReconnectBackoff(options.reconnectMinMs ?? RECONNECT_MIN_MS, options.reconnectMaxMs ?? RECONNECT_MAX_MS);
    this.log = new ConnectionLog(logger, redactUrl(options.url));
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  /** Starts connecting; does not wait for the broker (the caller's work goes on while it is away). */
  start(): void {
    if (this.client || this.stopping) return;
    const o = this.options;
    const client = mqtt.connect(o.url, {
      clientId: o.clientId,
      protocolVersion: o.protocolVersion,
      clean: true,
      keepalive: o.keepaliveS ?? 10,
      // A connection attempt that the network or a loaded machine swallows must not hold up the next one.
      connectTimeout: this.attemptTimeout.ms,
      reconnectPeriod: 0, // we schedule reconnects ourselves, with backoff and jitter
      queueQoSZero: false,
      resubscribe: false, // onConnect subscribes again, so the set of topics has one owner
      username: o.username,
      password: o.password,
      will: o.will,
      ...(o.maximumPacketSize !== undefined && o.protocolVersion === 5 ? { properties: { maximumPacketSize: o.maximumPacketSize } } : {}),
      // Certificates and host names are always verified (mqtts:// and wss://); there is no option to turn that off.
      ...o.tls,
      rejectUnauthorized: true,
    });
    this.client = client;
    client.on('connect', (connack) => {
      // A reconnect that was under way when stop() began can still complete after it: MQTT.js's end() does not
      // cancel it. Its socket would then keep the process alive after "stopped" (seen in a test, once in three
      // runs), so it is closed here, unannounced.
      if (this.stopping) { client.stream?.destroy(); return; }
      this.connects++;
      this.attemptTimeout.reset();
      this.log.connected();
      this.problem = undefined;
      this.maxPacketSize = connack.properties?.maximumPacketSize;
      if (o.noDelay) (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
      this.logger.info(this.connects === 1 ? 'connected to broker' : 'reconnected to broker', {
        url: redactUrl(o.url),
        mqtt: o.protocolVersion === 5 ? '5' : '3.1.1',
        maxPacketSize: this.maxPacketSize,
      });
      o.onConnect?.(connack);
    });
    client.on('message', (topic, payload, packet) => o.onMessage?.(topic, payload, packet.retain));
    client.on('error', (error) => {
      const timeout = error.message === 'connack timeout';
      const hint = timeout ? 'no answer from the broker: is the host right, and is it up?' : connectionHint(error, { caFile: o.caFile, username: o.username });
      if (timeout) { this.timedOut = true; this.log.timedOut(this.attemptTimeout.ms); } else this.log.error(error, hint);
      this.problem = { error: error.message, ...(hint ? { hint } : {}) };
    });
    client.on('close', () => {
      // MQTT.js answers the QoS 1 publishes (and subscribes) of a connection the peer closed only by resending
      // them after a reconnect, and reconnect() starts with empty stores, so it never does. Left alone they
      // would wait for ever: the frame publisher would lose an in-flight slot at every broker crash, and
      // end() would wait for them and never close the socket. Removing them calls back with an error.
      for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
      if (this.stopping) return;
      // A connection the broker keeps closing soon after accepting it (a message over its packet limit) is
      // retried ever more slowly, as a refused one is, instead of five times a second.
      if (this.log.closed()) this.backoff.reset();
      // An attempt that ran out of time has waited already: the next one starts at once, with a longer limit.
      const timedOut = this.timedOut;
      this.timedOut = false;
      if (timedOut) this.attemptTimeout.ranOut();
      const delay = timedOut ? 0 : this.backoff.next();
      this.logger.debug('connection closed; reconnecting', { inMs: delay, attemptTimeoutMs: this.attemptTimeout.ms });
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        if (this.stopping || client.connected) return;
        client.options.connectTimeout = this.attemptTimeout.ms;
        client.reconnect();
      }, delay);
    });
  }

  /** Publishes; resolves once written to the socket (MQTT.js defers the callback to `drain`). */
  publish(topic: string, payload: Buffer | string, options: IClientPublishOptions = {}): Promise<void> {
    const client = this.client;
    if (!client?.connected) return Promise.reject(new NotConnectedError());
    const limit = this.maxPacketSize;
    if (limit !== undefined && publishOverhead(topic) + Buffer.byteLength(payload) > limit) {
      // Sent, it would make the broker drop the connection, and every reconnect would send it again.
      return Promise.reject(new PublishRefusedError(topic, PACKET_TOO_LARGE, `${Buffer.byteLength(payload)} bytes, too large for the broker's Maximum Packet Size of ${limit}`));
    }
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, options, (error) => {
        if (!error) return resolve();
        const code = (error as Error & { code?: unknown }).code;
        reject(typeof code === 'number' ? new PublishRefusedError(topic, code, error.message) : new NotConnectedError(error));
      });
    });
  }

  subscribe(topics: string[], qos: 0 | 1 = 0): Promise<void> {
    const client = this.client;
    if (!client?.connected) return Promise.reject(new NotConnectedError());
    return new Promise((resolve, reject) => {
      client.subscribe(topics, { qos }, (error, granted) => {
        if (error) return reject(error);
        const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
        if (refused.length > 0) return reject(new Error(`the broker refused the subscription to ${refused.join(', ')} (check the ACL)`));
        resolve();
      });
    });
  }

  /** Closes the connection (sending DISCONNECT, so the will is not published). Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const client = this.client;
    if (!client) return;
    await new Promise<void>((resolve) => {
      // A graceful end waits for every unacknowledged message; when the broker does not answer in time, the
      // socket is destroyed (end(true) would not help here: MQTT.js ignores it while an end is under way).
      const timer = setTimeout(() => { client.stream?.destroy(); resolve(); }, 2000);
      client.end(false, {}, () => { clearTimeout(timer); resolve(); });
    });
  }
}
