import type { Box, MotionEvent, MotionState } from '../protocol/motion.js';
import type { CameraState } from './camera-registry.js';

/** One event as the page lists it; its thumbnail is served at /api/cameras/<key>/event-<id>.jpg. */
export interface EventSummary {
  id: number;
  start: string;
  end?: string;
  peak: number;
  box: Box;
  seq: number;
  /** A picture of the event is kept. */
  thumbnail: boolean;
}

/** A camera's `motion` part of the page summary. */
export interface MotionSummary {
  state?: MotionState;
  /** Newest first. */
  events: EventSummary[];
}

interface Kept extends EventSummary {
  picture?: Buffer;
}

export interface MotionEventsOptions {
  /** Events kept per camera (the oldest goes first). */
  maxPerCamera: number;
  /** Bytes of event pictures kept across all cameras; past it the oldest pictures are let go (the events stay). */
  maxPictureBytes: number;
}

export const DEFAULT_MOTION_EVENTS: MotionEventsOptions = { maxPerCamera: 10, maxPictureBytes: 16 * 1024 * 1024 };

/**
 * The recent motion events of each camera with a picture each: the frame that started the event when it is
 * still at hand (the pre-roll of --record-on-motion), else the newest frame when the event's start came. The
 * viewer has no image library (it runs on Windows from plain JavaScript), so the picture is the camera's own
 * JPEG and the page draws it small. Bounded in count per camera and in picture bytes overall.
 */
export class MotionEvents {
  private readonly byCamera = new Map<string, Kept[]>();
  private pictureBytes = 0;

  constructor(
    private readonly options: MotionEventsOptions,
    /** The JPEG for an event's first frame, or the best there is. */
    private readonly picture: (camera: CameraState, seq: number) => Buffer | undefined,
  ) {}

  get bytes(): number {
    return this.pictureBytes;
  }

  add(camera: CameraState, event: MotionEvent): void {
    let list = this.byCamera.get(camera.key);
    if (!list) { list = []; this.byCamera.set(camera.key, list); }
    const known = list.find((e) => e.id === event.id && e.start === event.start);
    if (known) {
      Object.assign(known, { end: event.end, peak: event.peak, box: event.box });
      return;
    }
    const bytes = this.picture(camera, event.seq);
    // A copy of its own: the frame may be a view into a larger MQTT buffer.
    const picture = bytes ? Buffer.from(bytes) : undefined;
    list.unshift({ id: event.id, start: event.start, end: event.end, peak: event.peak, box: event.box, seq: event.seq, thumbnail: picture !== undefined, picture });
    this.pictureBytes += picture?.length ?? 0;
    while (list.length > this.options.maxPerCamera) this.drop(list.pop()!);
    this.trim();
  }

  summary(camera: CameraState): MotionSummary | undefined {
    const list = this.byCamera.get(camera.key);
    if (!camera.motion && !list) return undefined;
    return { state: camera.motion, events: (list ?? []).map(({ picture: _bytes, ...rest }) => rest) };
  }

  pictureOf(cameraKey: string, id: number): Buffer | undefined {
    return this.byCamera.get(cameraKey)?.find((e) => e.id === id)?.picture;
  }

  forget(cameraKey: string): void {
    for (const e of this.byCamera.get(cameraKey) ?? []) this.drop(e);
    this.byCamera.delete(cameraKey);
  }

  private drop(e: Kept): void {
    this.pictureBytes -= e.picture?.length ?? 0;
    e.picture = undefined;
    e.thumbnail = false;
  }

  /** Lets the oldest pictures go until the total fits. */
  private trim(): void {
    while (this.pictureBytes > this.options.maxPictureBytes) {
      let oldest: Kept | undefined;
      for (const list of this.byCamera.values()) {
        for (const e of list) if (e.picture && (!oldest || e.start < oldest.start)) oldest = e;
      }
      if (!oldest) return;
      this.drop(oldest);
    }
  }
}
