#!/usr/bin/env node
import { runCli } from '../common/cli-runner.js';
import { viewerOptions } from './config.js';
import { parseViewerCommandLine, startViewer, viewerLogger } from './program.js';

await runCli('picam-viewer', async () => {
  const start = parseViewerCommandLine(viewerOptions, process.argv.slice(2), process.env);
  if (!start) return undefined;
  const config = start.parsed.values;
  const viewer = await startViewer({ config, logger: viewerLogger(config), password: start.password, tls: start.tls });
  process.stdout.write(`picam-viewer: open ${viewer.url}\n`);
  return viewer;
});
