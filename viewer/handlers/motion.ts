import { parseMotionEvent, parseMotionState } from '../../protocol/motion.js';
import { retainedCleared, type MessageHandler } from './handler.js';

/** `motion`: the retained ON/OFF of a camera that detects motion; an empty payload clears it (unknown). */
export const handleMotion: MessageHandler = (ctx, topic, payload) => {
  if (retainedCleared(ctx, topic, payload, (camera) => { camera.motion = undefined; })) return;
  const state = parseMotionState(payload);
  if (!state) { ctx.malformed.motion++; return; }
  const camera = ctx.admit(topic, 'quiet');
  if (!camera || camera.motion === state) return;
  camera.motion = state;
  ctx.motionReceived(camera, { state });
};

/** `event`: one motion event's document. Like a result, an event never makes a camera known: it matters only for a camera already shown. */
export const handleEvent: MessageHandler = (ctx, topic, payload) => {
  const event = parseMotionEvent(payload);
  if (!event) { ctx.malformed.event++; return; }
  const camera = ctx.registry.find(topic.base);
  if (!camera) return;
  ctx.motionReceived(camera, { event });
};
