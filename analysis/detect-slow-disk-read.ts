/**
 * A statement waited for the disk to read: PostgreSQL's `buffer read` phases (a page not in
 * shared buffers, read through smgr from the OS; --pg-buffers), or else the block reads its
 * backend issued while it ran (the blockio family, on DB processing), added up to far more than
 * normal. A route the baseline never saw is judged by the absolute cost.
 */
import type { Span } from '../assembler/span.ts';
import type { Detector, Finding } from './finding.ts';
import { fmtMs, judged, largeWithoutBaseline, usableRouteBaseline, WITHOUT_BASELINE_NOTE } from './finding.ts';
import { localSpanType } from './span-type.ts';
import { tagNsAsMs, tagNumber, traceFacts } from './trace-facts.ts';

interface QueryReads {
  readonly query: Span;
  key: string;
  ms: number;
  reads: number;
  folded: number;
  /** Block reads of its backend (the blockio family), ms. */
  blockMs: number;
}

export const detectSlowDiskRead: Detector = (trace, baseline, thresholds) => {
  const f = traceFacts(trace);
  const rb = usableRouteBaseline(baseline, f.route, thresholds);
  const t = thresholds.diskRead;
  const byId = new Map(trace.spans.map((s) => [s.id, s]));
  // Buffer reads and block reads grouped by the DB query they ran under.
  const perQuery = new Map<string, QueryReads>();
  for (const s of trace.spans) {
    if (s.tier !== 'postgres') continue;
    let cur: Span | undefined = s;
    while (cur && !cur.name.startsWith('DB query')) cur = cur.parentId === null ? undefined : byId.get(cur.parentId);
    if (!cur) continue;
    const entry = perQuery.get(cur.id) ?? { query: cur, key: '', ms: 0, reads: 0, folded: 0, blockMs: 0 };
    if (s.name === 'buffer read') {
      entry.key = f.typeKeys.get(s.id) as string;
      entry.ms += f.spanMs.get(s.id) ?? 0;
      entry.reads++;
    }
    if (s.name === 'DB processing' && tagNsAsMs(s, 'kernel.block_read_ns') > 0) {
      entry.blockMs += tagNsAsMs(s, 'kernel.block_read_ns');
    }
    entry.folded += tagNumber(s, 'db.postgresql.buffer_read_folded');
    perQuery.set(cur.id, entry);
  }
  const out: Finding[] = [];
  for (const e of perQuery.values()) {
    const fromPhases = e.reads > 0;
    const ms = fromPhases ? e.ms : e.blockMs;
    if (ms <= 0 || ms < t.minMs) continue;
    // Block reads have no baseline of their own: a route's DB processing keeps none, so they are
    // judged like a route without one.
    const b = fromPhases ? rb?.spanTypes[e.key] : undefined;
    const byBaseline = rb !== undefined && fromPhases;
    const p99 = b?.perRequestMs.p99 ?? 0;
    if (byBaseline ? ms <= p99 * (1 + t.p99Margin) : !largeWithoutBaseline(ms, f.rootMs, thresholds)) continue;
    const expectedMs = b?.perRequestMs.p50 ?? 0;
    const reads = e.reads + e.folded;
    const label = localSpanType(e.query).label;
    const what = fromPhases
      ? `${label} spent ${fmtMs(ms)} reading ${reads} page${reads === 1 ? '' : 's'} from disk under buffer misses`
      : `${label}'s backend waited ${fmtMs(ms)} for block reads from disk`;
    const bar = byBaseline ? ` (p99 is ${fmtMs(p99)})` : rb ? ' (absolute cost: no baseline for block reads)' : WITHOUT_BASELINE_NOTE;
    out.push({
      requestId: trace.traceId,
      route: f.route,
      kind: 'slow-disk-read',
      message: `${what}${bar}${fromPhases && e.folded > 0 ? `, ${e.folded} read(s) folded and not timed` : ''}`,
      spanId: e.query.id,
      ...judged(rb, ms, expectedMs, thresholds),
    });
  }
  return out;
};
