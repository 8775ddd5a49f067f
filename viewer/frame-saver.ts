import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../common/logger.js';
import type { CompleteFrame } from '../protocol/reassembler.js';
import type { CameraState } from './camera-registry.js';

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
    await fs.promises.mkdir(this.dir, { recursive: true });
    await fs.promises.access(this.dir, fs.constants.W_OK);
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

  /** Waits for queued writes to finish. */
  async stop(): Promise<void> {
    if (this.queued === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private async write(folder: string, name: string, data: Buffer): Promise<void> {
    try {
      if (!this.madeDirs.has(folder)) {
        await fs.promises.mkdir(folder, { recursive: true });
        this.madeDirs.add(folder);
      }
      await fs.promises.writeFile(path.join(folder, name), data);
      this.written++;
    } catch (error) {
      this.failed++;
      const reason = `${(error as NodeJS.ErrnoException).code ?? (error as Error).message} writing in ${folder}`;
      if (reason !== this.lastError) this.logger.error('cannot save frame', { reason });
      this.lastError = reason;
    }
  }
}
