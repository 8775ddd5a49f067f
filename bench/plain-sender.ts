import mqtt from 'mqtt';
import { createSource } from '../agent/capture/registry.js';
import { agentOptions, captureSettings } from '../agent/config.js';
import { silentLogger } from '../common/logger.js';
import { parseOptions } from '../common/options.js';

/**
 * The plain approach `npm run bench:link` compares against: what a tutorial does with a camera on MQTT.
 * Every frame is published whole, as one QoS 0 message, the moment the camera gives it, with MQTT.js
 * defaults. The frames come from the agent's own capture code with the agent's flags, so both approaches
 * send the same pictures. The capture time rides in the topic (`<prefix>/<capturedAtUs>`), for the
 * benchmark's latency figures only.
 *
 * Usage: node plain-sender.js BROKER_URL TOPIC_PREFIX -- AGENT_FLAGS...
 */

async function main(): Promise<void> {
  const [brokerUrl, prefix, separator, ...agentArgs] = process.argv.slice(2);
  if (!brokerUrl || !prefix || separator !== '--') throw new Error('usage: plain-sender.js BROKER_URL TOPIC_PREFIX -- AGENT_FLAGS...');
  const config = parseOptions(agentOptions, { argv: agentArgs, env: {}, envPrefix: 'PICAM_BENCH_PLAIN_' }).values;
  const client = await mqtt.connectAsync(brokerUrl, { clientId: `plain-${process.pid}`, reconnectPeriod: 0 });
  const source = createSource(config.source, captureSettings(config), silentLogger);
  await source.start({
    frame: (frame) => { client.publish(`${prefix}/${frame.capturedAtUs}`, frame.data, { qos: 0 }); },
    fatal: (error) => { process.stderr.write(`plain sender: ${error.message}\n`); process.exit(1); },
  });
  // Never outlive the benchmark: a parent killed outright cannot stop its children.
  const parent = process.ppid;
  setInterval(() => { if (process.ppid !== parent) process.exit(1); }, 1000).unref();
  process.once('SIGTERM', () => {
    void source.stop().then(() => {
      client.end(true);
      process.exit(0);
    });
  });
}

main().catch((error: Error) => {
  process.stderr.write(`plain sender failed: ${error.message}\n`);
  process.exit(1);
});
