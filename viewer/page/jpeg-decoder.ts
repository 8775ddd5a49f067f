/// <reference lib="dom" />
// JPEG bytes → pixels a canvas takes. The cheapest way in Chromium, measured in headless Chromium 156 without a
// GPU (docs/BENCHMARKS.md, "The page"): ImageDecoder (WebCodecs) decodes the bytes off the main thread into
// YUV, optionally at a reduced size (the JPEG's own 1/8 steps, which skip most of the work), then
// VideoFrame.copyTo(…, { format: 'RGBA' }) converts it and putImageData puts it on the canvas. That takes about
// half the CPU of createImageBitmap(Blob) (a Blob makes a round trip through the browser process) and of
// drawImage(VideoFrame) (whose YUV conversion runs slowly on the main thread). Each step falls back to the next
// best where a browser lacks it: drawImage(VideoFrame) without RGBA copies, createImageBitmap without ImageDecoder.

/** A decoded picture, ready to go on a canvas of its size. close() frees it (drawn or not). */
export interface DecodedPicture {
  readonly width: number;
  readonly height: number;
  draw(context: CanvasRenderingContext2D): void;
  close(): void;
}

/** A pixel size. */
export interface Size { width: number; height: number }

/**
 * RGBA buffers of one camera, reused from frame to frame: a 720p frame is 3.7 MB, and a fresh one per frame
 * would make the garbage collector run several times a second. A camera holds at most two at once (one
 * decoded and waiting to be drawn, one being decoded), so at most two spares are kept.
 */
export class PixelBuffers {
  private readonly spare: Uint8ClampedArray<ArrayBuffer>[] = [];

  take(bytes: number): Uint8ClampedArray<ArrayBuffer> {
    const index = this.spare.findIndex((b) => b.length === bytes);
    return index >= 0 ? this.spare.splice(index, 1)[0]! : new Uint8ClampedArray(bytes);
  }

  give(buffer: Uint8ClampedArray<ArrayBuffer>): void {
    if (this.spare.length >= 2) this.spare.shift();
    this.spare.push(buffer);
  }
}

const hasImageDecoder = typeof ImageDecoder === 'function';
/** Cleared once a browser refuses VideoFrame.copyTo with a format (before Chromium 127). */
let rgbaCopies = true;

/**
 * Decodes `jpeg`; with `size` (smaller than the picture, in the JPEG's 1/8 steps: see decodeSizeFor) at that
 * size where the browser can. Rejects when the bytes do not decode.
 */
export async function decodeJpeg(jpeg: Uint8Array<ArrayBuffer>, size: Size | undefined, buffers: PixelBuffers): Promise<DecodedPicture> {
  if (!hasImageDecoder) return decodeToBitmap(jpeg, size);
  const decoder = new ImageDecoder({ data: jpeg, type: 'image/jpeg', ...(size ? { desiredWidth: size.width, desiredHeight: size.height } : {}) });
  let frame: VideoFrame;
  try {
    frame = (await decoder.decode()).image;
  } finally {
    decoder.close();
  }
  const width = frame.displayWidth;
  const height = frame.displayHeight;
  if (rgbaCopies) {
    const pixels = buffers.take(width * height * 4);
    try {
      await frame.copyTo(pixels, { format: 'RGBA' });
      frame.close();
      let closed = false;
      return {
        width,
        height,
        draw: (context) => context.putImageData(new ImageData(pixels, width, height), 0, 0),
        close: () => { if (!closed) { closed = true; buffers.give(pixels); } },
      };
    } catch {
      buffers.give(pixels);
      rgbaCopies = false;
    }
  }
  return { width, height, draw: (context) => context.drawImage(frame, 0, 0), close: () => frame.close() };
}

async function decodeToBitmap(jpeg: Uint8Array<ArrayBuffer>, size: Size | undefined): Promise<DecodedPicture> {
  const bitmap = await createImageBitmap(new Blob([jpeg], { type: 'image/jpeg' }), size ? { resizeWidth: size.width, resizeHeight: size.height } : {});
  return { width: bitmap.width, height: bitmap.height, draw: (context) => context.drawImage(bitmap, 0, 0), close: () => bitmap.close() };
}

/**
 * The size to decode a `picture`-sized JPEG at so that it still fills `box` (device pixels, shown with
 * object-fit: contain) without being enlarged: the smallest of the JPEG's own scales (n/8) that does, or
 * undefined when that is the full size (or either size is unknown).
 */
export function decodeSizeFor(picture: Partial<Size>, box: Size | undefined): Size | undefined {
  const { width, height } = picture;
  if (!width || !height || !box || box.width <= 0 || box.height <= 0) return undefined;
  const needed = Math.min(box.width / width, box.height / height);
  const eighths = Math.max(1, Math.ceil(needed * 8 - 1e-9));
  return eighths >= 8 ? undefined : { width: Math.ceil((width * eighths) / 8), height: Math.ceil((height * eighths) / 8) };
}
