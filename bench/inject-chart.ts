/**
 * The injection chart: one row per experiment on its own scale, the expected amount as a line
 * inside its tolerance band, and each injected request's measured time as a dot (green inside,
 * red outside). Pure: the report in, an SVG document out.
 *
 *   db 100ms     |      ░░░░|░░░░ ●●          2/2
 *                0          100 ms          120
 */
import type { InjectReport } from './inject-report.ts';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));

export function renderInjectSvg(r: InjectReport): string {
  const rowH = 40;
  const top = 56;
  const left = 190;
  const plotW = 560;
  const W = left + plotW + 110;
  const H = top + Math.max(1, r.experiments.length) * rowH + 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="12" y="20" font-size="14" font-weight="bold">Injected vs where the trace put it (ms over the normal requests)</text>`,
    `<text x="12" y="38">attribution accuracy ${r.accuracy.passed}/${r.accuracy.total} (${(r.accuracy.share * 100).toFixed(0)}%); band: expected ± tolerance; dots: injected requests</text>`,
  ];
  r.experiments.forEach((e, k) => {
    const y = top + k * rowH;
    const qs = e.verdict.requests;
    const lo = Math.min(0, ...qs.map((q) => Math.min(q.measuredMs, q.expectedMs - q.toleranceMs)));
    const hi = Math.max(1, ...qs.map((q) => Math.max(q.measuredMs, q.expectedMs + q.toleranceMs))) * 1.1;
    const x = (v: number): number => left + ((v - lo) / (hi - lo)) * plotW;
    parts.push(`<rect x="0" y="${y}" width="${W}" height="${rowH}" fill="${k % 2 ? '#f7f7f7' : 'white'}"/>`);
    parts.push(`<text x="12" y="${y + 17}" font-weight="bold">${esc(e.name)}</text><text x="12" y="${y + 31}" fill="#555">${esc(e.layer)}</text>`);
    parts.push(`<line x1="${left}" y1="${y + 26}" x2="${left + plotW}" y2="${y + 26}" stroke="#bbb"/>`);
    // One band and one expected mark per distinct expectation (pool bursts and blocked requests have two).
    const bands = [...new Map(qs.map((q) => [`${q.expectedMs.toFixed(3)}/${q.toleranceMs.toFixed(3)}`, q])).values()];
    for (const b of bands) {
      parts.push(`<rect x="${x(b.expectedMs - b.toleranceMs).toFixed(1)}" y="${y + 8}" width="${(x(b.expectedMs + b.toleranceMs) - x(b.expectedMs - b.toleranceMs)).toFixed(1)}" height="18" fill="#cfe8cf"/>`);
      parts.push(`<line x1="${x(b.expectedMs).toFixed(1)}" y1="${y + 6}" x2="${x(b.expectedMs).toFixed(1)}" y2="${y + 28}" stroke="#2b6b2b" stroke-width="2"/>`);
    }
    qs.forEach((q, j) => {
      const cy = y + 12 + (j % 3) * 5;
      parts.push(
        `<circle cx="${x(q.measuredMs).toFixed(1)}" cy="${cy}" r="4" fill="${q.pass ? '#2e8b57' : '#d62728'}" stroke="#222" stroke-width="0.5"><title>${esc(`${q.requestId.slice(0, 8)} ${q.role}: ${num(q.measuredMs)} ms measured, ${num(q.expectedMs)} ± ${num(q.toleranceMs)} expected`)}</title></circle>`,
      );
    });
    parts.push(`<text x="${left}" y="${y + 38}" fill="#555" font-size="9">${num(lo)}</text><text x="${left + plotW}" y="${y + 38}" fill="#555" font-size="9" text-anchor="end">${num(hi)} ms</text>`);
    const s = e.summary;
    parts.push(`<text x="${left + plotW + 12}" y="${y + 22}" fill="${s.pass ? '#2e8b57' : '#d62728'}" font-weight="bold">${s.passed}/${s.total}</text>`);
  });
  if (r.experiments.length === 0) parts.push(`<text x="12" y="${top + 20}">no experiment ran</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
