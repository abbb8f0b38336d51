/** Duration text shared by the renderers: milliseconds with one decimal. */
export function formatMs(ns: bigint): string {
  if (ns > 0n && ns < 50_000n) return '<0.1ms';
  return `${(Number(ns) / 1e6).toFixed(1)}ms`;
}

/** `part` as a percentage of `total` with one decimal. */
export function formatShare(part: bigint, total: bigint): string {
  if (total <= 0n) return '-';
  return `${((Number(part) / Number(total)) * 100).toFixed(1)}%`;
}
