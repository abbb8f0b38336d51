/**
 * Prometheus text exposition format 0.0.4, from metric families as plain data. Pure: the same
 * families always render the same text, families and series in the order given.
 */

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

export interface HistogramSeries {
  readonly labels: Labels;
  /** Upper bounds, ascending, without +Inf. */
  readonly bounds: readonly number[];
  /** Observations ≤ each bound (not cumulative), then the overflow: bounds.length + 1 counts. */
  readonly counts: readonly number[];
  readonly sum: number;
}

export type MetricFamily =
  | { readonly name: string; readonly help: string; readonly type: 'counter' | 'gauge'; readonly samples: readonly Sample[] }
  | { readonly name: string; readonly help: string; readonly type: 'histogram'; readonly series: readonly HistogramSeries[] };

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelText(labels: Labels, extra?: readonly [string, string]): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

export function renderExposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    if (f.type !== 'histogram') {
      for (const s of f.samples) lines.push(`${f.name}${labelText(s.labels)} ${formatValue(s.value)}`);
      continue;
    }
    for (const h of f.series) {
      let cumulative = 0;
      h.bounds.forEach((b, i) => {
        cumulative += h.counts[i] ?? 0;
        lines.push(`${f.name}_bucket${labelText(h.labels, ['le', formatValue(b)])} ${cumulative}`);
      });
      cumulative += h.counts[h.bounds.length] ?? 0;
      lines.push(`${f.name}_bucket${labelText(h.labels, ['le', '+Inf'])} ${cumulative}`);
      lines.push(`${f.name}_sum${labelText(h.labels)} ${formatValue(h.sum)}`);
      lines.push(`${f.name}_count${labelText(h.labels)} ${cumulative}`);
    }
  }
  return lines.join('\n') + '\n';
}
