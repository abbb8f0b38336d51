/**
 * What the loader says: its stderr lines (attach report, summary, each family's counters) and its
 * --status-fd JSON lines. Pure.
 */

/** Hook family → hook kind in use, as the loader reports on its `attached:` line. */
export type HookSet = Readonly<Record<string, string>>;

export type LoaderLine =
  | { readonly type: 'attached'; readonly hooks: HookSet }
  | { readonly type: 'summary'; readonly counters: Readonly<Record<string, number>> }
  | { readonly type: 'family-summary'; readonly family: string; readonly counters: Readonly<Record<string, number>> }
  | { readonly type: 'diagnostic'; readonly text: string };

const PAIR = /([A-Za-z_][\w.-]*)=(\S+)/g;

function pairs(text: string): Array<[string, string]> {
  return [...text.matchAll(PAIR)].map((m) => [m[1] as string, m[2] as string]);
}

/**
 * Classifies one stderr line of the loader:
 *   `attached: usdt=usdt sockets=tracepoint files=tracepoint`   → the hook set
 *   `summary: events=N lost=N ringbuf_drops=N ...`              → counters (integers)
 *   `postgres: backends_attached=15 attach_failed=0`           → a family's own counters
 *     (only after the summary, where families print theirs)
 * anything else is a diagnostic. Pure.
 */
export function parseLoaderLine(line: string, afterSummary = false): LoaderLine {
  const t = line.trim();
  const fam = afterSummary ? /^([a-z][\w-]*):((?:\s+[A-Za-z_][\w.-]*=\S+)+)$/.exec(t) : null;
  if (fam) {
    const counters: Record<string, number> = {};
    for (const [k, v] of pairs(fam[2] as string)) if (/^\d+$/.test(v)) counters[k] = Number(v);
    return { type: 'family-summary', family: fam[1] as string, counters };
  }
  const m = /^(attached|summary):\s*(.*)$/.exec(t);
  if (m && m[1] === 'attached') return { type: 'attached', hooks: Object.fromEntries(pairs(m[2] as string)) };
  if (m && m[1] === 'summary') {
    const counters: Record<string, number> = {};
    for (const [k, v] of pairs(m[2] as string)) {
      const n = Number(v);
      if (/^\d+$/.test(v) && Number.isSafeInteger(n)) counters[k] = n;
    }
    return { type: 'summary', counters };
  }
  return { type: 'diagnostic', text: t };
}

/** Counters of the loader's summary that are not losses. */
const NOT_DROPS = new Set(['records', 'bytes', 'events', 'drained']);

/** The summary's loss counters: everything but the record and byte totals. */
export function dropCounters(counters: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(counters).filter(([k]) => !NOT_DROPS.has(k)));
}

/** A loaded BPF program: its kernel id (as bpftool and bpf_stats name it) and its name in the family's object. */
export interface LoaderProgram {
  readonly id: number;
  readonly name: string;
}

/** Family → its loaded programs. */
export type LoaderPrograms = Readonly<Record<string, readonly LoaderProgram[]>>;

/** The overhead guard detached a family: when (CLOCK_MONOTONIC ns), and what it cost (% of the lab's CPU). */
export interface LoaderShed {
  readonly family: string;
  readonly atNs: string;
  readonly familyPct: number;
  readonly totalPct: number;
  readonly budgetPct: number;
}

/** One JSON line of the loader's --status-fd stream. */
export type LoaderStatus =
  | ({ readonly event: 'shed' } & LoaderShed)
  | { readonly event: 'attached'; readonly schema: number; readonly sample: number; readonly hooks: HookSet; readonly progs: LoaderPrograms }
  | {
      readonly event: 'exit';
      readonly stop: string;
      readonly records: number;
      readonly bytes: number;
      readonly malformed: number;
      readonly drops: Readonly<Record<string, number>>;
      /** Records per event kind number. */
      readonly kinds: Readonly<Record<string, number>>;
    };

/** Parses one status line; null for anything that is not a known status object. Pure. */
export function parseStatusLine(line: string): LoaderStatus | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const numRecord = (x: unknown): x is Record<string, number> =>
    typeof x === 'object' && x !== null && Object.values(x).every((n) => typeof n === 'number');
  if (o.event === 'attached' && typeof o.hooks === 'object' && o.hooks !== null) {
    return { event: 'attached', schema: Number(o.schema), sample: Number(o.sample), hooks: o.hooks as HookSet, progs: parsePrograms(o.progs) };
  }
  if (o.event === 'shed' && typeof o.family === 'string' && typeof o.at_ns === 'number') {
    return { event: 'shed', family: o.family, atNs: String(o.at_ns), familyPct: Number(o.family_pct), totalPct: Number(o.total_pct), budgetPct: Number(o.budget_pct) };
  }
  if (o.event === 'exit' && numRecord(o.drops)) {
    return {
      event: 'exit',
      stop: String(o.stop),
      records: Number(o.records),
      bytes: Number(o.bytes),
      malformed: Number(o.malformed),
      drops: o.drops,
      kinds: numRecord(o.kinds) ? o.kinds : {},
    };
  }
  return null;
}

function parsePrograms(v: unknown): LoaderPrograms {
  if (typeof v !== 'object' || v === null) return {};
  const out: Record<string, LoaderProgram[]> = {};
  for (const [family, list] of Object.entries(v)) {
    if (!Array.isArray(list)) continue;
    out[family] = list.flatMap((p: unknown) => {
      const q = p as { id?: unknown; name?: unknown } | null;
      return q && typeof q.id === 'number' && typeof q.name === 'string' ? [{ id: q.id, name: q.name }] : [];
    });
  }
  return out;
}
