/// <reference lib="dom" />
// A frame's way through the page: message → decode (jpeg-decoder.ts: off the main thread, and no larger than the
// tile shows it) → the newest decoded frame of each camera is drawn at the next animation frame → acknowledged
// to the viewer. A camera has at most one frame decoding and one waiting to decode (newest wins), and one
// decoded frame waiting to be drawn (newest wins); a frame replaced at either place is acknowledged as
// dropped at once, so the viewer's credit comes back and it sends the newest frame next. The page thus drops
// frames when it is slow, and never lags.
import type { FrameMeta } from './contract.js';
import { decodeFrameMessage } from './frame-message.js';
import { decodeJpeg, PixelBuffers, type DecodedPicture, type Size } from './jpeg-decoder.js';

/** Where a camera's frames are drawn; the app owns it. */
export interface DrawTarget {
  canvas: HTMLCanvasElement;
  /** True while the camera is hidden (another camera is enlarged): its frames are dropped, not decoded. */
  readonly hidden: boolean;
  /** The size to decode at when the tile shows the picture smaller than it is; undefined: full size. */
  decodeSize(): Size | undefined;
  /** Called after a frame is on the canvas (the new size when it changed). */
  drawn(frame: ShownFrame, resized: boolean): void;
}

export interface ShownFrame {
  meta: FrameMeta;
  /** The JPEG bytes on the canvas now: what a snapshot downloads. */
  jpeg: Uint8Array<ArrayBuffer>;
  /** When it was drawn, this computer's clock (Date.now()). */
  drawnAtMs: number;
  /** Capture (camera clock) to draw (this computer's clock), ms. */
  latencyMs: number;
}

/** How long drawn frames are remembered for the drawn rate and the latency figures. */
export const MEASURE_WINDOW_MS = 2000;

/** What the page measured of one camera over the last MEASURE_WINDOW_MS. */
export interface DrawMeasures {
  drawnFps: number;
  /** Capture → draw of the frames drawn in the window, ms; undefined before any. */
  latencyP50Ms?: number;
  latencyP95Ms?: number;
  /** Frames received but not drawn (a newer one came first) since the page opened. */
  dropped: number;
  drawn: number;
}

/**
 * `connection`: which WebSocket connection brought it; `ackable`: it came after the viewer said the feed runs
 * on acknowledgements (so it was sent under them). Only such frames of the current connection are acknowledged.
 */
interface Incoming { meta: FrameMeta; jpeg: Uint8Array<ArrayBuffer>; connection: number; ackable: boolean }
interface Decoded extends Incoming { picture: DecodedPicture }

class CameraFrames {
  decoding = false;
  readonly buffers = new PixelBuffers();
  pending: Incoming | undefined;
  ready: Decoded | undefined;
  shown: ShownFrame | undefined;
  dropped = 0;
  drawn = 0;
  /** Draw times and latencies of the frames drawn in the measuring window, oldest first. */
  readonly draws: Array<{ atMs: number; latencyMs: number }> = [];

  constructor(readonly target: DrawTarget) {}
}

export class FramePipeline {
  private readonly cameras = new Map<string, CameraFrames>();
  private readonly acks: string[] = [];
  private ackTimer: number | undefined;
  private drawRequested = false;
  /** Acknowledge frames to the viewer (set once it says the feed runs on acknowledgements). */
  acknowledging = false;
  private connection = 0;

  constructor(
    private readonly targetFor: (key: string) => DrawTarget,
    private readonly sendAcks: (keys: string[]) => void,
    /** Called once per animation frame that drew, after the drawing: the app judges its tiles then. */
    private readonly afterDraw: () => void = () => {},
  ) {}

  /** A binary message from the viewer. */
  receive(data: ArrayBuffer): void {
    const decoded = decodeFrameMessage(data);
    if (!decoded) return;
    const frame: Incoming = { ...decoded, connection: this.connection, ackable: this.acknowledging };
    const camera = this.camera(frame.meta.key);
    if (camera.target.hidden) { this.drop(camera, frame); return; }
    if (camera.decoding) {
      if (camera.pending) this.drop(camera, camera.pending);
      camera.pending = frame;
      return;
    }
    this.decode(camera, frame);
  }

  shown(key: string): ShownFrame | undefined {
    return this.cameras.get(key)?.shown;
  }

  measures(key: string, nowMs = Date.now()): DrawMeasures {
    const camera = this.cameras.get(key);
    if (!camera) return { drawnFps: 0, dropped: 0, drawn: 0 };
    trim(camera, nowMs);
    const latencies = camera.draws.map((d) => d.latencyMs).sort((a, b) => a - b);
    const pick = (p: number): number | undefined => (latencies.length === 0 ? undefined : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]);
    return {
      drawnFps: camera.draws.length / (MEASURE_WINDOW_MS / 1000),
      latencyP50Ms: pick(0.5),
      latencyP95Ms: pick(0.95),
      dropped: camera.dropped,
      drawn: camera.drawn,
    };
  }

  /** The smallest capture → draw latency in the measuring window (cheaper than measures(): no sorting). */
  latencyMinMs(key: string, nowMs = Date.now()): number | undefined {
    const camera = this.cameras.get(key);
    if (!camera) return undefined;
    trim(camera, nowMs);
    let min: number | undefined;
    for (const draw of camera.draws) if (min === undefined || draw.latencyMs < min) min = draw.latencyMs;
    return min;
  }

  private camera(key: string): CameraFrames {
    let camera = this.cameras.get(key);
    if (!camera) { camera = new CameraFrames(this.targetFor(key)); this.cameras.set(key, camera); }
    return camera;
  }

  private decode(camera: CameraFrames, frame: Incoming): void {
    camera.decoding = true;
    decodeJpeg(frame.jpeg, camera.target.decodeSize(), camera.buffers)
      .then((picture) => {
        if (camera.ready) { camera.ready.picture.close(); this.drop(camera, camera.ready); }
        camera.ready = { ...frame, picture };
        this.requestDraw();
      }, () => {
        // A frame the browser cannot decode is skipped; the next one replaces it.
        this.drop(camera, frame);
      })
      .finally(() => {
        camera.decoding = false;
        const next = camera.pending;
        camera.pending = undefined;
        if (next) this.decode(camera, next);
      });
  }

  private requestDraw(): void {
    if (this.drawRequested) return;
    this.drawRequested = true;
    requestAnimationFrame(() => this.drawReady());
  }

  /** Once per animation frame: the newest decoded frame of every camera goes on its canvas. */
  private drawReady(): void {
    this.drawRequested = false;
    const now = Date.now();
    for (const camera of this.cameras.values()) {
      const ready = camera.ready;
      if (!ready) continue;
      camera.ready = undefined;
      const canvas = camera.target.canvas;
      const { picture } = ready;
      const resized = canvas.width !== picture.width || canvas.height !== picture.height;
      if (resized) { canvas.width = picture.width; canvas.height = picture.height; }
      // Opaque: the compositor need not blend the picture with what is behind it.
      picture.draw(canvas.getContext('2d', { alpha: false })!);
      picture.close();
      const latencyMs = now - ready.meta.capturedAtUs / 1000;
      camera.shown = { meta: ready.meta, jpeg: ready.jpeg, drawnAtMs: now, latencyMs };
      camera.drawn++;
      camera.draws.push({ atMs: now, latencyMs });
      trim(camera, now);
      this.ack(ready);
      camera.target.drawn(camera.shown, resized);
    }
    this.afterDraw();
  }

  private drop(camera: CameraFrames, frame: Incoming): void {
    camera.dropped++;
    this.ack(frame);
  }

  /** Acks go in one message per turn of the event loop, however many frames were drawn or dropped. */
  private ack(frame: Incoming): void {
    if (!frame.ackable || frame.connection !== this.connection) return;
    this.acks.push(frame.meta.key);
    this.ackTimer ??= window.setTimeout(() => {
      this.ackTimer = undefined;
      this.sendAcks(this.acks.splice(0));
    }, 0);
  }

  /** After the socket closed: acks for the old connection must not go to the new one. */
  reset(): void {
    this.acknowledging = false;
    this.acks.length = 0;
    this.connection++;
  }
}

function trim(camera: CameraFrames, nowMs: number): void {
  while (camera.draws.length > 0 && nowMs - camera.draws[0]!.atMs > MEASURE_WINDOW_MS) camera.draws.shift();
}
