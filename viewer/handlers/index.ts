import type { RECEIVER_KINDS } from '../../protocol/topics.js';
import { handleFrame } from './frame.js';
import type { MessageHandler } from './handler.js';
import { handleInfo } from './info.js';
import { handleEvent, handleMotion } from './motion.js';
import { handleResult } from './result.js';
import { handleStats } from './stats.js';
import { handleStatus } from './status.js';

/** One handler per kind a viewer subscribes to: the compiler asks for a new one when a kind is added there. */
export const HANDLERS: Readonly<Record<(typeof RECEIVER_KINDS)[number], MessageHandler>> = {
  frame: handleFrame,
  status: handleStatus,
  info: handleInfo,
  stats: handleStats,
  result: handleResult,
  motion: handleMotion,
  event: handleEvent,
};
