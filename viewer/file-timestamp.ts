/** A time as `2025-11-27T13-22-37-680Z`: sortable, readable, and without the colons Windows forbids in file names. */
export function fileTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, '-');
}
