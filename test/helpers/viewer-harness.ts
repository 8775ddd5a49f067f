import { silentLogger } from '../../common/logger.js';
import { parseOptions } from '../../common/options.js';
import { viewerOptions } from '../../viewer/config.js';
import { Viewer } from '../../viewer/viewer.js';
import { waitFor } from './processes.js';

/** A real Viewer in this process (page on a free port), connected to `broker`. */
export async function startViewerInProcess(broker: string, argv: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Viewer> {
  const config = parseOptions(viewerOptions, { argv: ['--broker', broker, '--listen', '127.0.0.1:0', ...argv], env, envPrefix: 'PICAM_TEST_VIEWER_' }).values;
  const viewer = new Viewer({ config, logger: silentLogger, password: config.password });
  await viewer.start();
  await waitFor(() => ((viewer.snapshot() as { viewer: { connected: boolean } }).viewer.connected ? true : undefined), 5000, 'viewer connected');
  return viewer;
}
