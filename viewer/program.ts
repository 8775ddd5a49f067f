import { startBrokerClient, type BrokerClientStart } from '../common/cli-runner.js';
import { createLogger, type Logger } from '../common/logger.js';
import { ConfigError, type HelpPage } from '../common/options.js';
import { VIEWER_ENV_PREFIX, VIEWER_EXAMPLES, type ViewerConfig, type viewerOptions } from './config.js';
import { SaveError } from './frame-saver.js';
import { allowHeapGrowthForFrames } from './heap-growth.js';
import { RecordingError } from './recorder.js';
import type { Viewer, ViewerDeps } from './viewer.js';

export const HELP: HelpPage = {
  title: 'picam-viewer — shows picam-mqtt cameras live in a local web page (http://127.0.0.1:8080 unless --listen)',
  examples: VIEWER_EXAMPLES,
  usage: 'Usage: picam-viewer [--config FILE] [options]',
  footer: `In the page: click a picture to enlarge it, S snapshot (downloads the JPEG; also saved in --media-dir or --save-dir),
R start/stop recording, I show/hide the stats, Esc back to the grid.
Recordings are raw MJPEG (.mjpeg, plays in VLC or \`ffplay -f mjpeg -framerate 15 FILE\`) with a .csv index
of each frame's capture time and byte range; a full disk or unwritable folder stops recording with an error.
Exit codes: 0 stopped cleanly, 1 runtime failure, 2 configuration error.
The password comes from PICAM_VIEWER_PASSWORD, the config file key "password", or passwordFile; never a flag.`,
};

/** Parses the command line (flags, environment, config file); undefined when it only asked for --help or --version. */
export function parseViewerCommandLine(table: typeof viewerOptions, argv: readonly string[], env: NodeJS.ProcessEnv): BrokerClientStart<typeof viewerOptions> | undefined {
  return startBrokerClient({ program: 'picam-viewer', table, envPrefix: VIEWER_ENV_PREFIX, help: HELP }, argv, env);
}

/** Builds and starts a Viewer; a start-up failure the person can fix is a ConfigError naming the option. */
export async function startViewer(deps: ViewerDeps): Promise<Viewer> {
  const config = deps.config;
  // Loaded once the command line is known to be good: a configuration error or --help need not wait for MQTT.js and ws.
  const { Viewer } = await import('./viewer.js');
  allowHeapGrowthForFrames();
  const viewer = new Viewer(deps);
  try {
    await viewer.start();
  } catch (error) {
    await viewer.stop();
    throw startProblem(error, config);
  }
  return viewer;
}

export function viewerLogger(config: ViewerConfig): Logger {
  return createLogger({ level: config.logLevel, component: 'viewer' });
}

function startProblem(error: unknown, config: ViewerConfig): unknown {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') return new ConfigError([`--listen ${config.listen}: that port is in use; pick another, e.g. --listen 127.0.0.1:8081`]);
  if (error instanceof SaveError) {
    const flag = config.mediaDir !== undefined && error.file === config.mediaDir ? `--media-dir ${config.mediaDir}` : `--save-dir ${config.saveDir}`;
    return new ConfigError([`${flag}: ${error.message}; pick a folder you can write to`]);
  }
  if (error instanceof RecordingError) {
    const flag = error.dir === config.recordOnMotion ? '--record-on-motion' : '--record';
    return new ConfigError([`${flag} ${error.dir}: ${error.message}; pick a folder you can write to`]);
  }
  return error;
}
