import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import sharp from 'sharp';
import { mosquittoPath } from '../harness/mosquitto.js';

export interface MachineFacts {
  cpus: number;
  cpuModel: string;
  /** 1-minute load average when the run started: a busy machine gives lower, noisier figures. */
  loadAverage1m: number;
  memoryGb: number;
  kernel: string;
  node: string;
  mosquitto: string;
  mqttJs: string;
  sharp: string;
  libvips: string;
}

function mosquittoVersion(): string {
  // `mosquitto -h` prints its version on the first line (and exits with 3).
  const result = spawnSync(mosquittoPath(), ['-h'], { encoding: 'utf8', timeout: 5000 });
  return /version (\S+)/.exec(result.stdout ?? '')?.[1] ?? 'unknown';
}

function packageVersion(name: string): string {
  try {
    const file = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  return {
    cpus: os.availableParallelism(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    loadAverage1m: os.loadavg()[0]!,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    mosquitto: mosquittoVersion(),
    mqttJs: packageVersion('mqtt'),
    sharp: packageVersion('sharp'),
    libvips: sharp.versions.vips,
  };
}
