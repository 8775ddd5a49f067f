/** Serial-number arithmetic (RFC 1982) on u32 sequence numbers, so ordering survives the wrap at 2^32. */
export function isNewer(a: number, b: number): boolean {
  const diff = (a - b) >>> 0;
  return diff !== 0 && diff < 0x8000_0000;
}

/** How many sequence numbers lie strictly between b and a (a newer than b). */
export function gapBetween(a: number, b: number): number {
  return ((a - b) >>> 0) - 1;
}
