/**
 * Time for measurements that cross processes. CLOCK_MONOTONIC (process.hrtime) is one clock for every
 * process on a Linux machine, so a send time taken in the sender and a receive time taken in the receiver
 * subtract exactly, and it never jumps with NTP as the wall clock can.
 */
export function monoUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sleeps until the monotonic clock reaches `atUs` (to within a timer tick). */
export async function sleepUntil(atUs: number): Promise<void> {
  const ms = (atUs - monoUs()) / 1000;
  if (ms > 0) await sleep(ms);
}
