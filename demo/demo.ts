import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';

// `npm run demo`: the whole product on one machine. Uses the Mosquitto on 127.0.0.1:1883 when one is
// listening, else starts an embedded broker (aedes) there; then a synthetic camera and the viewer.

const HERE = path.dirname(fileURLToPath(import.meta.url));
const AGENT = path.join(HERE, '../agent/cli.js');
const VIEWER = path.join(HERE, '../viewer/cli.js');
const BROKER_PORT = 1883;
const LISTEN = process.env.PICAM_VIEWER_LISTEN ?? '127.0.0.1:8080';

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
const viewer = run(VIEWER, ['--broker', broker, '--listen', LISTEN, '--mqtt-version', version], 'viewer');
const agent = run(AGENT, ['--broker', broker, '--camera-id', 'demo', '--source', 'synthetic', '--fps', '15', '--mqtt-version', version], 'agent');
console.log(`demo: open http://${LISTEN} in a browser (Ctrl-C stops everything)`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('demo: stopping');
  agent.kill('SIGTERM');
  await exited(agent);
  viewer.kill('SIGTERM');
  await exited(viewer);
  await stopBroker();
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
for (const child of [agent, viewer]) {
  child.once('exit', (code) => {
    if (!stopping) {
      console.error(`demo: a part exited unexpectedly (code ${code}); stopping the rest`);
      process.exitCode = 1;
      void stop();
    }
  });
}
