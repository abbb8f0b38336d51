/**
 * Warnings of one kind can come by the thousand (every junk line of a side file, every damaged
 * region): the first few are shown and the rest counted.
 */

/** How many warnings of one kind are kept. */
export const WARNINGS_PER_KIND = 5;

/**
 * The kind of a warning: its first two `: `-separated parts with every number replaced, so
 * `client.jsonl line 12: not JSON: {…` and `client.jsonl line 13: not JSON: x` are one kind. Pure.
 */
export function warningKind(warning: string): string {
  return warning.split(': ').slice(0, 2).join(': ').replace(/\d[\d,]*/g, '#');
}

/**
 * The first `perKind` warnings of each kind, in their order, and after the last one kept of a
 * kind, `… and 49,990 more like this`. Pure.
 */
export function capWarnings(warnings: readonly string[], perKind = WARNINGS_PER_KIND): string[] {
  const total = new Map<string, number>();
  for (const w of warnings) {
    const k = warningKind(w);
    total.set(k, (total.get(k) ?? 0) + 1);
  }
  const shown = new Map<string, number>();
  const out: string[] = [];
  for (const w of warnings) {
    const k = warningKind(w);
    const n = (shown.get(k) ?? 0) + 1;
    shown.set(k, n);
    if (n > perKind) continue;
    out.push(w);
    const all = total.get(k) as number;
    if (n === perKind && all > perKind) out.push(`… and ${(all - perKind).toLocaleString('en-US')} more like this (${k})`);
  }
  return out;
}
