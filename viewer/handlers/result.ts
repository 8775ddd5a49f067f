import { parseControlResult } from '../../protocol/control.js';
import type { MessageHandler } from './handler.js';

/** `result`: the answer to a control request. Only a camera asked something can answer: a result never makes a camera known. */
export const handleResult: MessageHandler = (ctx, topic, payload) => {
  const result = parseControlResult(payload);
  if (!result) { ctx.malformed.result++; return; }
  const camera = ctx.registry.find(topic.base);
  if (!camera) return;
  ctx.resultReceived(camera, result);
};
