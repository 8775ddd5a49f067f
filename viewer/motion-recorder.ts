import type { Logger } from '../common/logger.js';
import type { MotionEvent, MotionState } from '../protocol/motion.js';
import type { CompleteFrame } from '../protocol/reassembler.js';
import { isNewer } from '../protocol/sequence.js';
import type { CameraState } from './camera-registry.js';
import { describeFsError, ensureWritableDir } from './fs-errors.js';
import { ownedFrame } from './latest-frames.js';
import { RecordingError } from './recorder.js';
import { RecordingSegment } from './recording-segment.js';

export interface MotionRecorderOptions {
  dir: string;
  /** Seconds of frames kept before an event starts, per camera. */
  preRollMs: number;
  /** Bytes of pre-roll frames kept across all cameras; past it the largest rings lose their oldest frames. */
  preRollBytes: number;
  /** Recording goes on this long after the event ends. */
  postRollMs: number;
  /** A file is closed and another begun before it would grow past this (an event that never ends). */
  maxSegmentBytes: number;
  /** Writes waiting for the disk per camera; beyond it frames are skipped and counted. */
  maxQueuedWrites?: number;
  now?: () => number;
}

/** The index's extra columns: which part of the event a frame belongs to, and the agent's event id. */
export const MOTION_COLUMNS = ['motion', 'event'] as const;
export type MotionPhase = 'pre-roll' | 'motion' | 'post-roll';

interface Held {
  frame: CompleteFrame;
  receivedAtMs: number;
  bytes: number;
}

interface Track {
  cameraId: string;
  ring: Held[];
  ringBytes: number;
  /** An event file is open (or opening): frames go to it, not the ring. */
  recording: boolean;
  inMotion: boolean;
  event?: { id?: number; seq?: number };
  offAtMs: number;
  segment?: RecordingSegment;
  chain: Promise<void>;
  queued: number;
}

/** What the page and /api/cameras show about --record-on-motion. */
export interface MotionRecordingState {
  dir: string;
  eventsRecorded: number;
  framesWritten: number;
  framesSkipped: number;
  preRollBytes: number;
  recording: string[];
  lastError?: string;
}

/**
 * --record-on-motion: keeps a short ring of each camera's newest frames (bounded in time per camera and in
 * bytes overall) and, when the camera reports motion, writes the ring (pre-roll), the event and a post-roll
 * into a file of its own, in the recorder's format (raw MJPEG plus CSV index) with two more index columns.
 * The bytes written are the frames as received. Write errors end that file with a message, never the viewer.
 */
export class MotionRecorder {
  private readonly tracks = new Map<string, Track>();
  private ringBytes = 0;
  private eventsRecorded = 0;
  private framesWritten = 0;
  private framesSkipped = 0;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly now: () => number;
  private readonly maxQueued: number;

  constructor(private readonly options: MotionRecorderOptions, private readonly logger: Logger) {
    this.now = options.now ?? Date.now;
    this.maxQueued = options.maxQueuedWrites ?? 64;
  }

  /** Checks the folder can be written (creating it), then starts the post-roll clock. */
  async start(): Promise<void> {
    const { dir } = this.options;
    try {
      await ensureWritableDir(dir);
    } catch (error) {
      throw new RecordingError(`cannot record into ${dir}: ${describeFsError(error)}`, dir, (error as NodeJS.ErrnoException).code);
    }
    // Post-rolls end on time even when a camera sends no more frames.
    this.timer = setInterval(() => this.sweep(), 500);
    this.logger.info('recording on motion', { dir, preRollS: this.options.preRollMs / 1000, postRollS: this.options.postRollMs / 1000 });
  }

  get bytesHeld(): number {
    return this.ringBytes;
  }

  frame(camera: CameraState, frame: CompleteFrame, receivedAtMs: number): void {
    if (this.stopped) return;
    const track = this.track(camera);
    if (track.recording) {
      this.write(track, [{ frame, receivedAtMs, bytes: 0 }], false);
      this.endPostRoll(track);
      return;
    }
    const owned = ownedFrame(frame);
    const held = { frame: owned, receivedAtMs, bytes: owned.data.buffer.byteLength };
    track.ring.push(held);
    track.ringBytes += held.bytes;
    this.ringBytes += held.bytes;
    const oldest = receivedAtMs - this.options.preRollMs;
    while (track.ring.length > 0 && track.ring[0]!.receivedAtMs < oldest) this.dropOldest(track);
    while (this.ringBytes > this.options.preRollBytes) {
      let largest: Track | undefined;
      for (const t of this.tracks.values()) if (t.ring.length > 0 && (!largest || t.ringBytes > largest.ringBytes)) largest = t;
      if (!largest) break;
      this.dropOldest(largest);
    }
  }

  /** A frame still in a camera's pre-roll ring, by seq (for an event's picture). */
  frameBySeq(cameraKey: string, seq: number): Buffer | undefined {
    return this.tracks.get(cameraKey)?.ring.find((h) => h.frame.seq === seq)?.frame.data;
  }

  motion(camera: CameraState, change: { state: MotionState } | { event: MotionEvent }): void {
    if (this.stopped) return;
    const track = this.track(camera);
    const starts = 'state' in change ? change.state === 'ON' : change.event.phase === 'start';
    if ('event' in change && (starts || track.event?.id === undefined)) track.event = { id: change.event.id, seq: change.event.seq };
    if (starts) {
      if (track.inMotion) return;
      track.inMotion = true;
      if (!track.recording) this.begin(camera, track);
      return;
    }
    if (!track.inMotion) return;
    track.inMotion = false;
    track.offAtMs = this.now();
    this.endPostRoll(track);
  }

  forget(cameraKey: string): void {
    const track = this.tracks.get(cameraKey);
    if (!track) return;
    while (track.ring.length > 0) this.dropOldest(track);
    this.tracks.delete(cameraKey);
    this.close(track);
  }

  state(): MotionRecordingState {
    return {
      dir: this.options.dir,
      eventsRecorded: this.eventsRecorded,
      framesWritten: this.framesWritten,
      framesSkipped: this.framesSkipped,
      preRollBytes: this.ringBytes,
      recording: [...this.tracks.values()].filter((t) => t.recording).map((t) => t.cameraId),
      lastError: this.lastError,
    };
  }

  /** Closes every event file after its queued writes. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const tracks = [...this.tracks.values()];
    for (const track of tracks) this.close(track);
    await Promise.all(tracks.map((t) => t.chain));
    this.tracks.clear();
    this.ringBytes = 0;
  }

  private track(camera: CameraState): Track {
    let track = this.tracks.get(camera.key);
    if (!track) {
      track = { cameraId: camera.cameraId, ring: [], ringBytes: 0, recording: false, inMotion: false, offAtMs: 0, chain: Promise.resolve(), queued: 0 };
      this.tracks.set(camera.key, track);
    }
    return track;
  }

  private dropOldest(track: Track): void {
    const held = track.ring.shift()!;
    track.ringBytes -= held.bytes;
    this.ringBytes -= held.bytes;
  }

  /** An event starts: the ring becomes the file's first frames. */
  private begin(camera: CameraState, track: Track): void {
    track.recording = true;
    this.eventsRecorded++;
    const preRoll = track.ring;
    track.ring = [];
    this.ringBytes -= track.ringBytes;
    track.ringBytes = 0;
    this.logger.info('motion: recording', { camera: camera.key, event: track.event?.id, preRollFrames: preRoll.length });
    this.write(track, preRoll, true);
  }

  /**
   * Frames before the event's first frame (its `seq`) are pre-roll; the ring's frames from that one on are
   * already the event. Without the event document (only ON came), the whole ring is pre-roll.
   */
  private phase(track: Track, frame: CompleteFrame, fromRing: boolean): MotionPhase {
    const seq = track.event?.seq;
    if (fromRing) return seq !== undefined && !isNewer(seq, frame.seq) ? 'motion' : 'pre-roll';
    if (seq !== undefined && isNewer(seq, frame.seq)) return 'pre-roll';
    return track.inMotion ? 'motion' : 'post-roll';
  }

  /** Queues frames for the track's file, labelled now (the labels say what was known when they came). */
  private write(track: Track, frames: Held[], fromRing: boolean): void {
    if (frames.length === 0) return;
    if (track.queued >= this.maxQueued) { this.framesSkipped += frames.length; return; }
    const labelled = frames.map((h) => ({ ...h, extra: [this.phase(track, h.frame, fromRing), String(track.event?.id ?? '')] }));
    track.queued++;
    track.chain = track.chain
      .then(async () => {
        for (const h of labelled) {
          if (track.segment && track.segment.frames > 0 && track.segment.bytes + h.frame.data.length > this.options.maxSegmentBytes) {
            const full = track.segment;
            track.segment = undefined;
            await full.close();
          }
          track.segment ??= await RecordingSegment.open(this.options.dir, track.cameraId, this.now(), { suffix: '_motion', extraColumns: MOTION_COLUMNS });
          await track.segment.append(h.frame, h.receivedAtMs, h.extra);
          this.framesWritten++;
        }
      })
      .catch((error: unknown) => {
        this.lastError = `motion recording of ${track.cameraId} stopped: ${describeFsError(error)}`;
        this.logger.error('motion recording failed', { camera: track.cameraId, reason: describeFsError(error) });
        track.recording = false;
        const broken = track.segment;
        track.segment = undefined;
        return broken?.close().catch(() => undefined);
      })
      .finally(() => { track.queued--; });
  }

  private endPostRoll(track: Track): void {
    if (track.recording && !track.inMotion && this.now() - track.offAtMs >= this.options.postRollMs) this.close(track);
  }

  private sweep(): void {
    for (const track of this.tracks.values()) this.endPostRoll(track);
  }

  /** Ends the track's event file once its queued frames are written. */
  private close(track: Track): void {
    if (!track.recording) return;
    track.recording = false;
    track.inMotion = false;
    track.event = undefined;
    track.chain = track.chain.then(async () => {
      const segment = track.segment;
      track.segment = undefined;
      if (!segment) return;
      await segment.close().catch((error: unknown) => {
        this.lastError = `closing ${segment.file} failed: ${describeFsError(error)}`;
      });
      this.logger.info('motion: recording closed', { file: segment.file, frames: segment.frames });
    });
  }
}
