import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import type { CapturedFrame, FrameSink, FrameSource } from '../../agent/capture/frame-source.js';
import { isWholeJpeg } from '../../harness/jpeg-tools.js';
import { descendants, isAlive } from '../helpers/process-table.js';
import { waitFor } from '../helpers/processes.js';

/**
 * The behaviour every FrameSource must have, whatever its backend. Each backend's test file calls
 * frameSourceContract() with a factory; the suite starts, reads, stops and inspects the process table.
 */

export interface ContractOptions {
  /** Frames to collect before judging. */
  frames?: number;
  /** Time allowed for those frames (camera start-up included). */
  timeoutMs?: number;
  /** The backend spawns programs: check none is left after stop. */
  spawnsProcesses?: boolean;
}

/** A sink that records frames and fatal errors. */
export class RecordingSink implements FrameSink {
  readonly frames: CapturedFrame[] = [];
  readonly fatals: Error[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  frame(frame: CapturedFrame): void {
    this.frames.push(frame);
    this.waiters = this.waiters.filter((w) => {
      if (this.frames.length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  fatal(error: Error): void {
    this.fatals.push(error);
  }

  /** Resolves once `count` frames in total have arrived. */
  async waitForFrames(count: number, timeoutMs: number): Promise<void> {
    if (this.frames.length >= count) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => this.waiters.push({ count, resolve })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`only ${this.frames.length} of ${count} frames after ${timeoutMs} ms${this.fatals.length ? `; fatal: ${this.fatals[0]!.message}` : ''}`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export function frameSourceContract(name: string, makeSource: () => FrameSource, options: ContractOptions = {}): void {
  const wanted = options.frames ?? 5;
  const timeoutMs = options.timeoutMs ?? 10_000;

  describe(`FrameSource contract: ${name}`, () => {
    it('gives whole JPEG frames of the announced size with increasing timestamps, stops cleanly and idempotently', async () => {
      const before = new Set(descendants(process.pid));
      const source = makeSource();
      const sink = new RecordingSink();
      const startedAtUs = Date.now() * 1000;
      try {
        await source.start(sink);
        await sink.waitForFrames(wanted, timeoutMs);
        const spawned = options.spawnsProcesses ? descendants(process.pid).filter((pid) => !before.has(pid)) : [];
        if (options.spawnsProcesses) assert.ok(spawned.length > 0, 'a camera process runs while capturing');

        // Two concurrent stops and a later one all resolve.
        await Promise.all([source.stop(), source.stop()]);
        await source.stop();
        const countAtStop = sink.frames.length;

        for (const [i, frame] of sink.frames.entries()) {
          assert.ok(isWholeJpeg(frame.data), `frame ${i} is SOI..EOI`);
          if (i > 0) assert.ok(frame.capturedAtUs > sink.frames[i - 1]!.capturedAtUs, `timestamp ${i} increases`);
          assert.ok(Math.abs(frame.capturedAtUs - startedAtUs) < 60_000_000, `timestamp ${i} is wall-clock microseconds`);
        }
        const meta = await sharp(sink.frames[sink.frames.length - 1]!.data).metadata();
        assert.equal(meta.format, 'jpeg');
        assert.deepEqual([meta.width, meta.height], [source.width, source.height], 'frames have the announced size');
        assert.deepEqual(sink.fatals, []);

        await new Promise((resolve) => setTimeout(resolve, 300)); // absence: several frame intervals with no frame after stop()
        assert.equal(sink.frames.length, countAtStop, 'no frame after stop()');
        if (options.spawnsProcesses) {
          await waitFor(() => spawned.every((pid) => !isAlive(pid)), 2000, 'camera processes to be gone');
          assert.deepEqual(descendants(process.pid).filter((pid) => !before.has(pid)), [], 'no child left after stop()');
        }
      } finally {
        await source.stop();
      }
    });

    it('stop() without start() resolves and leaves nothing behind', async () => {
      const before = new Set(descendants(process.pid));
      const source = makeSource();
      await source.stop();
      await source.stop();
      assert.deepEqual(descendants(process.pid).filter((pid) => !before.has(pid)), []);
    });
  });
}
