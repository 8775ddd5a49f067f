import type { CompleteFrame } from '../protocol/reassembler.js';
import type { CameraState } from './camera-registry.js';

export const DEFAULT_MAX_LATEST_BYTES = 128 * 1024 * 1024;

/**
 * The newest frame of each camera (for latest.jpg, snapshots and the page), at most maxBytes of them in all.
 * Past that, the frames of the cameras whose newest came longest ago are let go: their `latest` is cleared,
 * while the time and number of their last frame stay known. The frame just kept is never let go, so the
 * bound is the larger of maxBytes and one frame.
 */
export class LatestFrames {
  /** By camera key, least recently refreshed first (a Map keeps insertion order; keep() re-inserts). */
  private readonly held = new Map<string, { camera: CameraState; bytes: number }>();
  private total = 0;
  /** Frames let go to stay within the budget. */
  released = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.total;
  }

  keep(camera: CameraState, frame: CompleteFrame, receivedAtMs: number): void {
    this.forget(camera);
    // A frame that came in one chunk is a view into its MQTT message, which may be a slice of a larger read
    // buffer: kept alone, it is copied, so what is held is what is counted.
    const owned = ownedFrame(frame);
    const bytes = owned.data.buffer.byteLength;
    camera.latest = { frame: owned, receivedAtMs };
    this.held.set(camera.key, { camera, bytes });
    this.total += bytes;
    for (const [key, entry] of this.held) {
      if (this.total <= this.maxBytes || key === camera.key) break;
      this.forget(entry.camera);
      this.released++;
    }
  }

  /** Lets a camera's frame go (the camera left the registry, or the budget needs the room). */
  forget(camera: CameraState): void {
    const entry = this.held.get(camera.key);
    if (!entry) return;
    this.held.delete(camera.key);
    this.total -= entry.bytes;
    entry.camera.latest = undefined;
  }
}

/**
 * The frame itself, or with its bytes copied when they are a view into a much larger buffer (a slice of an
 * MQTT read): whoever keeps frames counts `data.buffer.byteLength`, which is then what is really held.
 */
export function ownedFrame(frame: CompleteFrame): CompleteFrame {
  return frame.data.buffer.byteLength > frame.data.length * 2 + 4096 ? { ...frame, data: ownCopy(frame.data) } : frame;
}

/** A copy in a buffer of its own (not a slice of Node's shared pool). */
function ownCopy(data: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(data.length);
  data.copy(copy);
  return copy;
}
