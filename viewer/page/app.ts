/// <reference lib="dom" />
// The live page. Frames arrive on a WebSocket as binary messages (u16 header length, JSON header, JPEG);
// camera summaries arrive as JSON text once a second and after every action. Each camera draws on its own
// canvas, only after the JPEG has decoded, so the picture never flickers or shows a half-drawn frame. A
// camera without a new frame for a while is greyed out with the age of its last frame: a still picture
// must never pass for a live one.

interface Counters { framesDelivered: number; framesIncomplete: number; framesCorrupt: number; framesMissed: number }
interface Summary {
  key: string; cameraId: string; status: 'online' | 'offline' | 'unknown';
  width?: number; height?: number; expectedFps?: number; fps: number; kbps: number; latencyMs?: number; lastFrameAgeMs?: number;
  counters?: Counters;
  agent?: { fps: number; framesDropped: number; framesSent: number; quality?: number; adaptiveLevel?: number; stalled?: boolean; lastFrameAgeS?: number; stalls?: number; link?: { rttMs?: number; kbps?: number; queueMs?: number } };
  control?: { adjustable: string[]; quality?: number };
  processing?: string[];
}
interface RecordingState { active: boolean; dir?: string; startedAt?: string; framesWritten: number; framesSkipped: number; files: Array<{ camera: string; file: string }>; lastError?: string }
interface ViewerState {
  connected: boolean;
  canSaveSnapshots: boolean;
  recordDir?: string;
  recording: RecordingState;
  saved?: { lastError?: string; failed: number };
}
interface Tile {
  key: string;
  cameraId: string;
  root: HTMLElement;
  picture: HTMLElement;
  canvas: HTMLCanvasElement;
  stale: HTMLElement;
  stats: HTMLElement;
  badge: HTMLElement;
  /** Shown while the agent says its camera gives no frames: the agent is there, its camera is not. */
  stalledBadge: HTMLElement;
  rec: HTMLElement;
  controls: HTMLFormElement;
  status: Summary['status'];
  expectedFps?: number;
  lastDrawnAt: number;
  drawLatencyMs?: number;
  /** The JPEG bytes on the canvas now: what a snapshot downloads. */
  jpeg?: Uint8Array<ArrayBuffer>;
  seq?: number;
  decoding: boolean;
}

const grid = document.getElementById('grid')!;
const recordButton = document.getElementById('record') as HTMLButtonElement;
const tiles = new Map<string, Tile>();
const STALE_AFTER_MS = 3000;
let enlarged: string | undefined;
let hovered: string | undefined;
let viewer: ViewerState | undefined;

function tileFor(key: string, cameraId: string): Tile {
  let tile = tiles.get(key);
  if (tile) return tile;
  const fragment = (document.getElementById('tile') as HTMLTemplateElement).content.cloneNode(true) as DocumentFragment;
  const root = fragment.querySelector('.tile') as HTMLElement;
  root.dataset.key = key;
  root.querySelector('.name')!.textContent = key.includes('/') && key.split('/').length > 2 ? key : cameraId;
  const created: Tile = {
    key,
    cameraId,
    root,
    picture: root.querySelector('.picture')!,
    canvas: root.querySelector('canvas')!,
    stale: root.querySelector('.stale')!,
    stats: root.querySelector('.stats')!,
    badge: root.querySelector('.badge.status')!,
    stalledBadge: root.querySelector('.badge.stalled')!,
    rec: root.querySelector('.rec')!,
    controls: root.querySelector('form.controls')!,
    status: 'unknown',
    lastDrawnAt: 0,
    decoding: false,
  };
  created.picture.addEventListener('click', () => {
    enlarged = enlarged === key ? undefined : key;
    layout();
  });
  root.querySelector('.snap')!.addEventListener('click', () => void snapshot(created));
  created.controls.addEventListener('submit', (event) => { event.preventDefault(); void applyControls(created); });
  visibility.observe(root);
  root.addEventListener('mouseenter', () => { hovered = key; });
  root.addEventListener('mouseleave', () => { if (hovered === key) hovered = undefined; });
  document.getElementById('empty')?.remove();
  const after = [...tiles.keys()].sort().find((k) => k > key);
  grid.insertBefore(root, after ? tiles.get(after)!.root : null);
  tiles.set(key, created);
  return created;
}

function layout(): void {
  grid.classList.toggle('single', enlarged !== undefined);
  for (const [key, tile] of tiles) tile.root.hidden = enlarged !== undefined && enlarged !== key;
  sendView();
}

// The viewer sends frames only for the cameras on screen, and thumbnails at a lower rate when many are:
// a wall of 16 cameras then costs the browser little. The page tells it what is on screen.
const onScreen = new Set<string>();
const visibility = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    const key = (entry.target as HTMLElement).dataset.key!;
    if (entry.isIntersecting) onScreen.add(key);
    else onScreen.delete(key);
  }
  sendView();
});
let socketForView: WebSocket | undefined;
let lastView = '';
function sendView(): void {
  const visible = [...onScreen].filter((key) => !tiles.get(key)?.root.hidden).sort();
  const message = JSON.stringify({ type: 'view', visible, focus: enlarged });
  if (message === lastView || socketForView?.readyState !== WebSocket.OPEN) return;
  lastView = message;
  socketForView.send(message);
}

/** Sends the changed remote-control fields of an enlarged camera; shows the camera's answer. */
async function applyControls(tile: Tile): Promise<void> {
  const form = new FormData(tile.controls);
  const request: Record<string, unknown> = {};
  for (const name of ['fps', 'quality', 'width', 'height', 'rotation']) {
    const raw = String(form.get(name) ?? '').trim();
    if (raw !== '') request[name] = Number(raw);
  }
  if (Object.keys(request).length === 0) { notice(`${tile.cameraId}: nothing to change`, true); return; }
  try {
    const result = await post(`/api/cameras/${encodeURIComponent(tile.key)}/control`, request);
    if (result.ok === true) notice(`${tile.cameraId}: applied${result.restarted ? ' (camera restarted)' : ''}`);
    else notice(`${tile.cameraId}: refused: ${String(result.error)}`, true);
  } catch (error) {
    notice(`${tile.cameraId}: ${(error as Error).message}`, true);
  }
}

async function drawFrame(data: ArrayBuffer): Promise<void> {
  const view = new DataView(data);
  const headerLength = view.getUint16(0);
  const meta = JSON.parse(new TextDecoder().decode(new Uint8Array(data, 2, headerLength))) as { key: string; seq: number; capturedAtUs: number };
  const tile = tileFor(meta.key, meta.key.slice(meta.key.lastIndexOf('/') + 1));
  if (tile.decoding || tile.root.hidden) return; // newest wins: a frame arriving mid-decode is skipped
  tile.decoding = true;
  try {
    const jpeg = new Uint8Array(data, 2 + headerLength);
    const bitmap = await createImageBitmap(new Blob([jpeg], { type: 'image/jpeg' }));
    if (tile.canvas.width !== bitmap.width || tile.canvas.height !== bitmap.height) {
      tile.canvas.width = bitmap.width;
      tile.canvas.height = bitmap.height;
      tile.picture.style.aspectRatio = `${bitmap.width} / ${bitmap.height}`;
    }
    tile.canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
    bitmap.close();
    tile.lastDrawnAt = Date.now();
    tile.drawLatencyMs = Date.now() - meta.capturedAtUs / 1000;
    tile.jpeg = jpeg;
    tile.seq = meta.seq;
    tile.root.dataset.seq = String(meta.seq);
    markStale();
  } catch {
    // A frame the browser cannot decode is skipped; the next one replaces it.
  } finally {
    tile.decoding = false;
  }
}

/** Text for innerHTML: some values come from agents' messages, which anyone with write access to the broker can send. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function stat(label: string, value: string, title = '', warn = false): string {
  const t = escapeHtml(title);
  return `<dt title="${t}">${escapeHtml(label)}</dt><dd class="${warn ? 'warn' : ''}" title="${t}">${escapeHtml(value)}</dd>`;
}

function renderCamera(camera: Summary): void {
  const tile = tileFor(camera.key, camera.cameraId);
  tile.status = camera.status;
  tile.expectedFps = camera.expectedFps;
  tile.root.dataset.status = camera.status;
  tile.badge.textContent = camera.status;
  tile.badge.className = `badge status ${camera.status}`;
  // Distinct from offline (the agent is gone) and from the grey "last frame N s ago" (what this viewer
  // received): here the agent is connected and says its own camera has stopped giving frames.
  const stalled = camera.agent?.stalled === true;
  tile.stalledBadge.hidden = !stalled;
  tile.root.dataset.stalled = String(stalled);
  tile.root.classList.toggle('is-stalled', stalled);
  if (stalled) {
    const age = camera.agent?.lastFrameAgeS;
    tile.stalledBadge.title = `the agent is connected but its camera has given no frame for ${age === undefined ? 'a while' : `${Math.round(age)} s`}`;
  }
  const c = camera.counters;
  const latency = tile.drawLatencyMs ?? camera.latencyMs;
  // Capture time comes from the Pi's clock, display time from this computer's: only NTP on both makes the
  // difference a latency. Negative or many seconds means the clocks disagree.
  const skewed = latency !== undefined && (latency < -50 || latency > 10_000);
  const width = tile.canvas.width > 0 && tile.lastDrawnAt > 0 ? tile.canvas.width : camera.width;
  const height = tile.canvas.width > 0 && tile.lastDrawnAt > 0 ? tile.canvas.height : camera.height;
  tile.stats.innerHTML =
    stat('fps', `${camera.fps.toFixed(1)}${camera.expectedFps ? ` / ${camera.expectedFps}` : ''}`, 'frames per second received / configured on the camera') +
    stat('latency', latency === undefined ? '–' : `${Math.round(latency)} ms${skewed ? ' (clocks skewed?)' : ''}`, 'capture (camera clock) to display (this computer\'s clock); exact only when both clocks use NTP', skewed) +
    stat('kbit/s', String(camera.kbps)) +
    stat('size', width ? `${width}×${height}` : '–', 'resolution in pixels') +
    stat('missed', String(c?.framesMissed ?? 0), 'frames the camera sent or dropped that never arrived (sequence gaps)', (c?.framesMissed ?? 0) > 0) +
    stat('incomplete', String(c?.framesIncomplete ?? 0), 'frames that lost chunks on the way and were not shown', (c?.framesIncomplete ?? 0) > 0) +
    stat('corrupt', String(c?.framesCorrupt ?? 0), 'frames that failed the CRC-32 check and were not shown', (c?.framesCorrupt ?? 0) > 0) +
    stat('camera link', linkText(camera.agent?.link), 'the camera\'s path to the broker as its agent measures it: round trip, the rate it sends at, and any queue standing in it', (camera.agent?.link?.queueMs ?? 0) > 100) +
    stat('dropped at camera', String(camera.agent?.framesDropped ?? '–'), 'frames the agent did not send (link busy, broker away, or skipped for a lower frame rate), from its stats') +
    stat('stalls', camera.agent?.stalls === undefined ? '–' : `${camera.agent.stalls}${stalled ? ' (stalled now)' : ''}`, 'times the camera gave the agent no frame for its stall timeout, since the agent started (from its stats)', stalled) +
    stat('quality', camera.agent?.quality === undefined ? '–' : `${camera.agent.quality}${camera.agent.adaptiveLevel ? ` (adapted, level ${camera.agent.adaptiveLevel})` : ''}`, 'JPEG quality; "adapted" when the camera stepped quality or frame rate down for a slow link', (camera.agent?.adaptiveLevel ?? 0) > 0) +
    stat('processing', camera.processing === undefined ? '–' : camera.processing.length === 0 ? 'none' : camera.processing.join(', '), 'what the agent does to the camera\'s JPEGs before sending them; "none": they go out as the camera made them, never re-encoded', (camera.processing?.length ?? 0) > 0);
  // Remote control: offered when the camera listens on its set topic; only what its source can change.
  tile.controls.hidden = !camera.control;
  if (camera.control) {
    for (const input of Array.from(tile.controls.querySelectorAll<HTMLInputElement | HTMLSelectElement>('[name]'))) {
      input.disabled = !camera.control.adjustable.includes(input.name);
    }
  }
}

function linkText(link: { rttMs?: number; kbps?: number; queueMs?: number } | undefined): string {
  if (link?.rttMs === undefined) return '–';
  const rate = link.kbps === undefined ? '' : ` · ${link.kbps >= 1000 ? `${(link.kbps / 1000).toFixed(1)} Mbit/s` : `${link.kbps} kbit/s`}`;
  const queue = (link.queueMs ?? 0) >= 10 ? ` · queue ${Math.round(link.queueMs!)} ms` : '';
  return `${Math.round(link.rttMs)} ms${rate}${queue}`;
}

function renderViewer(state: ViewerState): void {
  viewer = state;
  const rec = state.recording;
  recordButton.disabled = !rec.active && !state.recordDir;
  recordButton.title = state.recordDir || rec.active ? `Record every camera into ${rec.dir ?? state.recordDir} (R)` : 'Start picam-viewer with --record DIR (or --save-dir DIR) to record';
  recordButton.textContent = rec.active ? '■ Stop recording' : '● Record';
  recordButton.classList.toggle('active', rec.active);
  const label = document.getElementById('recording')!;
  label.hidden = !rec.active;
  if (rec.active && rec.startedAt) {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(rec.startedAt)) / 1000));
    label.textContent = `REC ${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')} · ${rec.framesWritten} frames · ${rec.dir}`;
    label.title = rec.files.map((f) => f.file).join('\n');
  }
  const recordingCameras = new Set(rec.active ? rec.files.map((f) => f.camera) : []);
  for (const tile of tiles.values()) tile.rec.hidden = !recordingCameras.has(tile.cameraId);
  const alerts: string[] = [];
  if (!state.connected) alerts.push('The viewer is not connected to the MQTT broker; it keeps retrying.');
  if (rec.lastError) alerts.push(rec.lastError);
  if (state.saved?.lastError) alerts.push(`Saving frames failed: ${state.saved.lastError}`);
  const box = document.getElementById('alerts')!;
  const text = alerts.join('\n');
  if (box.textContent !== text) box.innerText = text;
}

function renderSummary(cameras: Summary[], state: ViewerState | undefined): void {
  for (const camera of cameras) renderCamera(camera);
  if (state) renderViewer(state);
  document.getElementById('summary')!.textContent = `${cameras.length} camera${cameras.length === 1 ? '' : 's'}`;
  markStale();
}

function markStale(): void {
  const now = Date.now();
  for (const tile of tiles.values()) {
    const age = tile.lastDrawnAt === 0 ? Infinity : now - tile.lastDrawnAt;
    const limit = Math.max(STALE_AFTER_MS, tile.expectedFps ? 3000 / tile.expectedFps : 0);
    const stale = age > limit;
    tile.stale.hidden = !stale;
    tile.root.classList.toggle('is-stale', stale);
    tile.root.dataset.stale = String(stale);
    if (!stale) continue;
    const when = tile.lastDrawnAt === 0 ? 'no picture yet' : `last frame ${Math.round(age / 1000)} s ago`;
    tile.stale.textContent = tile.status === 'offline' ? `offline · ${when}` : when;
  }
}

let noticeTimer: number | undefined;
function notice(text: string, error = false): void {
  const box = document.getElementById('notice')!;
  box.textContent = text;
  box.title = text;
  box.className = error ? 'error' : '';
  clearTimeout(noticeTimer);
  noticeTimer = window.setTimeout(() => { box.textContent = ''; }, error ? 15_000 : 6000);
}

async function post(path: string, payload?: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await fetch(path, payload ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) } : { method: 'POST' });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) throw new Error(typeof body.error === 'string' ? body.error : `${response.status} ${response.statusText}`);
  return body;
}

/** Downloads the picture on screen; with --save-dir the viewer also writes its newest frame to disk. */
async function snapshot(tile: Tile): Promise<void> {
  if (!tile.jpeg) { notice(`${tile.cameraId}: no picture yet`, true); return; }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const url = URL.createObjectURL(new Blob([tile.jpeg], { type: 'image/jpeg' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = `${tile.cameraId}_${stamp}_${tile.seq ?? 0}.jpg`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
  if (!viewer?.canSaveSnapshots) { notice(`${tile.cameraId}: snapshot downloaded`); return; }
  try {
    const saved = await post(`/api/cameras/${encodeURIComponent(tile.key)}/snapshot`);
    notice(`${tile.cameraId}: snapshot downloaded and saved as ${String(saved.file)}`);
  } catch (error) {
    notice(`${tile.cameraId}: downloaded, but saving on disk failed: ${(error as Error).message}`, true);
  }
}

async function toggleRecording(): Promise<void> {
  const on = !viewer?.recording.active;
  recordButton.disabled = true;
  try {
    await post(on ? '/api/recording/start' : '/api/recording/stop');
    notice(on ? 'recording started' : 'recording stopped');
  } catch (error) {
    notice(`recording: ${(error as Error).message}`, true);
  } finally {
    recordButton.disabled = false;
  }
}

function snapshotTarget(): Tile | undefined {
  const key = enlarged ?? hovered ?? (tiles.size === 1 ? [...tiles.keys()][0] : undefined);
  return key === undefined ? undefined : tiles.get(key);
}

recordButton.addEventListener('click', () => void toggleRecording());
document.addEventListener('keydown', (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  const key = event.key.toLowerCase();
  if (key === 's') {
    const tile = snapshotTarget();
    if (tile) void snapshot(tile);
    else notice('point at a camera (or click to enlarge it), then press S', true);
  } else if (key === 'r' && !recordButton.disabled) {
    void toggleRecording();
  } else if (key === 'i') {
    document.body.classList.toggle('no-stats');
  } else if (key === 'escape' && enlarged !== undefined) {
    enlarged = undefined;
    layout();
  }
});

function connect(): void {
  const link = document.getElementById('link')!;
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  socket.binaryType = 'arraybuffer';
  socket.onopen = () => {
    link.textContent = 'connected';
    link.className = 'badge connected';
    socketForView = socket;
    lastView = '';
    sendView();
  };
  socket.onclose = () => {
    link.textContent = 'disconnected — retrying';
    link.className = 'badge disconnected';
    setTimeout(connect, 1000);
  };
  socket.onmessage = (event: MessageEvent) => {
    if (typeof event.data === 'string') {
      const message = JSON.parse(event.data) as { type: string; cameras: Summary[]; viewer?: ViewerState };
      if (message.type === 'cameras') renderSummary(message.cameras, message.viewer);
    } else {
      void drawFrame(event.data as ArrayBuffer);
    }
  };
}

setInterval(markStale, 500);
connect();
export {};
