import type { IClientPublishOptions } from 'mqtt';
import type { Logger } from '../common/logger.js';

/**
 * A retained `set` request would take over every agent start (and every reconnect) long after whoever sent
 * it has gone, so it is never applied. The broker is asked to clear it, which the documented ACL does not
 * let a camera do (only the operator writes `set`): the log then says how to clear it by hand.
 */
export async function ignoreRetainedControl(link: { publish(topic: string, payload: Buffer, options: IClientPublishOptions): Promise<void> }, topic: string, bytes: number, logger: Logger): Promise<void> {
  const cleared = await link.publish(topic, Buffer.alloc(0), { qos: 1, retain: true }).then(() => true, () => false);
  logger.warn(cleared ? 'ignored a retained control request and asked the broker to clear it' : 'ignored a retained control request; the broker did not let this account clear it', {
    topic,
    bytes,
    hint: `control requests must not be retained; to clear one by hand, with an account that may write the topic: mosquitto_pub -t ${topic} -r -n`,
  });
}
