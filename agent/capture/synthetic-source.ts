import sharp from 'sharp';
import type { Logger } from '../../common/logger.js';
import { nowUs, type FrameSink, type FrameSource } from './frame-source.js';
import { FrameTimer } from './frame-timer.js';

export interface SyntheticOptions {
  width: number;
  height: number;
  fps: number;
  quality: number;
  /** Text drawn in the corner, e.g. the camera id. */
  label: string;
  rotation: 0 | 90 | 180 | 270;
  hflip: boolean;
  vflip: boolean;
}

/**
 * A moving test pattern with a frame counter and the capture time, drawn as SVG and encoded by sharp, so a
 * person can see at a glance that the picture is live. Used by the demo and wherever no camera exists.
 */
export class SyntheticSource implements FrameSource {
  readonly kind = 'synthetic';
  private timer: FrameTimer;
  private frameNumber = 0;
  private busy = false;
  private sink: FrameSink | undefined;
  private readonly options: SyntheticOptions;

  constructor(options: SyntheticOptions, private readonly logger: Logger) {
    this.options = { ...options };
    this.timer = new FrameTimer(options.fps);
  }

  /** The size of the frames as sent (after rotation). */
  get width(): number {
    return this.options.rotation % 180 === 0 ? this.options.width : this.options.height;
  }

  get height(): number {
    return this.options.rotation % 180 === 0 ? this.options.height : this.options.width;
  }

  /** Everything is drawn per frame, so every setting changes live. */
  update(changes: Partial<Record<string, number | boolean>>): boolean {
    Object.assign(this.options, changes);
    if (changes.fps !== undefined && this.sink) {
      this.timer.stop();
      this.timer = new FrameTimer(this.options.fps);
      this.run(this.sink);
    }
    return true;
  }

  async start(sink: FrameSink): Promise<void> {
    await this.render(nowUs()); // fails here, not later, when sharp cannot render
    this.sink = sink;
    this.run(sink);
    this.logger.info('synthetic source started', { width: this.width, height: this.height, fps: this.options.fps });
  }

  private run(sink: FrameSink): void {
    this.timer.start(() => {
      // An encode slower than the frame period skips ticks rather than queueing them.
      if (this.busy) return;
      this.busy = true;
      const capturedAtUs = nowUs();
      this.render(capturedAtUs)
        .then((data) => { if (this.timer.running) sink.frame({ data, capturedAtUs }); })
        .catch((error: Error) => this.logger.warn('synthetic frame failed', { error: error.message }))
        .finally(() => { this.busy = false; });
    });
  }

  async stop(): Promise<void> {
    this.sink = undefined;
    this.timer.stop();
  }

  private render(capturedAtUs: number): Promise<Buffer> {
    const { width: w, height: h, quality } = this.options;
    const n = this.frameNumber++;
    const t = n / this.options.fps;
    const barX = Math.round(((Math.sin(t * 1.3) + 1) / 2) * (w - w / 8));
    const cx = Math.round(w / 2 + Math.cos(t * 2) * w * 0.3);
    const cy = Math.round(h / 2 + Math.sin(t * 2) * h * 0.3);
    const font = Math.max(10, Math.round(h / 14));
    const time = new Date(capturedAtUs / 1000).toISOString().slice(11, 23);
    const colours = ['#c0c0c0', '#c0c000', '#00c0c0', '#00c000', '#c000c0', '#c00000', '#0000c0'];
    const stripes = colours.map((c, i) => `<rect x="${(i * w) / 7}" y="0" width="${w / 7 + 1}" height="${h}" fill="${c}"/>`).join('');
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${stripes}
<rect x="${barX}" y="0" width="${Math.round(w / 8)}" height="${h}" fill="#ffffff" fill-opacity="0.55"/>
<circle cx="${cx}" cy="${cy}" r="${Math.round(h / 10)}" fill="#101010"/>
<rect x="0" y="${h - font * 2.2}" width="${w}" height="${font * 2.2}" fill="#000000" fill-opacity="0.7"/>
<text x="${font / 2}" y="${h - font * 0.7}" font-family="DejaVu Sans Mono, monospace" font-size="${font}" fill="#ffffff">${escapeXml(this.options.label)}  #${n}  ${time}</text>
</svg>`;
    let image = sharp(Buffer.from(svg));
    if (this.options.rotation !== 0) image = image.rotate(this.options.rotation);
    if (this.options.vflip) image = image.flip();
    if (this.options.hflip) image = image.flop();
    return image.jpeg({ quality, optimiseCoding: false }).toBuffer();
  }
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
