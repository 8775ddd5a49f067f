import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Logger } from '../../common/logger.js';
import type { CameraSettings } from './camera-settings.js';
import { APPLIES_NONE, nowUs, type FrameSink, type FrameSource } from './frame-source.js';
import { FrameTimer } from './frame-timer.js';

export class FileSourceError extends Error {
  constructor(message: string, readonly pattern: string) {
    super(message);
    this.name = 'FileSourceError';
  }
}

export interface FileSourceOptions {
  /** A folder (every .jpg/.jpeg in it) or a glob in one folder (`*` and `?` in the file name part). */
  pattern: string;
  fps: number;
  /** Start again from the first file after the last one. */
  loop: boolean;
  /** Replays whose files add up to at most this many bytes play from memory after their first pass. Default FILE_REPLAY_MEMORY_BYTES. */
  memoryBytes?: number;
}

/**
 * A replay whose files add up to at most this many bytes is read from disk once and replayed from memory after
 * that. Reading every file again at each frame took four file-system calls per frame (open, stat, read, close)
 * and a round trip through libuv's thread pool each: about a third of the CPU of `npm run bench:page`'s 16
 * replaying agents (docs/BENCHMARKS.md). Larger replays are read file by file as they play, as before.
 */
export const FILE_REPLAY_MEMORY_BYTES = 64 * 1024 * 1024;

/** Lists the JPEG files a `file:` pattern names, sorted by name (the order they are replayed in). */
export function listFrameFiles(pattern: string): string[] {
  let dir: string;
  let match: RegExp;
  if (fs.existsSync(pattern) && fs.statSync(pattern).isDirectory()) {
    dir = pattern;
    match = /\.jpe?g$/i;
  } else {
    dir = path.dirname(pattern);
    const name = path.basename(pattern);
    if (/[*?]/.test(path.dirname(pattern))) throw new FileSourceError(`wildcards are allowed in the file name only, not in the folder: ${pattern}`, pattern);
    match = new RegExp('^' + name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  }
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (error) {
    throw new FileSourceError(`cannot read folder ${dir} (${(error as NodeJS.ErrnoException).code}): check the file: source`, pattern);
  }
  const files = names.filter((n) => match.test(n)).sort().map((n) => path.join(dir, n));
  if (files.length === 0) throw new FileSourceError(`no JPEG files match ${pattern}`, pattern);
  return files;
}

/**
 * Replays JPEG files at a fixed rate, bytes untouched, with the time each is replayed as its capture time. Files that
 * are not JPEG (no FF D8 start) are skipped with a warning, since a viewer could not show them.
 */
export class FileSource implements FrameSource {
  readonly kind = 'file';
  /** The replay rate is the only setting of its own; the processing step can change the rest. */
  readonly adjustable = ['fps'] as const;
  /** The files are what they are: size, quality and orientation are the processing step's, when asked for. */
  readonly applies = APPLIES_NONE;

  /** Only the pace reaches a file replay: its bytes are fixed. */
  settingsSeen(settings: CameraSettings): Partial<CameraSettings> {
    return { fps: settings.fps };
  }
  width = 0;
  height = 0;
  private readonly timer: FrameTimer;
  private readonly files: string[];
  private next = 0;
  private reading = false;
  /** The bytes of files already read, by path, when the whole replay fits in FILE_REPLAY_MEMORY_BYTES. */
  private readonly remembered: Map<string, Buffer> | undefined;

  constructor(private readonly options: FileSourceOptions, private readonly logger: Logger) {
    this.files = listFrameFiles(options.pattern);
    this.timer = new FrameTimer(options.fps);
    this.remembered = totalBytes(this.files) <= (options.memoryBytes ?? FILE_REPLAY_MEMORY_BYTES) ? new Map() : undefined;
  }

  async start(sink: FrameSink): Promise<void> {
    const first = await fs.promises.readFile(this.files[0]!);
    const meta = await sharp(first).metadata().catch(() => undefined);
    this.width = meta?.width ?? 0;
    this.height = meta?.height ?? 0;
    this.timer.start(() => {
      if (this.reading) return;
      if (this.next >= this.files.length) {
        if (!this.options.loop) { this.timer.stop(); this.logger.info('file source reached the last file'); return; }
        this.next = 0;
      }
      const file = this.files[this.next++]!;
      const capturedAtUs = nowUs();
      const known = this.remembered?.get(file);
      if (known) { sink.frame({ data: known, capturedAtUs }); return; }
      this.reading = true;
      fs.promises.readFile(file)
        .then((data) => {
          if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) { this.logger.warn('skipping a file that is not JPEG', { file }); return; }
          this.remembered?.set(file, data);
          if (this.timer.running) sink.frame({ data, capturedAtUs });
        })
        .catch((error: NodeJS.ErrnoException) => this.logger.warn('cannot read frame file', { file, code: error.code }))
        .finally(() => { this.reading = false; });
    });
    this.logger.info('file source started', { files: this.files.length, fps: this.options.fps, loop: this.options.loop });
  }

  async stop(): Promise<void> {
    this.timer.stop();
  }
}

/** The files' total size; a file that cannot be read counts as too large to keep (it is reported when replayed). */
function totalBytes(files: readonly string[]): number {
  let total = 0;
  for (const file of files) {
    try {
      total += fs.statSync(file).size;
    } catch {
      return Infinity;
    }
  }
  return total;
}
