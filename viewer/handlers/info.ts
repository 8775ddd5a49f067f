import { parseInfo } from '../../protocol/messages.js';
import type { MessageHandler } from './handler.js';

/** `info` (retained): an empty payload is a cleared retained message, so what the stream is, is unknown now. */
export const handleInfo: MessageHandler = (ctx, topic, payload) => {
  if (payload.length === 0) {
    const camera = ctx.registry.find(topic.base);
    if (camera) camera.info = undefined;
    return;
  }
  const info = parseInfo(payload);
  if (!info) { ctx.malformed.info++; return; }
  const camera = ctx.admit(topic, 'quiet');
  if (!camera) return;
  if (!camera.info) ctx.logger.info('camera found', { camera: camera.key, size: `${info.width}x${info.height}`, source: info.source });
  camera.info = info;
};
