import { decodeChunk } from '../../protocol/header.js';
import { isJpegFrame } from '../../protocol/jpeg-markers.js';
import type { MessageHandler } from './handler.js';

/** `frame`: one chunk into the reassembler; a frame it completes is verified, kept as the camera's latest and passed on. */
export const handleFrame: MessageHandler = (ctx, topic, payload) => {
  let camera = ctx.registry.find(topic.base);
  if (!camera) {
    // Counted by the reassembler by reason, without a place for a camera that sent nothing valid.
    if (!decodeChunk(payload).ok) { ctx.reassembler.push(topic.base, payload); return; }
    camera = ctx.admit(topic, 'chunk');
    if (!camera) return;
  }
  const result = ctx.reassembler.push(camera.key, payload);
  if (result.kind !== 'frame') return;
  const { frame } = result;
  // Never kept, saved, recorded nor served as image/jpeg: a camera account can send any bytes with a right CRC.
  if (!isJpegFrame(frame.data)) { ctx.malformed.notJpeg++; return; }
  const now = ctx.now();
  ctx.registry.seen(camera);
  ctx.latestFrames.keep(camera, frame, now);
  camera.lastFrameAtMs = now;
  camera.lastSeq = frame.seq;
  camera.latencyMs = now - frame.capturedAtUs / 1000;
  camera.meter.add(now, frame.data.length);
  ctx.frameReceived(camera, frame);
};
