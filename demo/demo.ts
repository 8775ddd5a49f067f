import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';

// `npm run demo`: the whole product on one machine. Uses the Mosquitto on 127.0.0.1:1883 when one is
// listening, else starts an embedded broker (aedes) there; then three synthetic cameras that show what the
// agent can do (an overlay, a rotation, a low frame rate) and the viewer, which opens the page in a browser
// when there is a desktop to show it on. The console says what to try.
// PICAM_DEMO_BROKER_PORT and PICAM_VIEWER_LISTEN move it off 1883 and 8080 (the test of the demo does).

const HERE = path.dirname(fileURLToPath(import.meta.url));
const AGENT = path.join(HERE, '../agent/cli.js');
const VIEWER = path.join(HERE, '../viewer/cli.js');
const BROKER_PORT = Number(process.env.PICAM_DEMO_BROKER_PORT ?? 1883);
const LISTEN = process.env.PICAM_VIEWER_LISTEN ?? '127.0.0.1:8080';

/** The demo's cameras: each shows one thing the agent does, and the console names it. */
const CAMERAS: ReadonlyArray<{ id: string; shows: string; args: string[] }> = [
  { id: 'front-door', shows: 'the name, date and time drawn on every frame (--overlay)', args: ['--fps', '15', '--overlay', '{id} {date} {time}', '--overlay-position', 'top-left'] },
  { id: 'side-gate', shows: 'a camera mounted sideways, turned upright (--rotation 90)', args: ['--fps', '15', '--rotation', '90'] },
  { id: 'garden', shows: 'a slow camera, two frames a second (--fps 2)', args: ['--fps', '2'] },
];

/** A desktop to open a browser on: always on Windows and macOS; on Linux only with a display server. */
function desktopPresent(env: NodeJS.ProcessEnv = process.env): boolean {
  if (process.platform === 'win32' || process.platform === 'darwin') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

async function startEmbeddedBroker(): Promise<() => Promise<void>> {
  const { Aedes } = await import('aedes');
  const aedes = await Aedes.createBroker();
  const server = net.createServer((socket) => aedes.handle(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(BROKER_PORT, '127.0.0.1', () => resolve());
  });
  return async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
  };
}

function run(script: string, args: string[], name: string): ChildProcess {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'inherit', 'pipe'] });
  child.stderr!.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line) process.stderr.write(`[${name}] ${line}\n`);
  });
  return child;
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

const external = await isListening(BROKER_PORT);
let stopBroker: () => Promise<void> = async () => {};
if (external) {
  console.log(`demo: using the MQTT broker already listening on 127.0.0.1:${BROKER_PORT}`);
} else {
  stopBroker = await startEmbeddedBroker();
  console.log(`demo: no broker on 127.0.0.1:${BROKER_PORT}; started an embedded one (aedes, MQTT 3.1.1)`);
}
const broker = `mqtt://127.0.0.1:${BROKER_PORT}`;
// aedes speaks MQTT 3.1.1 only; a real Mosquitto gets MQTT 5.
const version = external ? '5' : '4';
const open = desktopPresent();
const viewer = run(VIEWER, ['--broker', broker, '--listen', LISTEN, '--mqtt-version', version, ...(open ? ['--open'] : [])], 'viewer');
const agents = CAMERAS.map((camera) =>
  run(AGENT, ['--broker', broker, '--camera-id', camera.id, '--source', 'synthetic', '--mqtt-version', version, '--log-level', 'warn', ...camera.args], camera.id));

const page = `http://${LISTEN}`;
console.log(`demo: ${open ? 'opening' : 'open'} ${page} in a browser (Ctrl-C stops everything)
demo: three cameras:
${CAMERAS.map((c) => `  ${c.id.padEnd(11)} ${c.shows}`).join('\n')}
demo: things to try:
  - click a picture to enlarge it; click again or press Esc to go back
  - Snapshot (or S) downloads the picture on screen as a JPEG
  - Record (or R) records every camera to MJPEG; the viewer needs --record DIR or --save-dir DIR for it
    (run it yourself: npx picam-viewer --broker ${broker} --record ./recordings)
  - the control panel under a camera: set its fps, quality, size or rotation and Apply
  - I hides the stats on the pictures
  - watch the wire: mosquitto_sub -h 127.0.0.1 -p ${BROKER_PORT} -t 'picam/#' -v
    (retained status and info, stats every 5 s, binary chunks on picam/<id>/frame)
  - ask a camera for a change: mosquitto_pub -h 127.0.0.1 -p ${BROKER_PORT} -t picam/garden/set -m '{"id":"1","fps":5}'
    and read the answer: mosquitto_sub -h 127.0.0.1 -p ${BROKER_PORT} -t picam/garden/result`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('demo: stopping');
  for (const agent of agents) agent.kill('SIGTERM');
  await Promise.all(agents.map(exited));
  viewer.kill('SIGTERM');
  await exited(viewer);
  await stopBroker();
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
for (const child of [...agents, viewer]) {
  child.once('exit', (code) => {
    if (!stopping) {
      console.error(`demo: a part exited unexpectedly (code ${code}); stopping the rest`);
      process.exitCode = 1;
      void stop();
    }
  });
}
