import { CONTENDER_TITLES } from './contenders.js';
import type { EncodeFigure } from './encode-settings.js';
import { RESOLUTIONS } from './frames.js';
import type { BenchResults, TargetCheck } from './results.js';
import { fmt, markdownTable, textTable, withRatio, type Column } from './table.js';
import type { ContenderFigures } from './transport.js';

/** Turns results into the printed tables (and the same tables as Markdown for docs/BENCHMARKS.md). */

type Render = (columns: readonly Column[], rows: readonly (readonly string[])[]) => string;

const kb = (bytes: number): string => fmt(bytes / 1024);
const chunkLabel = (size: number | undefined, jpegBytes: number): string =>
  size === undefined ? '' : size >= 4 * jpegBytes ? 'none (1 chunk/frame)' : size >= 1024 * 1024 ? `${size / (1024 * 1024)} MiB` : `${size / 1024} KiB`;

function transportTable(results: BenchResults, render: Render): string {
  const columns: Column[] = [
    { title: 'res', align: 'left' }, { title: 'contender', align: 'left' }, { title: 'JPEG KB' },
    { title: 'max fps' }, { title: 'p50 ms' }, { title: 'p95 ms' }, { title: 'p99 ms' },
    { title: 'wire B/frame' }, { title: 'wire/JPEG' },
    { title: 'snd CPU ms/f' }, { title: 'rcv CPU ms/f' }, { title: 'broker CPU ms/f' },
    { title: 'snd/rcv CPU ms/f @30fps' }, { title: 'RSS snd/rcv MB' },
  ];
  const rows: string[][] = [];
  for (const { resolution, jpegBytes, contenders } of results.transport) {
    const ceiling = contenders.find((c) => c.contender === 'ceiling');
    for (const c of contenders) {
      const t = c.throughput;
      const l = c.latency;
      rows.push([
        resolution, CONTENDER_TITLES[c.contender], kb(jpegBytes),
        withRatio(t.fps, ceiling?.throughput.fps),
        withRatio(l.p50Ms, ceiling?.latency.p50Ms), withRatio(l.p95Ms, ceiling?.latency.p95Ms), withRatio(l.p99Ms, ceiling?.latency.p99Ms),
        withRatio(l.wireBytesPerFrame, ceiling?.latency.wireBytesPerFrame), l.wireOverJpeg.toFixed(4),
        withRatio(t.senderCpuMsPerFrame, ceiling?.throughput.senderCpuMsPerFrame),
        withRatio(t.receiverCpuMsPerFrame, ceiling?.throughput.receiverCpuMsPerFrame),
        withRatio(t.brokerCpuMsPerFrame, ceiling?.throughput.brokerCpuMsPerFrame),
        `${withRatio(l.senderCpuMsPerFrame, ceiling?.latency.senderCpuMsPerFrame)} / ${withRatio(l.receiverCpuMsPerFrame, ceiling?.latency.receiverCpuMsPerFrame)}`,
        `${fmt(c.senderPeakRssMb)} / ${fmt(c.receiverPeakRssMb)}`,
      ]);
    }
  }
  return render(columns, rows);
}

function sweepTable(results: BenchResults, render: Render): string {
  const sweep = results.sweep!;
  const ceiling = sweep.ceiling;
  const columns: Column[] = [
    { title: 'chunk size', align: 'left' }, { title: 'chunks/frame' }, { title: 'max fps' }, { title: 'p50 ms' }, { title: 'p99 ms' },
    { title: 'snd CPU ms/f' }, { title: 'rcv CPU ms/f' }, { title: 'broker CPU ms/f' }, { title: 'wire/JPEG' },
  ];
  const rows = sweep.sizes.map((c: ContenderFigures) => [
    chunkLabel(c.chunkSize, sweep.jpegBytes) + (c.chunkSize === results.settings.defaultChunkSize ? ' (default)' : ''),
    String(Math.ceil(sweep.jpegBytes / (c.chunkSize! - 36))),
    withRatio(c.throughput.fps, ceiling?.throughput.fps),
    withRatio(c.latency.p50Ms, ceiling?.latency.p50Ms), withRatio(c.latency.p99Ms, ceiling?.latency.p99Ms),
    withRatio(c.throughput.senderCpuMsPerFrame, ceiling?.throughput.senderCpuMsPerFrame),
    withRatio(c.throughput.receiverCpuMsPerFrame, ceiling?.throughput.receiverCpuMsPerFrame),
    withRatio(c.throughput.brokerCpuMsPerFrame, ceiling?.throughput.brokerCpuMsPerFrame),
    c.latency.wireOverJpeg.toFixed(4),
  ]);
  return render(columns, rows);
}

function stepsTable(results: BenchResults, render: Render): string {
  const columns: Column[] = [
    { title: 'res', align: 'left' }, { title: 'JPEG KB' }, { title: 'CRC-32' }, { title: 'copy to new buffer' }, { title: 'copy to reused buffer' },
    { title: 'chunkFrame' }, { title: 'Reassembler.push' }, { title: 'base64+JSON encode' }, { title: 'JSON+base64 decode' },
  ];
  const us = (v: number): string => fmt(v);
  const rows = results.steps.map((s) => [s.resolution, kb(s.jpegBytes), us(s.crc32Us), us(s.copyFreshUs), us(s.copyReusedUs), us(s.chunkFrameUs), us(s.reassembleUs), us(s.base64JsonEncodeUs), us(s.base64JsonDecodeUs)]);
  return render(columns, rows);
}

function encodeTable(figures: readonly EncodeFigure[], render: Render): string {
  const columns: Column[] = [
    { title: 'res', align: 'left' }, { title: 'quality' }, { title: 'setting', align: 'left' },
    { title: 'ms/frame (median)' }, { title: 'speed-up' }, { title: 'CPU ms/frame' }, { title: 'CPU speed-up' }, { title: 'KB' }, { title: 'size vs default' },
  ];
  const rows = figures.map((f) => {
    const base = figures.find((d) => d.setting === 'default' && d.resolution === f.resolution && d.quality === f.quality);
    return [
      f.resolution, String(f.quality), f.setting, fmt(f.wallMsP50),
      base ? `${(base.wallMsP50 / f.wallMsP50).toFixed(2)}x` : 'n/a', fmt(f.cpuMsPerFrame),
      base ? `${(base.cpuMsPerFrame / f.cpuMsPerFrame).toFixed(2)}x` : 'n/a', kb(f.bytesMean),
      base ? `${((f.bytesMean / base.bytesMean - 1) * 100).toFixed(1)}%` : 'n/a',
    ];
  });
  // Group by resolution, then quality; within a group the settings keep their order (sort is stable).
  const rank = (r: string[]): number => RESOLUTIONS.findIndex((x) => x.name === r[0]) * 1000 + Number(r[1]);
  return render(columns, rows.sort((a, b) => rank(a) - rank(b)));
}

function targetLines(targets: readonly TargetCheck[]): string[] {
  return targets.map((t) => `${t.pass ? 'PASS' : 'MISS'}  ${t.target} [${t.scope}]: ${fmt(t.value)} ${t.sense} ${fmt(t.limit)}`);
}

export function renderReport(results: BenchResults, markdown = false): string {
  const render: Render = markdown ? markdownTable : textTable;
  const parts: string[] = [];
  const head = (title: string): string => (markdown ? `### ${title}\n` : `${title}\n`);
  if (results.transport.length > 0) {
    parts.push(head('Transport: (ratio to the ceiling in brackets; max fps unthrottled, latency at ' + `${results.settings.pacedFps} fps)`) + transportTable(results, render));
  }
  if (results.sweep) parts.push(head(`Chunk-size sweep, picam-mqtt at ${results.sweep.resolution} (ratio to the ceiling at ${results.sweep.resolution})`) + sweepTable(results, render));
  if (results.steps.length > 0) {
    parts.push(head(`Where the time goes: protocol steps in process, µs per frame (best of ${results.settings.stepBatches} batches; chunkFrame and push at ${results.settings.defaultChunkSize / 1024} KiB chunks)`) + stepsTable(results, render));
  }
  if (results.encode.length > 0) parts.push(head('sharp JPEG encode, raw RGB in, one frame at a time (speed-up and size against sharp defaults)') + encodeTable(results.encode, render));
  if (results.targets.length > 0) {
    const lines = targetLines(results.targets);
    parts.push(head('Targets (issue 8)') + (markdown ? lines.map((l) => `- ${l}`).join('\n') : lines.join('\n')));
  }
  return parts.join('\n\n') + '\n';
}
