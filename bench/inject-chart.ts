/**
 * The injection chart: one row per experiment, each injected request a dot at how far the
 * trace's time at the expected place lies from the expected amount (measured − expected, ms),
 * inside or outside the tolerance band around 0; the expected amount is printed beside the row.
 * Pure: the report in, an SVG document out.
 *
 *   db 100ms    |   ░░░░░░|●●░░░░░   |  5/5  ≈100 ms
 *              −12        0        +12 ms
 */
import { quantileOfSorted } from '../analysis/quantiles.ts';
import type { InjectReport } from './inject-report.ts';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));
const median = (xs: readonly number[]): number => quantileOfSorted([...xs].sort((a, b) => a - b), 0.5);

export function renderInjectSvg(r: InjectReport): string {
  const rowH = 34;
  const top = 62;
  const left = 170;
  const plotW = 520;
  const W = left + plotW + 190;
  const H = top + Math.max(1, r.experiments.length) * rowH + 30;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="12" y="20" font-size="14" font-weight="bold">Where the trace put the injected time: measured − expected, per injected request</text>`,
    `<text x="12" y="38">attribution accuracy ${r.accuracy.passed}/${r.accuracy.total} (${(r.accuracy.share * 100).toFixed(r.accuracy.passed === r.accuracy.total || r.accuracy.passed === 0 ? 0 : 1)}%); band: the tolerance; green inside, red outside; each row on its own scale</text>`,
    `<text x="${left + plotW + 12}" y="${top - 6}" fill="#555">passed</text><text x="${left + plotW + 60}" y="${top - 6}" fill="#555">expected (median)</text>`,
  ];
  r.experiments.forEach((e, k) => {
    const y = top + k * rowH;
    const qs = e.verdict.requests;
    const tol = median(qs.map((q) => q.toleranceMs));
    const span = Math.max(tol, ...qs.map((q) => Math.abs(q.measuredMs - q.expectedMs))) * 1.25 || 1;
    const x = (v: number): number => left + plotW / 2 + (v / span) * (plotW / 2);
    parts.push(`<rect x="0" y="${y}" width="${W}" height="${rowH}" fill="${k % 2 ? '#f7f7f7' : 'white'}"/>`);
    parts.push(`<text x="12" y="${y + 15}" font-weight="bold">${esc(e.name)}</text><text x="12" y="${y + 28}" fill="#555">${esc(e.summary.parts.map((p) => p.role).join(', '))}</text>`);
    parts.push(`<rect x="${x(-tol).toFixed(1)}" y="${y + 5}" width="${(x(tol) - x(-tol)).toFixed(1)}" height="16" fill="#cfe8cf"/>`);
    parts.push(`<line x1="${x(0).toFixed(1)}" y1="${y + 3}" x2="${x(0).toFixed(1)}" y2="${y + 23}" stroke="#2b6b2b" stroke-width="1.5"/>`);
    qs.forEach((q, j) => {
      const d = q.measuredMs - q.expectedMs;
      parts.push(
        `<circle cx="${x(d).toFixed(1)}" cy="${y + 9 + (j % 3) * 4}" r="3.5" fill="${q.pass ? '#2e8b57' : '#d62728'}" stroke="#222" stroke-width="0.5"><title>${esc(`${q.requestId.slice(0, 8)} ${q.role}: ${num(q.measuredMs)} ms at ${q.location}, expected ${num(q.expectedMs)} ± ${num(q.toleranceMs)}`)}</title></circle>`,
      );
    });
    parts.push(`<text x="${left}" y="${y + 31}" fill="#555" font-size="9">−${num(span)}</text><text x="${x(0).toFixed(1)}" y="${y + 31}" fill="#555" font-size="9" text-anchor="middle">0</text><text x="${left + plotW}" y="${y + 31}" fill="#555" font-size="9" text-anchor="end">+${num(span)} ms</text>`);
    const s = e.summary;
    const expected = s.parts.map((p) => `${num(p.expectedMs)}`).join(' / ');
    parts.push(`<text x="${left + plotW + 12}" y="${y + 17}" fill="${s.pass ? '#2e8b57' : '#d62728'}" font-weight="bold">${s.passed}/${s.total}</text>`);
    parts.push(`<text x="${left + plotW + 60}" y="${y + 17}" fill="#333">${esc(expected)} ms</text>`);
  });
  if (r.experiments.length === 0) parts.push(`<text x="12" y="${top + 20}">no experiment ran</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
