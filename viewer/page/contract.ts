// The contract between the viewer and its page: every message on the page's WebSocket, in both directions,
// and the state the page shows. Plain types, no code: the server (web-server.ts, client-feed.ts, viewer.ts)
// and the page (page/*.ts) import them from here, so the compiler checks both ends against one declaration.
// Type-only imports are erased when compiled, so the browser never loads the modules named below.
import type { CameraStatus } from '../../protocol/messages.js';
import type { SourceCounters } from '../../protocol/reassembler.js';
import type { MalformedCounts } from '../message-receiver.js';
import type { MotionSummary } from '../motion-events.js';
import type { MotionRecordingState } from '../motion-recorder.js';
import type { RecordingState } from '../recorder.js';

/** One camera as the page and `/api/cameras` see it. */
export interface CameraSummary {
  key: string;
  cameraId: string;
  status: CameraStatus | 'unknown';
  width?: number;
  height?: number;
  source?: string;
  /** The frame rate the agent is configured for (from info), so a page knows when a camera is late. */
  expectedFps?: number;
  /** Frames per second this viewer receives (not what a page draws: the page measures that itself). */
  fps: number;
  kbps: number;
  /** Capture (camera clock) to receipt by the viewer (this computer's clock), ms. */
  latencyMs?: number;
  lastFrameAgeMs?: number;
  lastSeq?: number;
  counters?: SourceCounters;
  agent?: {
    fps: number; framesDropped: number; framesSent: number; quality?: number; adaptiveLevel?: number;
    /** The agent is connected but its camera has given no frame for its stallTimeout (from its stats). */
    stalled?: boolean;
    /** Seconds since the agent's camera last gave a frame; while stalled, counted on to now from the stats' arrival. */
    lastFrameAgeS?: number;
    /** Stalls since the agent started. */
    stalls?: number;
    /** The agent's path to the broker as it measured it (round trip, rate it paces at, queue), where it reports it. */
    link?: LinkSummary;
  };
  /** Present when the camera accepts remote control: what it can change, and its current quality. */
  control?: { adjustable: string[]; quality?: number };
  /** What the agent does to the camera's frames before sending (info `processing`); [] when they go out untouched. */
  processing?: string[];
  /** For cameras that detect motion: whether there is motion now, and the recent events. */
  motion?: MotionSummary;
}

export interface LinkSummary { rttMs?: number; kbps?: number; queueMs?: number }

/** What one page's feed has done, as the viewer counts it. */
export interface PageFeedStats {
  /** Frames written to the page. */
  sent: number;
  /** Frames replaced by a newer one of the same camera before they could be sent. */
  replaced: number;
  /** Frames not sent because the camera is off screen or not due at the thumbnail rate. */
  skipped: number;
  /** Frames the page said it drew or dropped (flow 'ack' only). */
  acknowledged: number;
  /** Frames sent and not yet acknowledged, across cameras (flow 'ack' only). */
  unacknowledged: number;
  /** Bytes written to the socket that it has not yet handed to the kernel. */
  bufferedBytes: number;
  /** Messages from the page that were not a valid view or ack, refused and counted. */
  refused: number;
  flow: PageFlow;
}

/** The viewer's own state, for the page's header and `/api/cameras`. */
export interface ViewerSummary {
  connected: boolean;
  /** Why the broker cannot be reached, from the last attempt (absent while connected). */
  brokerProblem?: { error: string; hint?: string };
  malformed: MalformedCounts;
  rejectedChunks: Record<string, number>;
  pendingBytes: number;
  latestBytes: number;
  pages: number;
  saved?: { written: number; skipped: number; failed: number; lastError?: string };
  canSaveSnapshots: boolean;
  recordDir?: string;
  recording: RecordingState;
  /** `--record-on-motion`: what it is recording now. */
  motionRecording?: MotionRecordingState;
  /** Bytes of the event pictures kept for the page. */
  motionPictureBytes: number;
  pageFeeds: PageFeedStats[];
}

/** Every camera's state and the viewer's: `/api/cameras`, and the page's `cameras` message. */
export interface CameraStates {
  cameras: CameraSummary[];
  viewer: ViewerSummary;
}

/**
 * How frames reach a page.
 * - `ack`: the page acknowledges each frame once it is drawn (or dropped); the viewer keeps at most
 *   a small credit of frames per camera unacknowledged (client-feed.ts), and newest wins in the viewer. Nothing queues in sockets.
 * - `socket`: no acknowledgements; a camera's next frame goes as soon as the socket has taken the previous one
 *   (the viewer before issue 20, and what a client that never says otherwise gets). Kernel buffers fill.
 */
export type PageFlow = 'ack' | 'socket';

/** Text messages from the viewer to the page. Frames are binary (frame-message.ts). */
export type ServerMessage =
  | ({ type: 'cameras' } & CameraStates)
  /** The feed's answer to a view: the rate thumbnails get, when they are limited (null: every frame). */
  | { type: 'feed'; thumbnailFps: number | null; flow: PageFlow };

/** Messages from the page to the viewer (text, JSON). */
export type PageMessage =
  /** What is on screen: only these cameras get frames; `focus` (the enlarged one) always at full rate. */
  | { type: 'view'; visible: string[]; focus?: string; flow?: PageFlow }
  /** Frames drawn or dropped since the last ack: one camera key per frame, repeated for several. */
  | { type: 'ack'; keys: string[] };

/** The header of a binary frame message. */
export interface FrameMeta {
  key: string;
  seq: number;
  /** Capture time on the camera's clock, µs since the epoch. */
  capturedAtUs: number;
}
