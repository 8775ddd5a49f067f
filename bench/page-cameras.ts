import { Agent } from '../agent/agent.js';
import { createSource, type CaptureSettings } from '../agent/capture/registry.js';
import { agentOptions, captureSettings } from '../agent/config.js';
import { silentLogger } from '../common/logger.js';
import { parseOptions } from '../common/options.js';

// Child of `npm run bench:page`: N picam agents in one process, each replaying the same folder of camera
// JPEGs (bytes untouched) at a fixed rate, adaptive quality off so every case sends the same stream.
// Usage: page-cameras.js BROKER PREFIX COUNT FPS DIR. Prints "ready" once all publish; stops on SIGTERM or
// when its parent goes.

const [broker, prefix, count, fps, dir] = process.argv.slice(2);
if (!broker || !prefix || !count || !fps || !dir) {
  process.stderr.write('usage: page-cameras.js BROKER PREFIX COUNT FPS DIR\n');
  process.exit(2);
}

const agents: Agent[] = [];
for (let i = 0; i < Number(count); i++) {
  const argv = ['--broker', broker, '--prefix', prefix, '--camera-id', `cam${String(i).padStart(2, '0')}`, '--source', `file:${dir}`, '--fps', fps, '--no-adaptive', '--stats-interval', '1'];
  const config = parseOptions(agentOptions, { argv, env: {}, envPrefix: 'PICAM_BENCH_CAMERA_' }).values;
  const build = (settings: CaptureSettings) => createSource(`file:${dir}`, settings, silentLogger);
  agents.push(new Agent({ config, source: build(captureSettings(config)), recreateSource: build, logger: silentLogger, version: 'bench' }));
}

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled(agents.map((a) => a.stop()));
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// The parent holds our stdin: when it goes (even killed), so do we.
process.stdin.on('end', () => void stop());
process.stdin.resume();

await Promise.all(agents.map((a) => a.start()));
process.stdout.write('ready\n');
