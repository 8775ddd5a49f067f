import fs from 'node:fs';
import path from 'node:path';
import type { CompleteFrame } from '../protocol/reassembler.js';
import { fileTimestamp } from './file-timestamp.js';

export const INDEX_HEADER = 'frame,seq,captured_at_utc,captured_at_us,received_at_ms,offset,length\n';

/**
 * One recording file of one camera: the JPEG frames back to back (a raw MJPEG stream, which ffmpeg, ffplay
 * and VLC open as `.mjpeg`), plus a CSV index beside it with each frame's capture time and byte range,
 * because raw MJPEG carries no timing of its own. An index line is written only after its frame, so the
 * index never points past the data.
 */
export class RecordingSegment {
  bytes = 0;
  frames = 0;
  private closed: Promise<void> | undefined;

  private constructor(
    readonly file: string,
    readonly indexFile: string,
    readonly startedAtMs: number,
    private readonly data: fs.promises.FileHandle,
    private readonly index: fs.promises.FileHandle,
  ) {}

  /**
   * Creates `<dir>/<cameraId>_<UTC time><suffix>.mjpeg` and its `.csv` index; never overwrites a file.
   * `extraColumns` follow the standard ones in the index (motion recordings add `motion,event`).
   */
  static async open(dir: string, cameraId: string, startedAtMs: number, kind: { suffix?: string; extraColumns?: readonly string[] } = {}): Promise<RecordingSegment> {
    const stem = `${cameraId}_${fileTimestamp(startedAtMs)}${kind.suffix ?? ''}`;
    const header = kind.extraColumns?.length ? `${INDEX_HEADER.trimEnd()},${kind.extraColumns.join(',')}\n` : INDEX_HEADER;
    for (let attempt = 0; ; attempt++) {
      const name = attempt === 0 ? stem : `${stem}-${attempt}`;
      const file = path.join(dir, `${name}.mjpeg`);
      let data: fs.promises.FileHandle;
      try {
        data = await fs.promises.open(file, 'wx');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
        throw error;
      }
      const indexFile = path.join(dir, `${name}.csv`);
      let index: fs.promises.FileHandle | undefined;
      try {
        index = await fs.promises.open(indexFile, 'wx');
        await index.write(header);
      } catch (error) {
        await index?.close().catch(() => undefined);
        await data.close().catch(() => undefined);
        throw error;
      }
      return new RecordingSegment(file, indexFile, startedAtMs, data, index);
    }
  }

  /** Writes a frame, then its index line (with the values of any extra columns). */
  async append(frame: CompleteFrame, receivedAtMs: number, extra: readonly string[] = []): Promise<void> {
    const offset = this.bytes;
    await writeAll(this.data, frame.data);
    this.bytes += frame.data.length;
    const capturedMs = Math.floor(frame.capturedAtUs / 1000);
    const when = Number.isFinite(capturedMs) && capturedMs > 0 && capturedMs < 8.64e15 ? new Date(capturedMs).toISOString() : '';
    await this.index.write(`${this.frames},${frame.seq},${when},${frame.capturedAtUs},${receivedAtMs},${offset},${frame.data.length}${extra.map((v) => `,${v}`).join('')}\n`);
    this.frames++;
  }

  /** Flushes and closes both files. Idempotent; errors while closing are reported once. */
  close(): Promise<void> {
    this.closed ??= Promise.allSettled([this.data.close(), this.index.close()]).then((results) => {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
    return this.closed;
  }
}

async function writeAll(handle: fs.promises.FileHandle, data: Buffer): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done);
    done += bytesWritten;
  }
}
