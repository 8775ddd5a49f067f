import { execFile } from 'node:child_process';
import path from 'node:path';
import { ENCODE_SETTINGS, type EncodeFigure, type EncodeJob } from './encode-settings.js';
import { profileArgs } from './profile.js';

const WORKER = path.join(path.dirname(new URL(import.meta.url).pathname), 'encode-worker.js');

export class EncodeBenchError extends Error {
  constructor(message: string, readonly setting: string) {
    super(`sharp encode benchmark (${setting}): ${message}`);
    this.name = 'EncodeBenchError';
  }
}

function runWorker(job: EncodeJob, profileDir: string | undefined): Promise<EncodeFigure[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...profileArgs(profileDir, `encode-${job.setting.name}-${job.resolutions.join('-')}`), WORKER, JSON.stringify(job)], { maxBuffer: 1 << 20, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) { reject(new EncodeBenchError(`${error.message}\n${stderr}`, job.setting.name)); return; }
      try {
        resolve(JSON.parse(stdout) as EncodeFigure[]);
      } catch {
        reject(new EncodeBenchError(`unreadable output: ${stdout.slice(0, 200)}`, job.setting.name));
      }
    });
  });
}

/**
 * Every setting in a process of its own, never alongside the transport trials. The settings take turns per
 * resolution, so a busy spell on a shared machine does not land on one setting only.
 */
export async function measureEncoding(settings: readonly string[], options: Omit<EncodeJob, 'setting'>, profileDir?: string): Promise<EncodeFigure[]> {
  const figures: EncodeFigure[] = [];
  for (const resolution of options.resolutions) {
    for (const setting of ENCODE_SETTINGS.filter((s) => settings.includes(s.name))) figures.push(...(await runWorker({ ...options, resolutions: [resolution], setting }, profileDir)));
  }
  return figures;
}
