import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

/** Writes `count` distinct real JPEG files (noisy, so sizes are camera-like) into a new temp folder. */
export async function makeJpegFolder(count: number, width = 320, height = 240, quality = 80): Promise<{ dir: string; files: string[]; frames: Buffer[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-frames-'));
  const files: string[] = [];
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const raw = Buffer.alloc(width * height * 3);
    let s = (i + 1) * 2654435761;
    for (let p = 0; p < raw.length; p += 3) {
      s = (s * 1103515245 + 12345) >>> 0;
      const x = (p / 3) % width;
      raw[p] = (x * 255) / width + (s & 31);
      raw[p + 1] = ((i * 40) % 255) + ((s >> 8) & 31);
      raw[p + 2] = (((p / 3 / width) * 255) / height) | 0;
    }
    const jpeg = await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer();
    const file = path.join(dir, `frame-${String(i).padStart(4, '0')}.jpg`);
    fs.writeFileSync(file, jpeg);
    files.push(file);
    frames.push(jpeg);
  }
  return { dir, files, frames };
}
