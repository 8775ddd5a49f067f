#!/usr/bin/env node
import { runCli, startBrokerClient } from '../common/cli-runner.js';
import { createLogger } from '../common/logger.js';
import { ConfigError, type HelpPage } from '../common/options.js';
import { UnknownSource, UnsupportedSetting } from './capture/capture-errors.js';
import { packageVersion } from '../common/version.js';
import type { CaptureSettings } from './capture/registry.js';
import { AGENT_ENV_PREFIX, AGENT_EXAMPLES, agentOptions, captureSettings, exactSettings } from './config.js';

const HELP: HelpPage = {
  title: 'picam-agent — captures camera frames and publishes them over MQTT (picam-mqtt protocol v1)',
  examples: AGENT_EXAMPLES,
  usage: 'Usage: picam-agent [--config FILE] [options]',
  footer: `Exit codes: 0 stopped cleanly, 1 runtime failure, 2 configuration error.
Secrets: the password comes from PICAM_PASSWORD, the config file key "password", or passwordFile; never a flag.`,
};

await runCli('picam-agent', async () => {
  const start = startBrokerClient({ program: 'picam-agent', table: agentOptions, envPrefix: AGENT_ENV_PREFIX, help: HELP }, process.argv.slice(2), process.env);
  if (!start) return undefined;
  const { parsed, password, tls } = start;
  // Loaded once the command line is known to be good: sharp and MQTT.js take a quarter of a second, which a
  // configuration error or --help need not wait for.
  const [{ Agent }, { createSource }, { SystemdNotifier }] = await Promise.all([import('./agent.js'), import('./capture/registry.js'), import('./systemd-notifier.js')]);
  const config = parsed.values;
  const logger = createLogger({ level: config.logLevel, component: 'agent' });
  const build = (settings: CaptureSettings) => createSource(config.source, settings, logger.child('capture'));
  let source;
  try {
    source = build(captureSettings(config));
  } catch (error) {
    if (error instanceof UnsupportedSetting) throw new ConfigError([`--${error.field}: ${error.problem}`]);
    if (error instanceof UnknownSource) throw new ConfigError([`--source: ${error.message}`]);
    throw new ConfigError([`--source ${config.source}: ${(error as Error).message}`]);
  }
  // Under systemd (Type=notify) this reports READY/STATUS/STOPPING and feeds the watchdog; elsewhere a no-op.
  const lifecycle = new SystemdNotifier({ logger: logger.child('systemd') });
  lifecycle.start();
  const agent = new Agent({ config, source, recreateSource: build, logger, version: packageVersion(), password, tls, lifecycle, exact: exactSettings(parsed.origin) });
  try {
    await agent.start();
  } catch (error) {
    // The notifier's watchdog timer would otherwise keep the process alive after a failed start.
    await agent.stop().catch(() => undefined);
    throw error;
  }
  return agent;
});
