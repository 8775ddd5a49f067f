import type { Logger } from '../../common/logger.js';
import type { ControlResult } from '../../protocol/control.js';
import type { MotionEvent, MotionState } from '../../protocol/motion.js';
import type { CompleteFrame, Reassembler } from '../../protocol/reassembler.js';
import type { ParsedTopic } from '../../protocol/topics.js';
import type { CameraRegistry, CameraState, Claim } from '../camera-registry.js';
import type { LatestFrames } from '../latest-frames.js';

/** Counts of messages that were not usable, by reason. Never grows beyond these keys. */
export interface MalformedCounts {
  topic: number;
  info: number;
  status: number;
  stats: number;
  result: number;
  motion: number;
  event: number;
  /** Messages of a camera for which the registry had no room. */
  tooManyCameras: number;
  /** Frames whose chunks and CRC-32 checked but whose bytes are not a JPEG (no SOI at the start or EOI at the end). */
  notJpeg: number;
}

/** What a message handler may use of the receiver. */
export interface ReceiverContext {
  readonly registry: CameraRegistry;
  readonly reassembler: Reassembler;
  readonly latestFrames: LatestFrames;
  readonly malformed: MalformedCounts;
  readonly logger: Logger;
  now(): number;
  /** The camera of a valid message, admitted to the registry if new; undefined (counted, logged) when there is no room. */
  admit(topic: ParsedTopic, claim: Claim): CameraState | undefined;
  /** A verified frame for the receiver's frame listeners. */
  frameReceived(camera: CameraState, frame: CompleteFrame): void;
  /** A control result for the receiver's result listeners. */
  resultReceived(camera: CameraState, result: ControlResult): void;
  /** A camera's motion state changed, or an event document came: for the receiver's motion listeners. */
  motionReceived(camera: CameraState, change: MotionChange): void;
}

/** A camera's motion: its retained state changed (`state`), or an event document came (`event`). */
export type MotionChange = { state: MotionState } | { event: MotionEvent };

/**
 * Handles the messages of one topic kind, in the manner of MQTT.js's one handler per packet type. Never throws
 * on input: a bad message is counted in `malformed` and dropped. A message is validated before its camera
 * takes a place in the registry, so junk on new camera ids costs nothing beyond its count.
 */
export type MessageHandler = (ctx: ReceiverContext, topic: ParsedTopic, payload: Buffer) => void;

/**
 * An empty payload on a retained topic is how a retained message is cleared: what it said is unknown now, so
 * `clear` forgets it on the camera (if known). Returns whether the payload was such a clearing.
 */
export function retainedCleared(ctx: ReceiverContext, topic: ParsedTopic, payload: Buffer, clear: (camera: CameraState) => void): boolean {
  if (payload.length > 0) return false;
  const camera = ctx.registry.find(topic.base);
  if (camera) clear(camera);
  return true;
}
