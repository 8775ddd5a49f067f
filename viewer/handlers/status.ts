import { parseStatus } from '../../protocol/messages.js';
import { retainedCleared, type MessageHandler } from './handler.js';

/** `status` (retained `online`/`offline`). */
export const handleStatus: MessageHandler = (ctx, topic, payload) => {
  if (retainedCleared(ctx, topic, payload, (camera) => { camera.status = undefined; })) return;
  const status = parseStatus(payload);
  if (!status) { ctx.malformed.status++; return; }
  const camera = ctx.admit(topic, status === 'online' ? 'online' : 'quiet');
  if (!camera) return;
  if (status !== camera.status) ctx.logger.info(`camera ${status}`, { camera: camera.key });
  camera.status = status;
};
