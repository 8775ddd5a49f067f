import type { WebSocket } from 'ws';

/** One frame as sent to a page: u16 length of a JSON header, the header, then the JPEG bytes. */
export function encodeFrameMessage(meta: Record<string, unknown>, jpeg: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const head = Buffer.allocUnsafe(2);
  head.writeUInt16BE(json.length, 0);
  return Buffer.concat([head, json, jpeg]);
}

/** What a page shows: only these cameras get frames; with many on screen, each at a thumbnail rate. */
export interface PageView {
  /** Cameras on screen; undefined until the page says (then every camera is sent). */
  visible?: ReadonlySet<string>;
  /** Frames per second per camera when several are on screen; undefined = every frame. */
  thumbnailFps?: number;
  /** The enlarged camera, always at full rate. */
  focus?: string;
}

/** On-screen cameras beyond which the grid gets thumbnails at a lower rate. */
export const FULL_RATE_TILES = 4;
export const THUMBNAIL_FPS = 5;

/** Parses a page's `{"type":"view","visible":[...],"focus":...}` message; undefined if it is not one. */
export function parseViewMessage(text: string): PageView | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { type?: unknown; visible?: unknown; focus?: unknown };
  if (v.type !== 'view' || !Array.isArray(v.visible) || v.visible.length > 4096 || !v.visible.every((k) => typeof k === 'string')) return undefined;
  const focus = typeof v.focus === 'string' ? v.focus : undefined;
  const visible = new Set(v.visible as string[]);
  if (focus) visible.add(focus);
  return { visible, focus, thumbnailFps: !focus && visible.size > FULL_RATE_TILES ? THUMBNAIL_FPS : undefined };
}

/**
 * Frames for one browser connection. Per camera at most one frame is being written and one waits; a newer
 * frame replaces the waiting one. So a slow tab sees fewer frames, and the viewer's memory stays flat
 * whatever the number or speed of tabs. Cameras the page does not show get no frames, and a grid of many
 * gets thumbnails at a lower rate, so a 16-camera wall costs the browser little.
 */
export class ClientFeed {
  private readonly inFlight = new Set<string>();
  private readonly waiting = new Map<string, Buffer>();
  private readonly lastSentAt = new Map<string, number>();
  private view: PageView = {};
  sent = 0;
  replaced = 0;
  skipped = 0;

  constructor(private readonly socket: WebSocket, private readonly now: () => number = () => performance.now()) {}

  setView(view: PageView): void {
    this.view = view;
    for (const key of this.waiting.keys()) if (view.visible && !view.visible.has(key)) this.waiting.delete(key);
  }

  offer(cameraKey: string, message: Buffer): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    const { visible, thumbnailFps, focus } = this.view;
    if (visible && !visible.has(cameraKey)) { this.skipped++; return; }
    if (thumbnailFps !== undefined && cameraKey !== focus) {
      const last = this.lastSentAt.get(cameraKey);
      if (last !== undefined && this.now() - last < 1000 / thumbnailFps) { this.skipped++; return; }
    }
    if (this.inFlight.has(cameraKey)) {
      if (this.waiting.has(cameraKey)) this.replaced++;
      this.waiting.set(cameraKey, message);
      return;
    }
    this.send(cameraKey, message);
  }

  sendText(text: string): void {
    // Summaries are small and once a second; skip one when the socket is backed up rather than queue it.
    if (this.socket.readyState === this.socket.OPEN && this.socket.bufferedAmount < 1024 * 1024) this.socket.send(text);
  }

  /** Lets go of a camera that left the registry: its waiting frame and its rate bookkeeping. */
  forget(cameraKey: string): void {
    this.waiting.delete(cameraKey);
    this.lastSentAt.delete(cameraKey);
  }

  close(): void {
    this.waiting.clear();
    this.inFlight.clear();
    this.lastSentAt.clear();
  }

  private send(cameraKey: string, message: Buffer): void {
    this.inFlight.add(cameraKey);
    this.lastSentAt.set(cameraKey, this.now());
    this.socket.send(message, { binary: true }, () => {
      this.inFlight.delete(cameraKey);
      this.sent++;
      const next = this.waiting.get(cameraKey);
      if (next && this.socket.readyState === this.socket.OPEN) {
        this.waiting.delete(cameraKey);
        this.send(cameraKey, next);
      }
    });
  }
}
