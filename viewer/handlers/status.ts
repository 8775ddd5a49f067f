import { parseStatus } from '../../protocol/messages.js';
import type { MessageHandler } from './handler.js';

/** `status` (retained `online`/`offline`): an empty payload is a cleared retained message, so the status is unknown. */
export const handleStatus: MessageHandler = (ctx, topic, payload) => {
  if (payload.length === 0) {
    const camera = ctx.registry.find(topic.base);
    if (camera) camera.status = undefined;
    return;
  }
  const status = parseStatus(payload);
  if (!status) { ctx.malformed.status++; return; }
  const camera = ctx.admit(topic, status === 'online' ? 'online' : 'quiet');
  if (!camera) return;
  if (status !== camera.status) ctx.logger.info(`camera ${status}`, { camera: camera.key });
  camera.status = status;
};
