import type { WebSocket } from 'ws';
import type { FrameMeta, PageFeedStats, PageFlow, PageMessage } from './page/contract.js';
import { encodeFrameHead } from './page/frame-message.js';

/**
 * Frames of one camera a page may hold unacknowledged. At full rate two: one being decoded or drawn while the
 * next is on its way, so an enlarged camera draws every frame. A thumbnail one: it is due only every 1/5 s,
 * far longer than a decode, and on a starved machine every frame in flight is latency (frames in flight over
 * frames drawn per second), so fewer in flight keeps the pictures recent.
 */
export const FRAME_CREDIT = 2;
export const THUMBNAIL_CREDIT = 1;
/**
 * Frames of all cameras together a page may hold unacknowledged. A frame waits in the page for the frames ahead
 * of it, so this bounds the page's latency at about PAGE_CREDIT frames' decode and draw whatever the number of
 * cameras: 16 thumbnails at one frame each would wait behind 15 others on a page that draws 40 a second, 400 ms.
 * Four still feeds a page that keeps up: 16 thumbnails at 5 fps need a round trip (send, decode, draw, ack)
 * under 50 ms, and four full-rate cameras drew as many frames with four as with eight (docs/BENCHMARKS.md).
 */
export const PAGE_CREDIT = 4;
/** On-screen cameras beyond which the grid gets thumbnails at `thumbnailFps`. */
export const FULL_RATE_TILES = 4;
export const DEFAULT_THUMBNAIL_FPS = 5;
/** Most camera keys one page message may name (a view's visible list, an ack's keys). */
const MAX_KEYS_PER_MESSAGE = 4096;

/** What a page shows: only these cameras get frames; with many on screen, each at a thumbnail rate. */
export interface PageView {
  /** Cameras on screen; undefined until the page says (then every camera is sent). */
  visible?: ReadonlySet<string>;
  /** The enlarged camera, always at full rate. */
  focus?: string;
  flow: PageFlow;
}

const isKeyList = (v: unknown): v is string[] => Array.isArray(v) && v.length <= MAX_KEYS_PER_MESSAGE && v.every((k) => typeof k === 'string');

/** A page's message, checked; undefined when it is not a valid one (the caller counts and refuses it). */
export function parsePageMessage(text: string): PageMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.type === 'ack') return isKeyList(v.keys) ? { type: 'ack', keys: v.keys } : undefined;
  if (v.type !== 'view' || !isKeyList(v.visible)) return undefined;
  if (v.flow !== undefined && v.flow !== 'ack' && v.flow !== 'socket') return undefined;
  return { type: 'view', visible: v.visible, focus: typeof v.focus === 'string' ? v.focus : undefined, flow: v.flow };
}

interface Outgoing { meta: FrameMeta; jpeg: Buffer }

/** One camera's frames to one page. */
interface CameraLane {
  key: string;
  /** Frames sent and not yet acknowledged (flow 'ack'), or written and not yet taken by the socket (flow 'socket'). */
  outstanding: number;
  /** The newest frame that may go once `outstanding` allows: a newer one replaces it. */
  waiting?: Outgoing;
  /** Capture time (µs) from which the next thumbnail is due. */
  nextDueUs?: number;
}

/**
 * Frames for one browser connection. A page that acknowledges (flow 'ack', what the viewer's page does) holds
 * at most FRAME_CREDIT frames of a camera that it has not drawn (THUMBNAIL_CREDIT for a thumbnail), and at
 * most PAGE_CREDIT of all cameras together; a newer frame replaces the one waiting in the viewer, and the
 * page's credit goes to the cameras in turn. So no frame queues in a socket, and a frame reaches the screen
 * within a few decodes and draws of arriving, however slow the page: a slow page is sent fewer frames, never
 * older ones. A client that never says otherwise gets flow 'socket': one frame per camera at a time until the
 * socket takes it (kernel buffers then fill: the benchmark's baseline). Either way at most one frame per camera waits in the viewer, so its
 * memory stays flat whatever the number or speed of pages.
 *
 * Cameras off the page's screen get no frames. With more than FULL_RATE_TILES on screen and none enlarged,
 * each gets thumbnails at `thumbnailFps`, chosen by capture time: a thumbnail is due every 1/fps of camera
 * time, so the rate holds exactly whatever the camera's frame rate.
 */
export class ClientFeed {
  private readonly lanes = new Map<string, CameraLane>();
  /** Flow 'ack': frames of all lanes sent and not yet acknowledged. */
  private pageOutstanding = 0;
  /**
   * Lanes whose waiting frame the camera's own credit allows, in the order they started waiting. Under flow
   * 'ack' they also wait for the page's credit, which goes to the first: every camera gets its turn.
   */
  private readonly queued = new Set<CameraLane>();
  private view: PageView = { flow: 'socket' };
  private textInFlight = false;
  private textWaiting: string | undefined;
  private closed = false;
  private readonly counts = { sent: 0, replaced: 0, skipped: 0, acknowledged: 0, refused: 0 };

  constructor(private readonly socket: WebSocket, private readonly thumbnailFps = DEFAULT_THUMBNAIL_FPS) {}

  get stats(): PageFeedStats {
    const unacknowledged = this.view.flow === 'ack' ? this.pageOutstanding : 0;
    return { ...this.counts, unacknowledged, bufferedBytes: this.socket.bufferedAmount, flow: this.view.flow };
  }

  /** The rate thumbnails get under the current view, or undefined when every frame is sent. */
  get thumbnailRate(): number | undefined {
    const { visible, focus } = this.view;
    return !focus && visible && visible.size > FULL_RATE_TILES ? this.thumbnailFps : undefined;
  }

  /** A text message from the page: a view or an ack. Anything else is counted and refused. */
  receive(text: string): void {
    const message = parsePageMessage(text);
    if (!message) { this.counts.refused++; return; }
    if (message.type === 'ack') this.acknowledge(message.keys);
    else this.setView(message.visible, message.focus, message.flow ?? 'socket');
  }

  setView(visibleKeys: readonly string[], focus: string | undefined, flow: PageFlow): void {
    const visible = new Set(visibleKeys);
    if (focus) visible.add(focus);
    const flowChanged = flow !== this.view.flow;
    this.view = { visible, focus, flow };
    for (const [key, lane] of this.lanes) {
      if (!visible.has(key)) { lane.waiting = undefined; this.queued.delete(lane); }
      // Under another flow the old count means something else; the page starts afresh with it.
      if (flowChanged && this.view.flow === 'ack') lane.outstanding = 0;
    }
    if (flowChanged) { this.pageOutstanding = 0; this.queued.clear(); }
    this.sendText(JSON.stringify({ type: 'feed', thumbnailFps: this.thumbnailRate ?? null, flow }));
  }

  offer(meta: FrameMeta, jpeg: Buffer): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    const { visible, focus } = this.view;
    if (visible && !visible.has(meta.key)) { this.counts.skipped++; return; }
    let lane = this.lanes.get(meta.key);
    if (!lane) { lane = { key: meta.key, outstanding: 0 }; this.lanes.set(meta.key, lane); }
    const rate = meta.key === focus ? undefined : this.thumbnailRate;
    // A thumbnail that came due while the page still held the last one waits for its credit; until then each
    // newer frame takes its place, so the page gets the newest frame, not the one that happened to be due.
    if (rate !== undefined && !lane.waiting && !this.due(lane, meta.capturedAtUs, 1e6 / rate)) { this.counts.skipped++; return; }
    if (lane.waiting) this.counts.replaced++;
    lane.waiting = { meta, jpeg };
    this.sendWaiting(lane);
  }

  /** Text (summaries): one written at a time, a newer one replaces the one waiting, so none is skipped for long. */
  sendText(text: string): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    if (this.textInFlight) { this.textWaiting = text; return; }
    this.textInFlight = true;
    this.socket.send(text, () => {
      this.textInFlight = false;
      const next = this.textWaiting;
      this.textWaiting = undefined;
      if (next !== undefined) this.sendText(next);
    });
  }

  /** Lets go of a camera that left the registry: its waiting frame and its bookkeeping. */
  forget(cameraKey: string): void {
    const lane = this.lanes.get(cameraKey);
    if (!lane) return;
    this.lanes.delete(cameraKey);
    this.queued.delete(lane);
    // Its frames in the page will be acknowledged no more (their acks are refused): the page gets their credit back.
    if (this.view.flow === 'ack') { this.pageOutstanding -= lane.outstanding; this.sendQueued(); }
  }

  close(): void {
    this.closed = true;
    this.lanes.clear();
    this.queued.clear();
    this.textWaiting = undefined;
  }

  private creditOf(cameraKey: string): number {
    if (this.view.flow === 'socket') return 1;
    return cameraKey !== this.view.focus && this.thumbnailRate !== undefined ? THUMBNAIL_CREDIT : FRAME_CREDIT;
  }

  /** Whether a thumbnail is due for a frame captured at `atUs`; moves the lane's schedule on when it is. */
  private due(lane: CameraLane, atUs: number, intervalUs: number): boolean {
    const due = lane.nextDueUs;
    // A frame up to a quarter interval early counts, so a camera whose rate is a multiple of the thumbnail
    // rate is not pushed to the next frame by jitter. A frame far before the schedule means the camera's
    // clock went back (it restarted): start again from it.
    if (due !== undefined && atUs < due - intervalUs / 4 && due - atUs <= 2 * intervalUs) return false;
    // Due frames step the schedule by exactly one interval, so the average rate is the thumbnail rate; after
    // a gap longer than an interval the schedule starts again from this frame instead of catching up.
    lane.nextDueUs = due === undefined || atUs - due > intervalUs || due - atUs > 2 * intervalUs ? atUs + intervalUs : due + intervalUs;
    return true;
  }

  private acknowledge(keys: readonly string[]): void {
    if (this.view.flow !== 'ack') { this.counts.refused++; return; }
    for (const key of keys) {
      const lane = this.lanes.get(key);
      // An ack for a frame never sent (or for a camera forgotten since) is refused: credit never exceeds FRAME_CREDIT.
      if (!lane || lane.outstanding === 0) { this.counts.refused++; continue; }
      lane.outstanding--;
      this.pageOutstanding--;
      this.counts.acknowledged++;
      this.sendWaiting(lane);
    }
  }

  /** Queues the lane's waiting frame once the camera's credit allows it, then sends what the page's credit allows. */
  private sendWaiting(lane: CameraLane): void {
    if (lane.waiting && lane.outstanding < this.creditOf(lane.key)) this.queued.add(lane);
    this.sendQueued();
  }

  /** Sends queued frames, the lane that waited longest first, while the page's credit lasts. */
  private sendQueued(): void {
    for (const lane of this.queued) {
      if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
      if (this.view.flow === 'ack' && this.pageOutstanding >= PAGE_CREDIT) return;
      this.queued.delete(lane);
      const next = lane.waiting;
      if (!next || lane.outstanding >= this.creditOf(lane.key)) continue;
      lane.waiting = undefined;
      this.send(lane, next);
    }
  }

  private send(lane: CameraLane, frame: Outgoing): void {
    lane.outstanding++;
    this.counts.sent++;
    const ack = this.view.flow === 'socket';
    if (!ack) this.pageOutstanding++;
    // Two fragments of one message: the small header, then the JPEG as it is (no copy per page).
    this.socket.send(encodeFrameHead(frame.meta), { binary: true, fin: false });
    this.socket.send(frame.jpeg, { binary: true, fin: true }, ack ? () => {
      // Flow 'socket': the socket has taken the frame, so the next may go.
      if (this.view.flow !== 'socket' || lane.outstanding === 0) return;
      lane.outstanding--;
      this.sendWaiting(lane);
    } : undefined);
  }
}
