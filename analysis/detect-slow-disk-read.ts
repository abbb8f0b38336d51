/**
 * A statement's buffer misses were slow: PostgreSQL's `buffer read` phases (a page not in
 * shared buffers, read through smgr from the OS) added up to far more than normal.
 */
import type { Span } from '../assembler/span.ts';
import type { Detector, Finding } from './finding.ts';
import { fmtMs, severityOf } from './finding.ts';
import { localSpanType } from './span-type.ts';
import { tagNumber, traceFacts } from './trace-facts.ts';

export const detectSlowDiskRead: Detector = (trace, baseline, thresholds) => {
  const f = traceFacts(trace);
  const rb = baseline.routes[f.route];
  if (!rb) return [];
  const t = thresholds.diskRead;
  const byId = new Map(trace.spans.map((s) => [s.id, s]));
  // Buffer reads grouped by the DB query they ran under.
  const perQuery = new Map<string, { query: Span; key: string; ms: number; reads: number; folded: number }>();
  for (const s of trace.spans) {
    if (s.tier !== 'postgres') continue;
    let cur: Span | undefined = s;
    while (cur && !cur.name.startsWith('DB query')) cur = cur.parentId === null ? undefined : byId.get(cur.parentId);
    if (!cur) continue;
    const entry = perQuery.get(cur.id) ?? { query: cur, key: '', ms: 0, reads: 0, folded: 0 };
    if (s.name === 'buffer read') {
      entry.key = f.typeKeys.get(s.id) as string;
      entry.ms += f.spanMs.get(s.id) ?? 0;
      entry.reads++;
    }
    entry.folded += tagNumber(s, 'db.postgresql.buffer_read_folded');
    perQuery.set(cur.id, entry);
  }
  const out: Finding[] = [];
  for (const e of perQuery.values()) {
    if (e.reads === 0) continue;
    const b = rb.spanTypes[e.key];
    const p99 = b?.perRequestMs.p99 ?? 0;
    if (e.ms < t.minMs || e.ms <= p99 * (1 + t.p99Margin)) continue;
    const expectedMs = b?.perRequestMs.p50 ?? 0;
    const reads = e.reads + e.folded;
    out.push({
      requestId: trace.traceId,
      route: f.route,
      kind: 'slow-disk-read',
      severity: severityOf(e.ms - expectedMs, rb.latencyMs.p99, thresholds),
      message: `${localSpanType(e.query).label} spent ${fmtMs(e.ms)} reading ${reads} page${reads === 1 ? '' : 's'} from disk under buffer misses (p99 is ${fmtMs(p99)})${e.folded > 0 ? `, ${e.folded} read(s) folded and not timed` : ''}`,
      spanId: e.query.id,
      observedMs: e.ms,
      expectedMs,
      excessMs: Math.max(0, e.ms - expectedMs),
    });
  }
  return out;
};
