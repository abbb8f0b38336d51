/**
 * Cross-checks assembled traces against independent measurements: the client's observed
 * latency, nginx's access log (request_time, upstream_response_time; millisecond resolution)
 * and pg_stat_statements' mean execution time per statement. Pure: data in, a report out.
 */
import type { ClientObservation, NginxAccessEntry, PgStatStatementsSnapshot } from '../tracer/capture-types.ts';
import { rootOf, type Span, type Trace } from './span.ts';

export interface CheckResult {
  readonly name: string;
  readonly tolerance: string;
  /** Requests (or statements) compared. */
  readonly compared: number;
  readonly within: number;
  /** within / compared, 0..1 (0 when nothing was compared). */
  readonly share: number;
  /** The worst differences, ms (observed − traced), at most 5. */
  readonly worst: readonly { readonly key: string; readonly tracedMs: number; readonly observedMs: number }[];
}

export interface ValidationInput {
  readonly traces: readonly Trace[];
  readonly client: readonly ClientObservation[];
  readonly nginx: readonly NginxAccessEntry[];
  readonly pgStatStatements?: PgStatStatementsSnapshot;
}

const ms = (s: Span): number => Number(s.endNs - s.startNs) / 1e6;

function check(name: string, tolerance: string, pairs: { key: string; tracedMs: number; observedMs: number }[], ok: (p: { tracedMs: number; observedMs: number }) => boolean): CheckResult {
  const within = pairs.filter(ok).length;
  const worst = [...pairs].sort((a, b) => Math.abs(b.observedMs - b.tracedMs) - Math.abs(a.observedMs - a.tracedMs)).slice(0, 5);
  return { name, tolerance, compared: pairs.length, within, share: pairs.length ? within / pairs.length : 0, worst };
}

/** Runs every check the input has data for. */
export function validateTraces(input: ValidationInput): CheckResult[] {
  const results: CheckResult[] = [];
  const client = new Map(input.client.map((c) => [c.requestId, c]));
  const access = new Map(input.nginx.map((a) => [a.requestId, a]));

  // The client sees the whole trace plus its own socket work: it should be a little longer.
  const clientPairs = input.traces.flatMap((t) => {
    const c = client.get(t.traceId);
    return c ? [{ key: t.traceId, tracedMs: ms(rootOf(t)), observedMs: c.latencyMs }] : [];
  });
  results.push(check('root span vs client-observed latency', '|diff| ≤ max(1 ms, 10%)', clientPairs, (p) => Math.abs(p.observedMs - p.tracedMs) <= Math.max(1, 0.1 * p.observedMs)));

  const nginxPairs = input.traces.flatMap((t) => {
    const a = access.get(t.traceId);
    const root = rootOf(t);
    return a?.requestTime != null && root.tier === 'nginx' && root.tags.estimated !== true ? [{ key: t.traceId, tracedMs: ms(root), observedMs: a.requestTime * 1000 }] : [];
  });
  results.push(check('root span vs nginx request_time', '|diff| ≤ 1.5 ms (ms resolution)', nginxPairs, (p) => Math.abs(p.observedMs - p.tracedMs) <= 1.5));

  const upstreamPairs = input.traces.flatMap((t) => {
    const a = access.get(t.traceId);
    const first = t.spans.find((s) => s.name === 'network: nginx → app');
    const last = t.spans.find((s) => s.name === 'network: app → nginx');
    if (a?.upstreamResponseTime == null || !first || !last) return [];
    return [{ key: t.traceId, tracedMs: Number(last.endNs - first.startNs) / 1e6, observedMs: a.upstreamResponseTime * 1000 }];
  });
  results.push(check('upstream spans vs nginx upstream_response_time', '|diff| ≤ 1.5 ms (ms resolution)', upstreamPairs, (p) => Math.abs(p.observedMs - p.tracedMs) <= 1.5));

  if (input.pgStatStatements) {
    const norm = (q: string): string => q.replace(/\s+/g, ' ').trim();
    const byText = new Map<string, number[]>();
    for (const t of input.traces) {
      for (const s of t.spans) {
        const text = s.tags['db.query.text'];
        if (typeof text !== 'string') continue;
        const kids = t.spans.filter((c) => c.parentId === s.id && c.name === 'DB processing');
        const exec = kids[0];
        if (!exec) continue;
        const list = byText.get(norm(text)) ?? [];
        list.push(ms(exec));
        byText.set(norm(text), list);
      }
    }
    const pairs = input.pgStatStatements.statements.flatMap((st) => {
      const list = byText.get(norm(st.query));
      return list ? [{ key: norm(st.query).slice(0, 60), tracedMs: list.reduce((a, b) => a + b, 0) / list.length, observedMs: st.meanExecTime }] : [];
    });
    // DB processing includes the loopback round trip, parse and plan: it should be the larger.
    results.push(check('DB processing mean vs pg_stat_statements mean_exec_time', 'traced ≥ observed and diff ≤ max(0.5 ms, 50%)', pairs, (p) => p.tracedMs + 0.05 >= p.observedMs && p.tracedMs - p.observedMs <= Math.max(0.5, 0.5 * p.observedMs)));
  }
  return results;
}

/** The results as an aligned text table. */
export function formatValidation(results: readonly CheckResult[]): string {
  const rows = results.map((r) => [r.name, `${r.within}/${r.compared}`, r.compared ? `${(r.share * 100).toFixed(1)}%` : '-', r.tolerance]);
  const head = ['check', 'within', 'share', 'tolerance'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: readonly string[]): string => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}
