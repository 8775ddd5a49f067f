import { cameraTopic } from '../../protocol/topics.js';
import type { AgentContext, Feature } from './feature.js';
import type { Snapshot } from './snapshot.js';

/**
 * Home Assistant (`--homeassistant`): retained MQTT discovery documents on every connect, and a whole JPEG on
 * the snapshot topic every `haSnapshotInterval` seconds (Home Assistant cannot reassemble chunks).
 */
export class HomeAssistant implements Feature {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: AgentContext, private readonly snapshot: Snapshot, private readonly motion: boolean) {}

  start(): void {
    this.timer ??= setInterval(() => void this.snapshot.request(), this.ctx.config.haSnapshotInterval * 1000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  onConnect(): void {
    const { config, camera, version, link } = this.ctx;
    const messages = discoveryMessages({ discoveryPrefix: config.haPrefix, prefix: config.prefix, cameraId: config.cameraId, source: camera.activeSource.kind, version, motion: this.motion });
    for (const m of messages) void link.publish(m.topic, Buffer.from(JSON.stringify(m.payload)), { qos: 1, retain: true }).catch(() => undefined);
    void this.snapshot.request();
  }
}

/**
 * Home Assistant MQTT discovery documents for one camera, following the documented schema
 * (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery):
 * `<discovery prefix>/<component>/<node_id>/<object_id>/config`, retained, JSON with full key names.
 *
 * - camera (https://www.home-assistant.io/integrations/camera.mqtt/): `topic` carries whole JPEG images;
 *   Home Assistant cannot reassemble our chunks, so the agent publishes a whole frame to `<base>/snapshot`.
 * - binary_sensor (https://www.home-assistant.io/integrations/binary_sensor.mqtt/), device class
 *   `connectivity`, on our retained `status` topic.
 * - binary_sensor, device class `motion`, on our retained `motion` topic (ON/OFF are its default payloads),
 *   with --motion only.
 * - sensor (https://www.home-assistant.io/integrations/sensor.mqtt/) for the frame rate and dropped frames,
 *   read from the `stats` JSON with a value template.
 */
export interface DiscoveryMessage {
  topic: string;
  payload: Record<string, unknown>;
}

export interface DiscoveryInput {
  discoveryPrefix: string;
  prefix: string;
  cameraId: string;
  source: string;
  version: string;
  /** The agent detects motion (--motion): a motion binary_sensor on the `motion` topic. */
  motion?: boolean;
}

export function discoveryMessages(input: DiscoveryInput): DiscoveryMessage[] {
  const { discoveryPrefix, prefix, cameraId } = input;
  const node = `picam_${cameraId.replace(/-/g, '_')}`;
  const status = cameraTopic(prefix, cameraId, 'status');
  const stats = cameraTopic(prefix, cameraId, 'stats');
  const device = {
    identifiers: [node],
    name: `picam ${cameraId}`,
    manufacturer: 'picam-mqtt',
    model: `picam-agent (${input.source})`,
    sw_version: input.version,
  };
  const availability = { availability_topic: status, payload_available: 'online', payload_not_available: 'offline' };
  const motion = input.motion
    ? [{
        topic: `${discoveryPrefix}/binary_sensor/${node}/motion/config`,
        payload: { name: 'Motion', unique_id: `${node}_motion`, state_topic: cameraTopic(prefix, cameraId, 'motion'), payload_on: 'ON', payload_off: 'OFF', device_class: 'motion', ...availability, device },
      }]
    : [];
  return [
    {
      topic: `${discoveryPrefix}/camera/${node}/camera/config`,
      payload: { name: 'Camera', unique_id: `${node}_camera`, topic: cameraTopic(prefix, cameraId, 'snapshot'), ...availability, device },
    },
    {
      topic: `${discoveryPrefix}/binary_sensor/${node}/online/config`,
      payload: { name: 'Online', unique_id: `${node}_online`, state_topic: status, payload_on: 'online', payload_off: 'offline', device_class: 'connectivity', device },
    },
    {
      topic: `${discoveryPrefix}/sensor/${node}/fps/config`,
      payload: { name: 'Frame rate', unique_id: `${node}_fps`, state_topic: stats, value_template: '{{ value_json.fps }}', unit_of_measurement: 'fps', state_class: 'measurement', ...availability, device },
    },
    {
      topic: `${discoveryPrefix}/sensor/${node}/dropped/config`,
      payload: { name: 'Frames dropped', unique_id: `${node}_dropped`, state_topic: stats, value_template: '{{ value_json.framesDropped }}', state_class: 'total_increasing', ...availability, device },
    },
    ...motion,
  ];
}
