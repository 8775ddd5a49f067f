import { parseStats } from '../../protocol/messages.js';
import type { MessageHandler } from './handler.js';

/** `stats`: the agent's counters; a change of its `stalled` flag is logged. */
export const handleStats: MessageHandler = (ctx, topic, payload) => {
  const stats = parseStats(payload);
  if (!stats) { ctx.malformed.stats++; return; }
  const camera = ctx.admit(topic, 'online');
  if (!camera) return;
  const stalled = stats.stalled === true;
  if (stalled !== (camera.agentStats?.stalled === true)) {
    if (stalled) ctx.logger.warn('camera stalled: its agent reports no frame from the camera', { camera: camera.key, lastFrameAgeS: typeof stats.lastFrameAgeS === 'number' ? stats.lastFrameAgeS : undefined });
    else ctx.logger.info('camera frames resumed', { camera: camera.key });
  }
  camera.agentStats = stats;
  camera.agentStatsAtMs = ctx.now();
};
