import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { Agent } from '../../agent/agent.js';
import { startAgentInProcess } from '../helpers/agent-harness.js';
import { startMosquitto, type RunningBroker } from '../../harness/mosquitto.js';
import { retainedMessages } from '../helpers/mqtt-peek.js';
import { waitFor } from '../helpers/processes.js';
import { TopicMonitor } from '../helpers/stats-monitor.js';

// Home Assistant MQTT discovery, checked against the fields HA documents for each platform
// (https://www.home-assistant.io/integrations/camera.mqtt/, binary_sensor.mqtt/, sensor.mqtt/ and the
// discovery section of https://www.home-assistant.io/integrations/mqtt/). Full key names only.

const COMMON = ['name', 'unique_id', 'device', 'availability_topic', 'payload_available', 'payload_not_available', 'availability', 'availability_mode', 'enabled_by_default', 'entity_category', 'icon', 'json_attributes_topic', 'json_attributes_template', 'object_id', 'qos', 'encoding', 'default_entity_id'];
const DOCUMENTED: Record<string, { required: string[]; allowed: string[] }> = {
  camera: { required: ['topic'], allowed: [...COMMON, 'topic', 'image_encoding'] },
  binary_sensor: { required: ['state_topic'], allowed: [...COMMON, 'state_topic', 'payload_on', 'payload_off', 'device_class', 'value_template', 'expire_after', 'force_update', 'off_delay'] },
  sensor: { required: ['state_topic'], allowed: [...COMMON, 'state_topic', 'value_template', 'unit_of_measurement', 'state_class', 'device_class', 'expire_after', 'force_update', 'last_reset_value_template', 'suggested_display_precision', 'options'] },
};
const DEVICE_FIELDS = ['identifiers', 'connections', 'name', 'manufacturer', 'model', 'model_id', 'sw_version', 'hw_version', 'serial_number', 'configuration_url', 'suggested_area', 'via_device'];

let broker: RunningBroker;
let agent: Agent;
before(async () => {
  broker = await startMosquitto();
  agent = await startAgentInProcess(broker.url, ['--camera-id', 'porch', '--source', 'synthetic', '--homeassistant', '--motion', '--ha-snapshot-interval', '1', '--fps', '5', '--width', '320', '--height', '240'], { version: '9.9.9' });
  // The discovery documents go out on connect, then the first snapshot, on the same connection: once the
  // snapshot is retained, so are they.
  await waitFor(async () => (await retainedMessages(broker.url, 'picam/porch/snapshot')).length > 0, 10_000, 'the first snapshot retained');
});
after(async () => { await agent.stop(); await broker.stop(); });

test('discovery documents follow Home Assistant\'s documented schema', async () => {
  const messages = await retainedMessages(broker.url, 'homeassistant/#');
  const byComponent = new Map<string, Record<string, unknown>[]>();
  for (const m of messages) {
    const match = /^homeassistant\/(camera|binary_sensor|sensor)\/picam_porch\/([a-z_]+)\/config$/.exec(m.topic);
    assert.ok(match, `discovery topic ${m.topic} has the form <prefix>/<component>/<node_id>/<object_id>/config`);
    const list = byComponent.get(match[1]!) ?? [];
    list.push(JSON.parse(m.payload.toString()) as Record<string, unknown>);
    byComponent.set(match[1]!, list);
  }
  assert.deepEqual([...byComponent.keys()].sort(), ['binary_sensor', 'camera', 'sensor']);
  const uniqueIds = new Set<unknown>();
  for (const [component, payloads] of byComponent) {
    for (const payload of payloads) {
      const schema = DOCUMENTED[component]!;
      for (const key of schema.required) assert.ok(key in payload, `${component} needs ${key}`);
      for (const key of Object.keys(payload)) assert.ok(schema.allowed.includes(key), `${component}: "${key}" is not a documented field`);
      const device = payload.device as Record<string, unknown>;
      assert.ok(Array.isArray(device.identifiers) && device.identifiers.length > 0, 'device.identifiers is a list');
      for (const key of Object.keys(device)) assert.ok(DEVICE_FIELDS.includes(key), `device."${key}" is not documented`);
      assert.equal(device.sw_version, '9.9.9');
      assert.ok(typeof payload.unique_id === 'string' && !uniqueIds.has(payload.unique_id));
      uniqueIds.add(payload.unique_id);
    }
  }
  const camera = byComponent.get('camera')![0]!;
  assert.equal(camera.topic, 'picam/porch/snapshot');
  assert.equal(camera.availability_topic, 'picam/porch/status');
  const motion = byComponent.get('binary_sensor')!.find((p) => p.unique_id === 'picam_porch_motion')!;
  assert.equal(motion.state_topic, 'picam/porch/motion');
  assert.equal(motion.device_class, 'motion');
  assert.equal(motion.payload_on, 'ON');
  assert.equal(motion.availability_topic, 'picam/porch/status');
  const online = byComponent.get('binary_sensor')!.find((p) => p.unique_id === 'picam_porch_online')!;
  assert.equal(online.state_topic, 'picam/porch/status');
  assert.equal(online.payload_on, 'online');
  assert.equal(online.device_class, 'connectivity');
  const fps = byComponent.get('sensor')!.find((p) => p.unique_id === 'picam_porch_fps')!;
  assert.equal(fps.state_topic, 'picam/porch/stats');
  assert.equal(fps.value_template, '{{ value_json.fps }}');
});

test('the camera topic Home Assistant reads gets whole JPEG snapshots at the interval', async () => {
  const monitor = new TopicMonitor(broker.url, ['picam/porch/snapshot']);
  await monitor.start();
  const startedAt = Date.now();
  // The retained one, then a fresh one within the interval (1 s; 3 s allowed for a busy machine).
  const messages = await waitFor(() => (monitor.seen.length >= 2 ? [...monitor.seen] : undefined), 3000, 'a fresh snapshot after the retained one').finally(() => monitor.stop());
  assert.ok(messages[0]!.retain, 'the first one is the retained snapshot');
  assert.equal(messages[1]!.retain, false, 'then a fresh one');
  console.log(`# Home Assistant snapshot: a fresh one ${messages[1]!.at - startedAt} ms after subscribing (interval 1 s)`);
  for (const m of messages) {
    const meta = await sharp(m.payload).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.width, 320);
  }
});
