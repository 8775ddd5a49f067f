import sharp from 'sharp';
import { readJpegSize } from '../processing/jpeg-size.js';
import type { GreyImage } from './background-model.js';

/** The analysis works on 1/8 of the camera's width and height: libjpeg decodes straight to that size. */
export const ANALYSIS_SCALE = 8;

/** The frame's bytes are not a JPEG the analysis can read. */
export class MotionDecodeError extends Error {
  constructor(message: string, readonly bytes: number) {
    super(message);
    this.name = 'MotionDecodeError';
  }
}

/**
 * Decodes a small greyscale copy of a JPEG frame. Resizing to 1/8 lets sharp use libjpeg's shrink-on-load
 * (DCT scaling: only the DC coefficient of each 8x8 block is used), so this costs a fraction of a full decode
 * (npm run bench:motion). The frame's own bytes are only read.
 */
export async function decodeSmall(jpeg: Buffer, atMs: number): Promise<GreyImage> {
  const size = readJpegSize(jpeg);
  if (!size) throw new MotionDecodeError('not a JPEG with a frame header', jpeg.length);
  const width = Math.max(1, Math.round(size.width / ANALYSIS_SCALE));
  const height = Math.max(1, Math.round(size.height / ANALYSIS_SCALE));
  try {
    const data = await sharp(jpeg, { failOn: 'none', sequentialRead: true })
      .resize(width, height, { fit: 'fill', fastShrinkOnLoad: true, kernel: 'nearest' })
      .greyscale()
      .raw()
      .toBuffer();
    return { data, width, height, atMs };
  } catch (error) {
    throw new MotionDecodeError((error as Error).message, jpeg.length);
  }
}
