/**
 * Whether a frame's bytes are framed as one JPEG: SOI (FF D8) at the start, EOI (FF D9) at the end, and
 * something between them. Some encoders pad a frame with zero bytes after EOI, so those are passed over. A
 * check of the frame's ends only, not a decode: it tells a picture from bytes that were never one
 * (PROTOCOL.md §2.4, step 5).
 */
export function isJpegFrame(data: Uint8Array): boolean {
  if (data.length < 5 || data[0] !== 0xff || data[1] !== 0xd8) return false;
  let end = data.length;
  while (end > 5 && data[end - 1] === 0x00) end--;
  return data[end - 2] === 0xff && data[end - 1] === 0xd9;
}
