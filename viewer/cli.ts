#!/usr/bin/env node
import { runCli, startBrokerClient } from '../common/cli-runner.js';
import { createLogger } from '../common/logger.js';
import { ConfigError, type HelpPage } from '../common/options.js';
import { VIEWER_ENV_PREFIX, VIEWER_EXAMPLES, viewerOptions } from './config.js';
import { SaveError } from './frame-saver.js';
import { RecordingError } from './recorder.js';
import { Viewer } from './viewer.js';

const HELP: HelpPage = {
  title: 'picam-viewer — shows picam-mqtt cameras live in a local web page (http://127.0.0.1:8080 unless --listen)',
  examples: VIEWER_EXAMPLES,
  usage: 'Usage: picam-viewer [--config FILE] [options]',
  footer: `In the page: click a picture to enlarge it, S snapshot (downloads the JPEG; also saved in --save-dir),
R start/stop recording, I show/hide the stats, Esc back to the grid.
Recordings are raw MJPEG (.mjpeg, plays in VLC or \`ffplay -f mjpeg -framerate 15 FILE\`) with a .csv index
of each frame's capture time and byte range; a full disk or unwritable folder stops recording with an error.
Exit codes: 0 stopped cleanly, 1 runtime failure, 2 configuration error.
The password comes from PICAM_VIEWER_PASSWORD, the config file key "password", or passwordFile; never a flag.`,
};

await runCli('picam-viewer', async () => {
  const start = startBrokerClient({ program: 'picam-viewer', table: viewerOptions, envPrefix: VIEWER_ENV_PREFIX, help: HELP }, process.argv.slice(2), process.env);
  if (!start) return undefined;
  const { password, tls } = start;
  const config = start.parsed.values;
  const logger = createLogger({ level: config.logLevel, component: 'viewer' });
  const viewer = new Viewer({ config, logger, password, tls });
  try {
    await viewer.start();
  } catch (error) {
    await viewer.stop();
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new ConfigError([`--listen ${config.listen}: that port is in use; pick another, e.g. --listen 127.0.0.1:8081`]);
    if (error instanceof SaveError) throw new ConfigError([`--save-dir ${config.saveDir}: ${error.message}; pick a folder you can write to`]);
    if (error instanceof RecordingError) throw new ConfigError([`--record ${config.record}: ${error.message}; pick a folder you can write to`]);
    throw error;
  }
  process.stdout.write(`picam-viewer: open ${viewer.url}\n`);
  return viewer;
});
