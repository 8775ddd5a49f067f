import { Agent } from '../../agent/agent.js';
import type { FrameSource } from '../../agent/capture/frame-source.js';
import { createSource, type CaptureSettings } from '../../agent/capture/registry.js';
import { agentOptions, captureSettings, type AgentConfig } from '../../agent/config.js';
import type { LifecycleReporter } from '../../agent/lifecycle.js';
import { silentLogger, type Logger } from '../../common/logger.js';
import { parseOptions } from '../../common/options.js';

export interface InProcessAgentOptions {
  logger?: Logger;
  lifecycle?: LifecycleReporter;
  version?: string;
  /** A source of the test's own making (e.g. one that stalls); by default the one --source names, rebuilt on new settings as the CLI does. */
  source?: FrameSource;
}

export interface InProcessAgent {
  agent: Agent;
  config: AgentConfig;
}

/**
 * A real Agent in this process, assembled as picam-agent's CLI assembles it, from command-line arguments
 * (`--broker` is prepended; the environment is not read). Size and quality stay requests to the camera, as
 * when the user leaves them unset. Not started: see startAgentInProcess.
 */
export function buildAgentInProcess(broker: string, argv: string[], options: InProcessAgentOptions = {}): InProcessAgent {
  const config = parseOptions(agentOptions, { argv: ['--broker', broker, ...argv], env: {}, envPrefix: 'PICAM_TEST_' }).values;
  const logger = options.logger ?? silentLogger;
  const build = (settings: CaptureSettings): FrameSource => createSource(config.source, settings, logger);
  const agent = options.source
    ? new Agent({ config, source: options.source, logger, version: options.version ?? 'test', lifecycle: options.lifecycle })
    : new Agent({ config, source: build(captureSettings(config)), recreateSource: build, logger, version: options.version ?? 'test', lifecycle: options.lifecycle });
  return { agent, config };
}

/** buildAgentInProcess, started; the caller stops it (Agent.stop is idempotent). */
export async function startAgentInProcess(broker: string, argv: string[], options: InProcessAgentOptions = {}): Promise<Agent> {
  const { agent } = buildAgentInProcess(broker, argv, options);
  try {
    await agent.start();
  } catch (error) {
    await agent.stop().catch(() => undefined);
    throw error;
  }
  return agent;
}
