// One frame as a binary WebSocket message to the page: u16 (big-endian) length of a JSON header, the header
// (FrameMeta), then the JPEG bytes. Encoded by the viewer and decoded by the page with this one module, which
// uses only what both Node and browsers have (Uint8Array, DataView, TextEncoder), so it is served to the page
// as it is compiled.
import type { FrameMeta } from './contract.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The bytes before the JPEG. The viewer sends them and then the JPEG as two fragments of one message, so the
 * JPEG is never copied for a page.
 */
export function encodeFrameHead(meta: FrameMeta): Uint8Array {
  const json = encoder.encode(JSON.stringify({ key: meta.key, seq: meta.seq, capturedAtUs: meta.capturedAtUs }));
  const head = new Uint8Array(2 + json.length);
  new DataView(head.buffer).setUint16(0, json.length);
  head.set(json, 2);
  return head;
}

/** Header and JPEG of a frame message (the JPEG a view into `data`); undefined when it is not one. */
export function decodeFrameMessage(data: ArrayBuffer): { meta: FrameMeta; jpeg: Uint8Array<ArrayBuffer> } | undefined {
  if (data.byteLength < 2) return undefined;
  const length = new DataView(data).getUint16(0);
  if (2 + length > data.byteLength) return undefined;
  let meta: unknown;
  try {
    meta = JSON.parse(decoder.decode(new Uint8Array(data, 2, length)));
  } catch {
    return undefined;
  }
  const m = meta as Partial<FrameMeta> | null;
  if (typeof m !== 'object' || m === null || typeof m.key !== 'string' || typeof m.seq !== 'number' || typeof m.capturedAtUs !== 'number') return undefined;
  return { meta: { key: m.key, seq: m.seq, capturedAtUs: m.capturedAtUs }, jpeg: new Uint8Array(data, 2 + length) };
}
