import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../common/logger.js';
import type { CompleteFrame } from '../protocol/reassembler.js';
import type { CameraState } from './camera-registry.js';
import { describeFsError, ensureWritableDir } from './fs-errors.js';
import { RecordingSegment } from './recording-segment.js';

/** A recording could not start or had to stop; the message is meant for the person at the page. */
export class RecordingError extends Error {
  constructor(message: string, readonly dir: string, readonly code?: string) {
    super(message);
    this.name = 'RecordingError';
  }
}

export interface RecorderOptions {
  /** A file is closed and a new one begun before it would grow past this many bytes. */
  maxSegmentBytes: number;
  /** ... or once it is this many milliseconds old. */
  maxSegmentMs: number;
  /** Frames waiting for the disk per camera; beyond this frames are skipped and counted, so memory stays flat. */
  maxQueuedFrames?: number;
  now?: () => number;
}

/** What the page shows about recording. */
export interface RecordingState {
  active: boolean;
  dir?: string;
  startedAt?: string;
  framesWritten: number;
  framesSkipped: number;
  filesClosed: number;
  /** The file each camera is writing now. */
  files: Array<{ camera: string; file: string; bytes: number; frames: number }>;
  lastError?: string;
}

interface Track {
  cameraId: string;
  segment?: RecordingSegment;
  chain: Promise<void>;
  queued: number;
}

interface Session {
  dir: string;
  startedAtMs: number;
  tracks: Map<string, Track>;
  /** Files of forgotten cameras still being closed; stop() waits for them too. */
  retiring: Set<Promise<void>>;
}

/**
 * Records every camera's verified frames to rotating MJPEG files with a timestamp index. One recording
 * session at a time; each camera writes in order on its own chain. Any write error (disk full, folder
 * gone, read-only) ends the session with a clear message in `state().lastError` and the log, and is never
 * thrown into the frame path.
 */
export class Recorder {
  private session: Session | undefined;
  private closing: Promise<void> = Promise.resolve();
  private framesWritten = 0;
  private framesSkipped = 0;
  private filesClosed = 0;
  private lastError: string | undefined;
  private readonly now: () => number;
  private readonly maxQueued: number;

  constructor(private readonly options: RecorderOptions, private readonly logger: Logger) {
    this.now = options.now ?? Date.now;
    this.maxQueued = options.maxQueuedFrames ?? 8;
  }

  get active(): boolean {
    return this.session !== undefined;
  }

  /** Starts recording into `dir` (created if missing; checked by writing a probe file). */
  async start(dir: string): Promise<void> {
    if (this.session) {
      if (path.resolve(this.session.dir) === path.resolve(dir)) return;
      await this.stop();
    }
    await this.closing;
    try {
      await ensureWritableDir(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      this.lastError = `cannot record into ${dir}: ${describeFsError(error)}`;
      this.logger.error('cannot start recording', { dir, reason: describeFsError(error) });
      throw new RecordingError(this.lastError, dir, code);
    }
    if (this.session) return; // a concurrent start won
    this.lastError = undefined;
    this.session = { dir, startedAtMs: this.now(), tracks: new Map(), retiring: new Set() };
    this.logger.info('recording started', { dir });
  }

  write(camera: CameraState, frame: CompleteFrame, receivedAtMs: number): void {
    const session = this.session;
    if (!session) return;
    let track = session.tracks.get(camera.key);
    if (!track) {
      track = { cameraId: camera.cameraId, chain: Promise.resolve(), queued: 0 };
      session.tracks.set(camera.key, track);
    }
    if (track.queued >= this.maxQueued) { this.framesSkipped++; return; }
    track.queued++;
    const t = track;
    t.chain = t.chain
      .then(() => this.append(session, t, frame, receivedAtMs))
      .catch((error: unknown) => this.fail(session, t, error))
      .finally(() => { t.queued--; });
  }

  /**
   * Closes a camera's file once its queued frames are written, when the camera leaves the viewer's registry:
   * cameras that come and go cannot keep files open. A later frame of the camera opens a new file.
   */
  forget(cameraKey: string): void {
    const session = this.session;
    const track = session?.tracks.get(cameraKey);
    if (!session || !track) return;
    session.tracks.delete(cameraKey);
    const closing: Promise<void> = track.chain.then(async () => {
      if (track.segment) await this.closeSegment(track.segment);
      track.segment = undefined;
    }).finally(() => session.retiring.delete(closing));
    session.retiring.add(closing);
  }

  /** Stops recording: waits for queued frames, closes every file. Idempotent. */
  stop(): Promise<void> {
    const session = this.session;
    if (session) this.endSession(session, 'stopped');
    return this.closing;
  }

  state(): RecordingState {
    const session = this.session;
    return {
      active: session !== undefined,
      dir: session?.dir,
      startedAt: session ? new Date(session.startedAtMs).toISOString() : undefined,
      framesWritten: this.framesWritten,
      framesSkipped: this.framesSkipped,
      filesClosed: this.filesClosed,
      files: session
        ? [...session.tracks.values()].filter((t) => t.segment).map((t) => ({ camera: t.cameraId, file: t.segment!.file, bytes: t.segment!.bytes, frames: t.segment!.frames }))
        : [],
      lastError: this.lastError,
    };
  }

  private async append(session: Session, track: Track, frame: CompleteFrame, receivedAtMs: number): Promise<void> {
    if (this.session !== session) return; // stopped while this frame waited
    const now = this.now();
    const current = track.segment;
    if (current && current.frames > 0 && (current.bytes + frame.data.length > this.options.maxSegmentBytes || now - current.startedAtMs >= this.options.maxSegmentMs)) {
      track.segment = undefined;
      await this.closeSegment(current);
    }
    if (!track.segment) {
      track.segment = await RecordingSegment.open(session.dir, track.cameraId, now);
      this.logger.debug('recording file opened', { file: track.segment.file });
    }
    await track.segment.append(frame, receivedAtMs);
    this.framesWritten++;
  }

  private fail(session: Session, track: Track, error: unknown): void {
    if (this.session !== session) return;
    const where = track.segment?.file ?? session.dir;
    this.lastError = `recording stopped: ${describeFsError(error)} writing ${where}`;
    this.logger.error('recording stopped', { file: where, reason: describeFsError(error) });
    this.endSession(session, 'failed');
  }

  /** Detaches the session at once (new frames are ignored), then closes its files after their queued writes. */
  private endSession(session: Session, why: 'stopped' | 'failed'): void {
    this.session = undefined;
    const previous = this.closing;
    this.closing = (async () => {
      await previous;
      await Promise.all([...session.retiring, ...[...session.tracks.values()].map(async (track) => {
        await track.chain;
        if (track.segment) await this.closeSegment(track.segment);
        track.segment = undefined;
      })]);
      if (why === 'stopped') this.logger.info('recording stopped', { dir: session.dir, framesWritten: this.framesWritten });
    })();
  }

  private async closeSegment(segment: RecordingSegment): Promise<void> {
    try {
      await segment.close();
      this.filesClosed++;
    } catch (error) {
      this.lastError ??= `closing ${segment.file} failed: ${describeFsError(error)}`;
      this.logger.error('closing recording file failed', { file: segment.file, reason: describeFsError(error) });
    }
  }
}
