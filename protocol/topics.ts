/**
 * Topic layout: `<prefix>/<cameraId>/<kind>`. The prefix may have several levels (e.g. `picam/garden`),
 * so a receiver reads the last level as the kind and the one before it as the camera id.
 */

export const TOPIC_KINDS = ['frame', 'status', 'info', 'stats', 'set', 'result', 'snapshot', 'motion', 'event'] as const;
export type TopicKind = (typeof TOPIC_KINDS)[number];

/** What a viewer subscribes to: not `set` (requests, written by operators) nor `snapshot` (whole JPEGs for Home Assistant). */
export const RECEIVER_KINDS = ['frame', 'status', 'info', 'stats', 'result', 'motion', 'event'] as const satisfies readonly TopicKind[];

export const DEFAULT_PREFIX = 'picam';
export const CAMERA_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** A prefix is one or more levels of the camera-id alphabet (plus '.'), no wildcards, no empty levels. */
export const PREFIX_PATTERN = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

export function isValidCameraId(id: string): boolean {
  return CAMERA_ID_PATTERN.test(id);
}

export function cameraBase(prefix: string, cameraId: string): string {
  return `${prefix}/${cameraId}`;
}

export function cameraTopic(prefix: string, cameraId: string, kind: TopicKind): string {
  return `${prefix}/${cameraId}/${kind}`;
}

/** Every topic of one camera, by kind. */
export type CameraTopics = Readonly<Record<TopicKind, string>>;

export function cameraTopics(prefix: string, cameraId: string): CameraTopics {
  return Object.fromEntries(TOPIC_KINDS.map((kind) => [kind, cameraTopic(prefix, cameraId, kind)])) as Record<TopicKind, string>;
}

export interface ParsedTopic {
  /** `<prefix>/<cameraId>`: identifies one camera across prefixes. */
  base: string;
  prefix: string;
  cameraId: string;
  kind: TopicKind;
}

export function parseTopic(topic: string): ParsedTopic | undefined {
  const last = topic.lastIndexOf('/');
  if (last <= 0) return undefined;
  const kind = topic.slice(last + 1);
  if (!(TOPIC_KINDS as readonly string[]).includes(kind)) return undefined;
  const base = topic.slice(0, last);
  const idStart = base.lastIndexOf('/');
  if (idStart <= 0) return undefined;
  const cameraId = base.slice(idStart + 1);
  if (!isValidCameraId(cameraId)) return undefined;
  return { base, prefix: base.slice(0, idStart), cameraId, kind: kind as TopicKind };
}

/**
 * Subscriptions for a receiver: every camera under the prefix, or only the named ones. The prefix here
 * may contain `+` levels (e.g. `picam/+` for every site).
 */
export function receiverSubscriptions(prefix: string, cameraIds: readonly string[] = []): string[] {
  if (cameraIds.length === 0) return RECEIVER_KINDS.map((kind) => `${prefix}/+/${kind}`);
  return cameraIds.flatMap((id) => RECEIVER_KINDS.map((kind) => cameraTopic(prefix, id, kind)));
}
