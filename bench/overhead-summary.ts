/**
 * Tracing-overhead runs → per-condition medians and their ratio to the untraced runs, and the
 * table that prints them. Pure.
 */

/** One load run under one tracing condition. */
export interface OverheadRun {
  readonly condition: string;
  readonly round: number;
  readonly requestsPerSecond: number;
  /** Client latency, ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Connection errors, timeouts and non-2xx responses. */
  readonly failures: number;
}

export interface OverheadRow {
  readonly condition: string;
  readonly runs: number;
  readonly medianRps: number;
  readonly minRps: number;
  readonly maxRps: number;
  /** Median req/s over the baseline's median (1 = no overhead); NaN without baseline runs. */
  readonly ratio: number;
  /** (1 − ratio) × 100. */
  readonly overheadPct: number;
  readonly medianP50Ms: number;
  readonly medianP99Ms: number;
  readonly failures: number;
}

/** Median of `values` (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** A B C A B C …: every condition once per round, rounds numbered from 1. */
export function interleavedSchedule<C>(conditions: readonly C[], rounds: number): { round: number; condition: C }[] {
  const out: { round: number; condition: C }[] = [];
  for (let round = 1; round <= rounds; round++) for (const condition of conditions) out.push({ round, condition });
  return out;
}

/** One row per condition, in the order the conditions first appear in `runs`. */
export function summarizeOverhead(runs: readonly OverheadRun[], baseline: string): OverheadRow[] {
  const order = [...new Set(runs.map((r) => r.condition))];
  const base = median(runs.filter((r) => r.condition === baseline).map((r) => r.requestsPerSecond));
  return order.map((condition) => {
    const mine = runs.filter((r) => r.condition === condition);
    const rps = mine.map((r) => r.requestsPerSecond);
    const medianRps = median(rps);
    const ratio = medianRps / base;
    return {
      condition,
      runs: mine.length,
      medianRps,
      minRps: Math.min(...rps),
      maxRps: Math.max(...rps),
      ratio,
      overheadPct: (1 - ratio) * 100,
      medianP50Ms: median(mine.map((r) => r.p50Ms)),
      medianP99Ms: median(mine.map((r) => r.p99Ms)),
      failures: mine.reduce((n, r) => n + r.failures, 0),
    };
  });
}

const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** The rows as an aligned text table. */
export function formatOverheadTable(rows: readonly OverheadRow[]): string {
  const header = ['condition', 'runs', 'req/s (median)', 'min..max', 'ratio', 'overhead', 'p50 ms', 'p99 ms', 'failures'];
  const body = rows.map((r) => [
    r.condition,
    String(r.runs),
    fixed(r.medianRps, 1),
    `${fixed(r.minRps, 0)}..${fixed(r.maxRps, 0)}`,
    fixed(r.ratio, 3),
    `${fixed(r.overheadPct, 1)}%`,
    fixed(r.medianP50Ms, 2),
    fixed(r.medianP99Ms, 2),
    String(r.failures),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(header), ...body.map(line)].join('\n');
}
