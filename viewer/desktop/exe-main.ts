// picam-viewer.exe's entry point (bundled into one script, see scripts/release/win-x64.ts). Without options it
// is the desktop viewer (settings file and form); with options it is picam-viewer, the page opened by default.
import { runCli } from '../../common/cli-runner.js';
import { createLogger } from '../../common/logger.js';
import { parseViewerCommandLine, startViewer, viewerLogger } from '../program.js';
import { defaultSettingsFile, SettingsStore } from '../settings/settings-store.js';
import { DesktopApp, exeOptions } from './desktop-app.js';

const argv = process.argv.slice(2);

/**
 * A double-clicked exe's console closes the moment the process ends: whatever went wrong at start would be gone
 * before anyone read it. So a failed start waits for Enter when there is someone at the console.
 */
async function holdConsoleOnFailure(): Promise<void> {
  if (argv.length > 0 || !process.exitCode || !process.stdin.isTTY) return;
  process.stderr.write('picam-viewer could not start (see above). Press Enter to close this window.\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.pause();
}

void runCli('picam-viewer', async () => {
  if (argv.length === 0 && !process.env.PICAM_VIEWER_CONFIG) {
    const file = defaultSettingsFile();
    const logger = createLogger({ level: exeOptions.logLevel.default, component: 'desktop' });
    const app = new DesktopApp(new SettingsStore(file, logger.child('settings')), process.env, logger);
    await app.start();
    process.stdout.write(`picam-viewer: the page is at ${app.url} (settings in ${file}); close this window to stop\n`);
    return app;
  }
  const start = parseViewerCommandLine(exeOptions, argv, process.env);
  if (!start) return undefined;
  const config = start.parsed.values;
  const viewer = await startViewer({ config, logger: viewerLogger(config), password: start.password, tls: start.tls });
  process.stdout.write(`picam-viewer: open ${viewer.url}\n`);
  return viewer;
}).then(holdConsoleOnFailure);
