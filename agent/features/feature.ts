import type { Logger } from '../../common/logger.js';
import type { MqttConnection } from '../../common/mqtt-connection.js';
import type { CameraTopics } from '../../protocol/topics.js';
import type { CameraControl } from '../camera-control.js';
import type { AgentConfig } from '../config.js';
import type { Pipeline } from '../pipeline.js';
import type { StreamStats } from '../stream-stats.js';

/**
 * What every feature of the agent may use: the configuration, the broker link, the camera and the frame's
 * pipeline. Built once by the Agent; a feature reads it and never replaces a part of it.
 */
export interface AgentContext {
  readonly config: AgentConfig;
  /** The agent's logger; a feature logs through a child named after it where its lines are its own. */
  readonly logger: Logger;
  readonly version: string;
  /** This run's stream id (chunk headers, `info`, `stats`). */
  readonly streamId: number;
  /** The camera's topics, by kind. */
  readonly topics: CameraTopics;
  readonly link: MqttConnection;
  readonly camera: CameraControl;
  /** The frame's way: taps to subscribe to (`onCaptured`, `onOutgoing`, `onSent`, `onStallChange`), the rate gate. */
  readonly pipeline: Pipeline;
  /** The stream's one counter (captured, sent, dropped by reason). */
  readonly counts: StreamStats;
  /** Publishes the retained `info` again: the settings, the frame size or the frame rate changed. */
  infoChanged(): void;
  /** Stops the agent for good, exiting with this code: a broker or camera it cannot work with. */
  fail(exitCode: number): void;
}

/**
 * One feature of the agent (remote control, adaptive quality, Home Assistant, stats, systemd, ...), in the
 * manner of zigbee2mqtt's extensions: it owns its topics and timers, subscribes to what it needs in its
 * constructor or `start`, and lets all of it go in `stop`. The Agent starts the features in order and stops
 * them in reverse; `stop` must be safe to call twice, and before `start`.
 *
 * A new feature is a file here with a class implementing Feature, built in the Agent's constructor from the
 * context (and the features it uses, passed by name) and added to its list of parts. To look at frames, subscribe
 * to `ctx.pipeline.onCaptured` (every camera frame, raw) or `onOutgoing` (as sent): the listener is called after
 * the frame has gone on and must return quickly, so keep the newest frame and work on it from a timer of your
 * own. Its own topics come from `ctx.topics`; its own timers are cleared in `stop`.
 */
export interface Feature {
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
  /** Each (re)connect to a broker the agent can work with: retained state, subscriptions. */
  onConnect?(): void;
  /** A message on a topic some feature subscribed to; each feature picks its own topics. */
  onMessage?(topic: string, payload: Buffer, retained: boolean): void;
  /** The agent begins to stop, before any feature or part stops. */
  onStopping?(): void;
}

/** The rate and adaptive level frames go out at: adaptive quality's when it is on, else the camera's. */
export interface OutputRate {
  /** 0 at the configured settings; higher when stepped down for a slow link. */
  readonly level: number;
  targetFps(): number;
}
