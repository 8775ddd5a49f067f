/// <reference lib="dom" />
// The live page. Frames arrive on a WebSocket as binary messages (frame-message.ts) and go through the frame
// pipeline (decode off the main thread, newest drawn per animation frame, acknowledged to the viewer); camera
// summaries arrive as JSON text once a second and after every action. Each camera draws on its own canvas,
// only after the JPEG has decoded, so the picture never flickers or shows a half-drawn frame. A tile whose
// picture is old, because nothing new came or because what comes is late, is greyed with how old: a still or
// late picture must never pass for a live one. What goes over the socket is typed once, in contract.ts.
import type { CameraSummary, PageFlow, PageMessage, ServerMessage, ViewerSummary } from './contract.js';
import { FramePipeline, type DrawTarget } from './frame-pipeline.js';
import { lossCount, overlayLine, overlayTable } from './overlay.js';
import { decodeSizeFor, type Size } from './jpeg-decoder.js';
import { StaleLook } from './stale-look.js';
import { liveUntil, tileHealth, type TileFacts } from './tile-health.js';

import { renderMotion } from './motion.js';

interface Tile extends DrawTarget {
  key: string;
  cameraId: string;
  root: HTMLElement;
  picture: HTMLElement;
  stale: HTMLElement;
  /** The stale label, set in advance for when the picture stops being live. */
  staleLook: StaleLook;
  line: HTMLElement;
  stats: HTMLElement;
  badge: HTMLElement;
  /** Shown while the agent says its camera gives no frames: the agent is there, its camera is not. */
  stalledBadge: HTMLElement;
  rec: HTMLElement;
  controls: HTMLFormElement;
  camera?: CameraSummary;
  /** Lost-frame count at the last summary, and until when the loss badge shows after it moved. */
  lossSeen: number;
  losingUntil: number;
  lastLine: string;
  lastTable: string;
  /** The picture's box on screen in device pixels (from a ResizeObserver, so no layout is forced per frame). */
  box?: Size;
}

const grid = document.getElementById('grid')!;
const recordButton = document.getElementById('record') as HTMLButtonElement;
const tiles = new Map<string, Tile>();
/** Share of a tile that must be on screen for it to count as shown (and get frames). */
const VISIBLE_SHARE = 0.25;
/** How long the loss badge stays after the counters moved. */
const LOSS_BADGE_MS = 10_000;
/** `?flow=socket`: no acknowledgements (the benchmark's baseline); otherwise the page acknowledges frames. */
const flow: PageFlow = new URLSearchParams(location.search).get('flow') === 'socket' ? 'socket' : 'ack';
let enlarged: string | undefined;
let hovered: string | undefined;
let viewer: ViewerSummary | undefined;
/** The rate the viewer limits thumbnails to now (its answer to our view), or undefined: every frame. */
let thumbnailFps: number | undefined;

const pipeline = new FramePipeline(
  (key) => tileFor(key, key.slice(key.lastIndexOf('/') + 1)),
  (keys) => send({ type: 'ack', keys }),
  // Tiles are judged again before the paint that shows a new frame of a greyed tile (so it does not stay grey
  // until the next check), and before any paint after a frame got too old (not only when the judging timer's
  // turn comes on a busy main thread).
  () => { if (regained || Date.now() >= judgeAt) markStale(); },
);

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
    staleLook: new StaleLook(root.querySelector('.stale')!),
    line: root.querySelector('.line')!,
    stats: root.querySelector('.stats')!,
    badge: root.querySelector('.badge.status')!,
    stalledBadge: root.querySelector('.badge.stalled')!,
    rec: root.querySelector('.rec')!,
    controls: root.querySelector('form.controls')!,
    lossSeen: 0,
    losingUntil: 0,
    lastLine: '',
    lastTable: '',
    get hidden() { return root.hidden; },
    // A 640x480 camera in a 364-pixel tile is decoded at 400x300 (5/8): under 40 % of the pixels, the same picture.
    decodeSize: () => decodeSizeFor({ width: created.camera?.width, height: created.camera?.height }, created.box),
    drawn(frame, resized) {
      if (resized) created.picture.style.aspectRatio = `${created.canvas.width} / ${created.canvas.height}`;
      if (root.dataset.health !== 'live') regained = true;
      root.dataset.seq = String(frame.meta.seq);
      // Read from outside (tests, npm run bench:page): capture → draw of every frame drawn.
      root.dataset.capturedAt = String(frame.meta.capturedAtUs / 1000);
      scheduleStaleLook(created, tileFacts(created, frame.drawnAtMs));
    },
  };
  created.picture.addEventListener('click', () => {
    enlarged = enlarged === key ? undefined : key;
    layout();
  });
  root.querySelector('.snap')!.addEventListener('click', () => void snapshot(created));
  created.controls.addEventListener('submit', (event) => { event.preventDefault(); void applyControls(created); });
  visibility.observe(root);
  pictureBoxes.observe(created.picture);
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
  document.body.classList.toggle('enlarged', enlarged !== undefined);
  for (const [key, tile] of tiles) tile.root.hidden = enlarged !== undefined && enlarged !== key;
  sendView();
}

// The viewer sends frames only for the cameras on screen, and thumbnails at a lower rate when many are:
// a wall of 16 cameras then costs the browser little. The page tells it what is on screen; a tile counts
// only when at least VISIBLE_SHARE of it is, so a sliver at the window's edge gets no frames.
const onScreen = new Set<string>();
const visibility = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    const key = (entry.target as HTMLElement).dataset.key!;
    if (entry.isIntersecting && entry.intersectionRatio >= VISIBLE_SHARE) onScreen.add(key);
    else onScreen.delete(key);
  }
  sendView();
}, { threshold: [0, VISIBLE_SHARE, 0.5, 1] });
document.addEventListener('visibilitychange', sendView);
const pictureBoxes = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const tile = tiles.get((entry.target.closest('.tile') as HTMLElement).dataset.key!);
    const device = entry.devicePixelContentBoxSize?.[0];
    const css = entry.contentBoxSize[0];
    if (tile && css) tile.box = device ? { width: device.inlineSize, height: device.blockSize } : { width: css.inlineSize * devicePixelRatio, height: css.blockSize * devicePixelRatio };
  }
});
let socket: WebSocket | undefined;
let lastView = '';

function send(message: PageMessage): void {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function sendView(): void {
  // A hidden tab (another tab in front, a minimised window) draws nothing: it asks for nothing.
  const visible = document.hidden ? [] : [...onScreen].filter((key) => !tiles.get(key)?.root.hidden).sort();
  const message: PageMessage = { type: 'view', visible, focus: document.hidden ? undefined : enlarged, flow };
  const text = JSON.stringify(message);
  if (text === lastView || socket?.readyState !== WebSocket.OPEN) return;
  lastView = text;
  socket.send(text);
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

function renderCamera(camera: CameraSummary): void {
  const tile = tileFor(camera.key, camera.cameraId);
  tile.camera = camera;
  tile.root.dataset.status = camera.status;
  tile.badge.textContent = camera.status;
  tile.badge.className = `badge status ${camera.status}`;
  // Distinct from offline (the agent is gone) and from the grey "last frame N s ago" (what this page
  // drew): here the agent is connected and says its own camera has stopped giving frames.
  const stalled = camera.agent?.stalled === true;
  tile.stalledBadge.hidden = !stalled;
  tile.root.dataset.stalled = String(stalled);
  tile.root.classList.toggle('is-stalled', stalled);
  if (stalled) {
    const age = camera.agent?.lastFrameAgeS;
    tile.stalledBadge.title = `the agent is connected but its camera has given no frame for ${age === undefined ? 'a while' : `${Math.round(age)} s`}`;
  }
  const lost = lossCount(camera);
  if (lost > tile.lossSeen) tile.losingUntil = Date.now() + LOSS_BADGE_MS;
  tile.lossSeen = lost;
  // Remote control: offered when the camera listens on its set topic; only what its source can change.
  tile.controls.hidden = !camera.control;
  if (camera.control) {
    for (const input of Array.from(tile.controls.querySelectorAll<HTMLInputElement | HTMLSelectElement>('[name]'))) {
      input.disabled = !camera.control.adjustable.includes(input.name);
    }
  }
}

/** The overlay of every tile, from the last summary and what this page measured (twice a second). */
function renderOverlays(): void {
  const now = Date.now();
  for (const tile of tiles.values()) {
    if (tile.root.hidden) continue;
    const shown = pipeline.shown(tile.key);
    const facts = {
      camera: tile.camera,
      measures: pipeline.measures(tile.key, now),
      latencyMs: shown?.latencyMs ?? tile.camera?.latencyMs,
      thumbnailFps: tile.key === enlarged ? undefined : thumbnailFps,
      // The frame's own size (the canvas may hold it decoded smaller for a small tile).
      size: tile.camera?.width && tile.camera.height ? { width: tile.camera.width, height: tile.camera.height } : shown ? { width: tile.canvas.width, height: tile.canvas.height } : undefined,
      losing: now < tile.losingUntil,
    };
    const line = overlayLine(facts);
    if (line !== tile.lastLine) { tile.line.innerHTML = line; tile.lastLine = line; }
    const table = overlayTable(facts);
    if (table !== tile.lastTable) { tile.stats.innerHTML = table; tile.lastTable = table; }
  }
  document.body.dataset.overlayUpdates = String(Number(document.body.dataset.overlayUpdates ?? 0) + 1);
}

function renderViewer(state: ViewerSummary): void {
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
  if (!state.connected) {
    const problem = state.brokerProblem;
    alerts.push(`The viewer is not connected to the MQTT broker; it keeps retrying.${problem ? ` ${problem.hint ?? ''} (${problem.error})` : ''}`);
  }
  if (rec.lastError) alerts.push(rec.lastError);
  if (state.saved?.lastError) alerts.push(`Saving frames failed: ${state.saved.lastError}`);
  const box = document.getElementById('alerts')!;
  const text = alerts.join('\n');
  if (box.textContent !== text) box.innerText = text;
}

let summaries = 0;
function renderSummary(cameras: CameraSummary[], state: ViewerSummary): void {
  for (const camera of cameras) {
    renderCamera(camera);
    const tile = tiles.get(camera.key);
    if (tile) renderMotion(tile.root, camera.key, camera.motion);
  }
  renderViewer(state);
  document.getElementById('summary')!.textContent = `${cameras.length} camera${cameras.length === 1 ? '' : 's'}`;
  document.body.dataset.summaries = String(++summaries);
  markStale();
}

/** How often tiles are judged at least (a live tile is also judged the moment its frame becomes too old). */
const JUDGE_EVERY_MS = 250;
let judgeTimer: number | undefined;
/** When markStale is next due (its timer's time). */
let judgeAt = 0;
/** A tile not judged live has drawn a new frame since the last judging. */
let regained = false;

/** Greys every tile whose picture is old: nothing new drawn for a while, or the frame shown is late. */
function markStale(): void {
  const now = Date.now();
  let next = now + JUDGE_EVERY_MS;
  regained = false;
  for (const tile of tiles.values()) {
    const facts = tileFacts(tile, now);
    const health = tileHealth(facts);
    if (health.state === 'live') next = Math.min(next, (liveUntil(facts) ?? Infinity) + 1);
    // An off-screen tile gets no frames: its picture is old, and nobody sees it.
    const judged = health.state === 'behind' && !onScreen.has(tile.key) ? { state: 'live' as const } : health;
    const stale = judged.state !== 'live';
    // A live tile's label is set in advance (its facts may have changed since its last frame); a stale one has its class.
    if (stale) tile.staleLook.clear();
    else scheduleStaleLook(tile, facts);
    tile.root.classList.toggle('is-stale', stale);
    tile.root.dataset.stale = String(stale);
    tile.root.dataset.health = judged.state;
    if (judged.state !== 'live' && tile.stale.textContent !== judged.text) tile.stale.textContent = judged.text;
  }
  clearTimeout(judgeTimer);
  judgeAt = next;
  judgeTimer = window.setTimeout(markStale, Math.max(0, next - Date.now()));
}

/** What tile-health.ts judges a tile by, at `nowMs`. */
function tileFacts(tile: Tile, nowMs: number): TileFacts {
  const shown = pipeline.shown(tile.key);
  return {
    nowMs,
    drawnAtMs: shown?.drawnAtMs,
    capturedAtMs: shown === undefined ? undefined : shown.meta.capturedAtUs / 1000,
    latencyMinMs: pipeline.latencyMinMs(tile.key, nowMs) ?? shown?.latencyMs,
    expectedFps: tile.camera?.expectedFps,
    thumbnailFps: tile.key === enlarged ? undefined : thumbnailFps,
    offline: tile.camera?.status === 'offline',
  };
}

/**
 * Shows a live tile's stale label, set in advance, from the moment its picture would stop being live if nothing
 * new is drawn (stale-look.ts), with the words the judging would then give it; as markStale, not for a late
 * picture off screen.
 */
function scheduleStaleLook(tile: Tile, facts: TileFacts): void {
  const until = liveUntil(facts);
  const then = until === undefined ? undefined : tileHealth({ ...facts, nowMs: until + 1 });
  if (until === undefined || then === undefined || then.state === 'live' || (then.state === 'behind' && !onScreen.has(tile.key))) {
    tile.staleLook.clear();
    return;
  }
  tile.staleLook.schedule(until + 1, then.text);
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
  const shown = pipeline.shown(tile.key);
  if (!shown) { notice(`${tile.cameraId}: no picture yet`, true); return; }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const url = URL.createObjectURL(new Blob([shown.jpeg], { type: 'image/jpeg' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = `${tile.cameraId}_${stamp}_${shown.meta.seq}.jpg`;
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
    document.body.classList.toggle('full-stats');
  } else if (key === 'escape' && enlarged !== undefined) {
    enlarged = undefined;
    layout();
  }
});

function connect(): void {
  const link = document.getElementById('link')!;
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => {
    link.textContent = 'connected';
    link.className = 'badge connected';
    socket = ws;
    lastView = '';
    sendView();
  };
  ws.onclose = () => {
    link.textContent = 'disconnected — retrying';
    link.className = 'badge disconnected';
    if (socket === ws) socket = undefined;
    pipeline.reset();
    setTimeout(connect, 1000);
  };
  ws.onmessage = (event: MessageEvent) => {
    if (typeof event.data !== 'string') { pipeline.receive(event.data as ArrayBuffer); return; }
    const message = JSON.parse(event.data) as ServerMessage;
    if (message.type === 'cameras') renderSummary(message.cameras, message.viewer);
    else if (message.type === 'feed') {
      thumbnailFps = message.thumbnailFps ?? undefined;
      // Frames after this message were sent under the flow it names; only those are acknowledged.
      pipeline.acknowledging = message.flow === 'ack';
    }
  };
}

markStale();
setInterval(renderOverlays, 500);
connect();
export {};
