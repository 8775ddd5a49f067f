import { parseInfo } from '../../protocol/messages.js';
import { retainedCleared, type MessageHandler } from './handler.js';

/** `info` (retained): what the stream is. */
export const handleInfo: MessageHandler = (ctx, topic, payload) => {
  if (retainedCleared(ctx, topic, payload, (camera) => { camera.info = undefined; })) return;
  const info = parseInfo(payload);
  if (!info) { ctx.malformed.info++; return; }
  const camera = ctx.admit(topic, 'quiet');
  if (!camera) return;
  if (!camera.info) ctx.logger.info('camera found', { camera: camera.key, size: `${info.width}x${info.height}`, source: info.source });
  camera.info = info;
};
