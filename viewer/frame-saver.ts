import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../common/logger.js';
import type { CompleteFrame } from '../protocol/reassembler.js';
import type { CameraState } from './camera-registry.js';
import { fileTimestamp } from './file-timestamp.js';
import { describeFsError } from './fs-errors.js';

/** A snapshot could not be written; the message names the file and the reason in plain words. */
export class SaveError extends Error {
  constructor(message: string, readonly file: string) {
    super(message);
    this.name = 'SaveError';
  }
}

/**
 * Writes every complete frame to `<dir>/<cameraId>/<streamId>-<seq>.jpg` (hex stream id, 10-digit
 * sequence), so files sort in arrival order within a stream. At most `maxQueued` writes wait; beyond
 * that frames are skipped and counted, so a slow disk never grows memory. A write error (disk full,
 * no permission) is logged once per reason and counted, never thrown.
 */
export class FrameSaver {
  written = 0;
  skipped = 0;
  failed = 0;
  lastError: string | undefined;
  private queued = 0;
  private readonly madeDirs = new Set<string>();
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly dir: string, private readonly logger: Logger, private readonly maxQueued = 8) {}

  /** Checks up front that the folder can be created and written, so a bad --save-dir fails at start. */
  async start(): Promise<void> {
    try {
      await fs.promises.mkdir(this.dir, { recursive: true });
      await fs.promises.access(this.dir, fs.constants.W_OK);
    } catch (error) {
      throw new SaveError(`cannot write in ${this.dir}: ${describeFsError(error)}`, this.dir);
    }
  }

  save(camera: CameraState, frame: CompleteFrame): void {
    if (this.queued >= this.maxQueued) { this.skipped++; return; }
    this.queued++;
    const folder = path.join(this.dir, camera.cameraId);
    const name = `${frame.streamId.toString(16).padStart(8, '0')}-${String(frame.seq).padStart(10, '0')}.jpg`;
    void this.write(folder, name, frame.data).finally(() => {
      this.queued--;
      if (this.queued === 0) { for (const w of this.idleWaiters) w(); this.idleWaiters = []; }
    });
  }

  /**
   * Writes one frame as `<dir>/<cameraId>_snapshot_<UTC time>_<seq>.jpg` (beside the camera folders, never
   * inside them, so it cannot be mistaken for a streamed frame) and returns the path.
   */
  async saveSnapshot(camera: CameraState, frame: CompleteFrame, atMs = Date.now()): Promise<string> {
    const file = path.join(this.dir, `${camera.cameraId}_snapshot_${fileTimestamp(atMs)}_${frame.seq}.jpg`);
    try {
      await fs.promises.mkdir(this.dir, { recursive: true });
      await fs.promises.writeFile(file, frame.data, { flag: 'wx' });
    } catch (error) {
      const reason = describeFsError(error);
      this.logger.error('cannot save snapshot', { file, reason });
      throw new SaveError(`cannot save the snapshot ${file}: ${reason}`, file);
    }
    this.logger.info('snapshot saved', { file });
    return file;
  }

  /** Waits for queued writes to finish. */
  async stop(): Promise<void> {
    if (this.queued === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private async write(folder: string, name: string, data: Buffer): Promise<void> {
    try {
      if (!this.madeDirs.has(folder)) {
        if (this.madeDirs.size >= 256) this.madeDirs.clear(); // cameras come and go; a mkdir more costs little
        await fs.promises.mkdir(folder, { recursive: true });
        this.madeDirs.add(folder);
      }
      await fs.promises.writeFile(path.join(folder, name), data);
      this.written++;
    } catch (error) {
      this.failed++;
      const reason = `${describeFsError(error)} writing in ${folder}`;
      if (reason !== this.lastError) this.logger.error('cannot save frame', { reason });
      this.lastError = reason;
    }
  }
}
