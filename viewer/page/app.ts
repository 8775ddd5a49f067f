/// <reference lib="dom" />
// The live page. Frames arrive on a WebSocket as binary messages (u16 header length, JSON header, JPEG);
// camera summaries arrive as JSON text once a second. Each camera draws on its own canvas, only after the
// JPEG has decoded, so the picture never flickers or shows a half-drawn frame.

interface Counters { framesDelivered: number; framesIncomplete: number; framesCorrupt: number; framesMissed: number }
interface Summary {
  key: string; cameraId: string; status: 'online' | 'offline' | 'unknown';
  width?: number; height?: number; fps: number; kbps: number; latencyMs?: number; lastFrameAgeMs?: number;
  counters?: Counters;
}
interface Tile { root: HTMLElement; canvas: HTMLCanvasElement; stale: HTMLElement; stats: HTMLElement; badge: HTMLElement; lastDrawnAt: number; drawLatencyMs?: number; decoding: boolean }

const grid = document.getElementById('grid')!;
const tiles = new Map<string, Tile>();
const STALE_AFTER_MS = 3000;
let enlarged: string | undefined;

function tileFor(key: string, name: string): Tile {
  let tile = tiles.get(key);
  if (tile) return tile;
  const fragment = (document.getElementById('tile') as HTMLTemplateElement).content.cloneNode(true) as DocumentFragment;
  const root = fragment.querySelector('.tile') as HTMLElement;
  root.dataset.key = key;
  root.querySelector('.name')!.textContent = name;
  tile = {
    root,
    canvas: root.querySelector('canvas')!,
    stale: root.querySelector('.stale')!,
    stats: root.querySelector('.stats')!,
    badge: root.querySelector('.badge')!,
    lastDrawnAt: 0,
    decoding: false,
  };
  root.addEventListener('click', () => {
    enlarged = enlarged === key ? undefined : key;
    layout();
  });
  document.getElementById('empty')?.remove();
  grid.appendChild(root);
  tiles.set(key, tile);
  return tile;
}

function layout(): void {
  grid.classList.toggle('single', enlarged !== undefined);
  for (const [key, tile] of tiles) tile.root.hidden = enlarged !== undefined && enlarged !== key;
}

async function drawFrame(data: ArrayBuffer): Promise<void> {
  const view = new DataView(data);
  const headerLength = view.getUint16(0);
  const meta = JSON.parse(new TextDecoder().decode(new Uint8Array(data, 2, headerLength))) as { key: string; seq: number; capturedAtUs: number };
  const tile = tileFor(meta.key, meta.key.slice(meta.key.lastIndexOf('/') + 1));
  if ( tile.decoding || tile.root.hidden) return; // newest wins: a frame arriving mid-decode is skipped
  tile.decoding = true;
  try {
    const bitmap = await createImageBitmap(new Blob([new Uint8Array(data, 2 + headerLength)], { type: 'image/jpeg' }));
    if (tile.canvas.width !== bitmap.width || tile.canvas.height !== bitmap.height) {
      tile.canvas.width = bitmap.width;
      tile.canvas.height = bitmap.height;
    }
    tile.canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
    bitmap.close();
    tile.lastDrawnAt = Date.now();
    tile.drawLatencyMs = Date.now() - meta.capturedAtUs / 1000;
    tile.root.dataset.seq = String(meta.seq);
  } catch {
    // A frame the browser cannot decode is skipped; the next one replaces it.
  } finally {
    tile.decoding = false;
  }
}

function stat(label: string, value: string): string {
  return `<dt>${label}</dt><dd>${value}</dd>`;
}

function renderSummary(cameras: Summary[]): void {
  for (const camera of cameras) {
    const tile = tileFor(camera.key, camera.cameraId);
    tile.badge.textContent = camera.status;
    tile.badge.className = `badge status ${camera.status}`;
    const c = camera.counters;
    const latency = tile.drawLatencyMs ?? camera.latencyMs;
    tile.stats.innerHTML =
      stat('fps', camera.fps.toFixed(1)) +
      stat('kbit/s', String(camera.kbps)) +
      stat('latency', latency === undefined ? '–' : `${Math.round(latency)} ms${latency < 0 || latency > 10_000 ? ' (clocks skewed?)' : ''}`) +
      stat('size', camera.width ? `${camera.width}×${camera.height}` : '–') +
      stat('frames', String(c?.framesDelivered ?? 0)) +
      stat('missed', String(c?.framesMissed ?? 0)) +
      stat('incomplete', String(c?.framesIncomplete ?? 0)) +
      stat('corrupt', String(c?.framesCorrupt ?? 0));
  }
  document.getElementById('summary')!.textContent = `${cameras.length} camera${cameras.length === 1 ? '' : 's'}`;
}

function markStale(): void {
  const now = Date.now();
  for (const tile of tiles.values()) {
    const age = tile.lastDrawnAt === 0 ? Infinity : now - tile.lastDrawnAt;
    const stale = age > STALE_AFTER_MS;
    tile.stale.hidden = !stale;
    if (stale) tile.stale.textContent = tile.lastDrawnAt === 0 ? 'no picture yet' : `last frame ${Math.round(age / 1000)} s ago`;
  }
}

function connect(): void {
  const link = document.getElementById('link')!;
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  socket.binaryType = 'arraybuffer';
  socket.onopen = () => { link.textContent = 'connected'; link.className = 'badge connected'; };
  socket.onclose = () => {
    link.textContent = 'disconnected — retrying';
    link.className = 'badge disconnected';
    setTimeout(connect, 1000);
  };
  socket.onmessage = (event: MessageEvent) => {
    if (typeof event.data === 'string') {
      const message = JSON.parse(event.data) as { type: string; cameras: Summary[] };
      if (message.type === 'cameras') renderSummary(message.cameras);
    } else {
      void drawFrame(event.data as ArrayBuffer);
    }
  };
}

setInterval(markStale, 500);
connect();
export {};
