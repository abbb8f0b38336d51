/** Text renderings of trace and capture comparisons (`lab compare`). Pure. */
import { terminalSafe } from '../tracer/terminal-safe.ts';
import type { CaptureComparison, Difference, RouteComparison, TraceComparison } from './compare-traces.ts';
import { fmtMs } from './finding.ts';

/** Longest span label (indent included) before it is cut with an ellipsis. */
const MAX_LABEL = 44;

const signed = (v: number): string => `${v >= 0 ? '+' : '-'}${fmtMs(Math.abs(v))}`;
const pct = (v: number): string => (Number.isFinite(v) ? `${v >= 0 ? '+' : '-'}${Math.abs(v).toFixed(0)}%` : 'new');
const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function ratioText(a: number | undefined, b: number | undefined): string {
  if (a === undefined) return 'only B';
  if (b === undefined) return 'only A';
  if (a <= 0) return b <= 0 ? '1.00' : '-';
  return `${(b / a).toFixed(2)}`;
}

/** A side-by-side table of aligned spans; `>>` marks the rows that differ most. */
export function renderTraceComparison(c: TraceComparison): string {
  const total = c.b.totalMs - c.a.totalMs;
  const head = [
    `A: ${c.a.traceId} ${c.a.route} ${fmtMs(c.a.totalMs)}`,
    `B: ${c.b.traceId} ${c.b.route} ${fmtMs(c.b.totalMs)} (${signed(total)}${c.a.totalMs > 0 ? `, ×${(c.b.totalMs / c.a.totalMs).toFixed(2)}` : ''})`,
    '',
  ];
  const labels = c.rows.map((r) => cut(`${'  '.repeat(r.depth)}${r.name}`, MAX_LABEL));
  const w = Math.max(4, ...labels.map((l) => l.length));
  const lines = [`   ${'span'.padEnd(w)}  ${'A'.padStart(9)}  ${'B'.padStart(9)}  ${'delta'.padStart(9)}  ${'ratio'.padStart(6)}`];
  c.rows.forEach((r, i) => {
    const a = r.aMs !== undefined ? fmtMs(r.aMs) : '—';
    const b = r.bMs !== undefined ? fmtMs(r.bMs) : '—';
    lines.push(`${r.highlight ? '>> ' : '   '}${(labels[i] as string).padEnd(w)}  ${a.padStart(9)}  ${b.padStart(9)}  ${signed(r.deltaMs).padStart(9)}  ${ratioText(r.aMs, r.bMs).padStart(6)}`);
  });
  const difference = (d: Difference): string => (d.count > 1 ? `${d.count} × ${d.name} only in ${d.onlyIn} ${signed(d.deltaMs)}` : `${d.name} ${signed(d.deltaMs)}`);
  const foot = c.differences.length > 0 ? ['', `Differs most: ${c.differences.map(difference).join(', ')}`] : ['', 'No span differs by more than 0.1ms.'];
  return terminalSafe([...head, ...lines, ...foot].join('\n') + '\n', true);
}

function headline(r: RouteComparison): string {
  const change = `from ${fmtMs(r.a.p99)} to ${fmtMs(r.b.p99)} (${pct(r.p99ChangePct)})`;
  if (r.verdict === 'steady') return `p99 of ${r.route} held steady: ${fmtMs(r.a.p99)} → ${fmtMs(r.b.p99)} (${pct(r.p99ChangePct)})`;
  const drivers = r.drivers.map((d) => `${d.label} p99 ${signed(d.p99DeltaMs)}`).join(', ');
  return `p99 of ${r.route} ${r.verdict} ${change}${drivers ? `, driven by ${drivers}` : ''}`;
}

/** A regression report: one headline per route, then its span types by p99 change. */
export function renderCaptureComparison(c: CaptureComparison, options: { readonly maxTypes?: number } = {}): string {
  const maxTypes = options.maxTypes ?? 8;
  const lines = [`A: ${c.aSource}`, `B: ${c.bSource}`, ''];
  for (const r of c.routes) {
    lines.push(headline(r));
    lines.push(`  requests ${r.aRequests} → ${r.bRequests}; p50 ${fmtMs(r.a.p50)} → ${fmtMs(r.b.p50)}; DB queries per request (median) ${r.aDbQueries.median} → ${r.bDbQueries.median}`);
    const rows = r.types.slice(0, maxTypes);
    const w = Math.max(9, ...rows.map((t) => cut(t.label, MAX_LABEL).length));
    lines.push(`  ${'span type'.padEnd(w)}  ${'p50 A'.padStart(8)}  ${'p50 B'.padStart(8)}  ${'p99 A'.padStart(8)}  ${'p99 B'.padStart(8)}  ${'Δp99'.padStart(8)}`);
    for (const t of rows) {
      const q = (v: number | undefined): string => (v === undefined ? '—' : fmtMs(v)).padStart(8);
      lines.push(`  ${cut(t.label, MAX_LABEL).padEnd(w)}  ${q(t.a?.p50)}  ${q(t.b?.p50)}  ${q(t.a?.p99)}  ${q(t.b?.p99)}  ${signed(t.p99DeltaMs).padStart(8)}`);
    }
    if (r.types.length > maxTypes) lines.push(`  … ${r.types.length - maxTypes} more span type(s)`);
    lines.push('');
  }
  if (c.onlyInA.length) lines.push(`Routes only in A: ${c.onlyInA.join(', ')}`);
  if (c.onlyInB.length) lines.push(`Routes only in B: ${c.onlyInB.join(', ')}`);
  if (c.routes.length === 0) lines.push('No route is in both captures.');
  return terminalSafe(lines.join('\n').replace(/\n+$/, '') + '\n', true);
}
