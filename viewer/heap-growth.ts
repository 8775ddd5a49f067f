import v8 from 'node:v8';

/**
 * How far V8 lets its heap grow past what survived a full collection before starting the next one, as a percentage
 * (300: up to four times). 4 is the largest factor V8 picks on its own for a heap this small.
 *
 * Why the viewer fixes it: almost all of its garbage lies outside the JavaScript heap. Each frame passes through
 * several buffers (socket reads, MQTT.js's copy of the packet, the reassembled frame), 100–300 MB/s for 16
 * cameras at 720p30, while the heap stays near 15 MB and grows slowly. V8 chooses its growing factor from the
 * heap's own allocation rate, which it finds tiny, so it picks its smallest factor, 1.1. Buffer bytes allocated
 * since the last full collection count against that small margin, so after one full collection under load the
 * viewer fell into a run of them back to back. Measured (docs/BENCHMARKS.md, "The viewer's garbage collector"):
 * 15–21 full collections a second and 53–66 % of a core, against about 1 a second and 14–19 % with this setting.
 * The storm starts or not by chance, which is why the viewer's CPU used to "flip" from run to run for the same
 * load. The cost is a heap that may grow to four times its live size (about 60 MB here) before it is collected.
 */
export const HEAP_GROWING_PERCENT = 300;

let applied = false;

/** Whether Node was started with its own --heap-growing-percent (on its command line or in NODE_OPTIONS). */
export function heapGrowthChosenByNodeFlags(execArgv: readonly string[], nodeOptions = ''): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg));
}

/**
 * Sets V8's heap growing factor for the whole process, once, unless Node was started with its own (which is how
 * `npm run bench:viewer` measures V8's default next to this). V8 reads the flag each time it sizes the heap after
 * a full collection, so setting it at run time takes effect from the next one.
 */
export function allowHeapGrowthForFrames(): void {
  if (applied) return;
  applied = true;
  if (heapGrowthChosenByNodeFlags(process.execArgv, process.env.NODE_OPTIONS)) return;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
