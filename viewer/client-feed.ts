import type { WebSocket } from 'ws';

/** One frame as sent to a page: u16 length of a JSON header, the header, then the JPEG bytes. */
export function encodeFrameMessage(meta: Record<string, unknown>, jpeg: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const head = Buffer.allocUnsafe(2);
  head.writeUInt16BE(json.length, 0);
  return Buffer.concat([head, json, jpeg]);
}

/**
 * Frames for one browser connection. Per camera at most one frame is being written and one waits; a newer
 * frame replaces the waiting one. So a slow tab sees fewer frames, and the viewer's memory stays flat
 * whatever the number or speed of tabs.
 */
export class ClientFeed {
  private readonly inFlight = new Set<string>();
  private readonly waiting = new Map<string, Buffer>();
  sent = 0;
  replaced = 0;

  constructor(private readonly socket: WebSocket) {}

  offer(cameraKey: string, message: Buffer): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
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

  close(): void {
    this.waiting.clear();
    this.inFlight.clear();
  }

  private send(cameraKey: string, message: Buffer): void {
    this.inFlight.add(cameraKey);
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
