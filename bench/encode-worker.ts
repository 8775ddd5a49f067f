import sharp from 'sharp';
import type { EncodeFigure, EncodeJob } from './encode-settings.js';
import { renderRawFrame, resolutionByName } from './frames.js';
import { median, mean } from './stats.js';

/** Child process: encodes raw frames with one sharp setting; prints its figures as JSON on stdout. */

const RAW_FRAMES = 3;

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as EncodeJob;
  const { setting } = job;
  if (setting.cache === false) sharp.cache(false);
  if (setting.concurrency !== undefined) sharp.concurrency(setting.concurrency);
  const figures: EncodeFigure[] = [];
  for (const name of job.resolutions) {
    const { width, height } = resolutionByName(name);
    const raws = Array.from({ length: RAW_FRAMES }, (_, i) => renderRawFrame(width, height, i));
    for (const quality of job.qualities) {
      const options = {
        quality,
        ...(setting.optimiseCoding !== undefined ? { optimiseCoding: setting.optimiseCoding } : {}),
        ...(setting.chromaSubsampling !== undefined ? { chromaSubsampling: setting.chromaSubsampling } : {}),
      };
      const encode = (i: number): Promise<Buffer> => sharp(raws[i % raws.length]!, { raw: { width, height, channels: 3 } }).jpeg(options).toBuffer();
      for (let i = 0; i < job.warmup; i++) await encode(i);
      const walls: number[] = [];
      const sizes: number[] = [];
      const cpuBefore = cpuMs();
      for (let i = 0; i < job.frames; i++) {
        const started = performance.now();
        const jpeg = await encode(i);
        walls.push(performance.now() - started);
        sizes.push(jpeg.length);
      }
      figures.push({ setting: setting.name, resolution: name, quality, wallMsMean: mean(walls), wallMsP50: median(walls), cpuMsPerFrame: (cpuMs() - cpuBefore) / job.frames, bytesMean: mean(sizes) });
    }
  }
  process.stdout.write(JSON.stringify(figures) + '\n');
}

main().catch((error: Error) => {
  process.stderr.write(`encode worker failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
