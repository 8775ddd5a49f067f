/**
 * The pixel size a JPEG declares in its frame header (SOFn), read without decoding: the processing step
 * checks every frame's size against the wanted one, so this must cost next to nothing.
 */

export interface JpegSize {
  width: number;
  height: number;
}

/** SOF0..SOF15 carry the size; C4 (DHT), C8 (JPG extension) and CC (DAC) share the range but are not frames. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/**
 * Walks the marker segments from SOI to the first SOFn. Returns undefined for anything that is not a
 * well-formed JPEG header (the caller then treats the size as unknown), never throws.
 */
export function readJpegSize(jpeg: Uint8Array): JpegSize | undefined {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 4 <= jpeg.length) {
    if (jpeg[at] !== 0xff) return undefined;
    const marker = jpeg[at + 1]!;
    // Fill bytes (FF FF ...) may precede a marker.
    if (marker === 0xff) { at++; continue; }
    // Markers without a length: TEM and RST0-7. SOS before any SOF means no frame header: give up.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { at += 2; continue; }
    if (marker === 0xda || marker === 0xd9) return undefined;
    const length = (jpeg[at + 2]! << 8) | jpeg[at + 3]!;
    if (length < 2) return undefined;
    if (isStartOfFrame(marker)) {
      // Segment: length(2) precision(1) height(2) width(2) ...
      if (at + 9 > jpeg.length) return undefined;
      const height = (jpeg[at + 5]! << 8) | jpeg[at + 6]!;
      const width = (jpeg[at + 7]! << 8) | jpeg[at + 8]!;
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    at += 2 + length;
  }
  return undefined;
}
