/**
 * Waterfall diagrams as standalone SVG: one trace (a row per span, indented by depth), or an
 * overview of many (a row per trace, its top-level spans as coloured segments on one axis).
 * Text is monospace so label widths can be computed exactly and labels never overflow.
 */
import { formatMs } from './format-duration.ts';
import { childrenById, depthById, rootOf, SPAN_TIERS, traceExtentNs, type Span, type SpanTier, type Trace } from './span.ts';

export const TIER_COLORS: Readonly<Record<SpanTier, string>> = {
  nginx: '#2e8b57',
  app: '#3b6fd8',
  postgres: '#d9822b',
  kernel: '#7d8590',
};

const FONT = 11;
const CHAR_W = FONT * 0.6;
const ROW_H = 20;
const WIDTH = 1200;
const LABEL_W = 330;
const BAR_X0 = LABEL_W + 10;
const BAR_X1 = WIDTH - 100;
const AXIS_Y = 78;

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/** `text` cut to at most `maxChars` characters, with an ellipsis when cut. */
export function ellipsize(text: string, maxChars: number): string {
  const chars = [...text];
  if (chars.length <= maxChars) return text;
  if (maxChars <= 1) return maxChars === 1 ? '…' : '';
  return chars.slice(0, maxChars - 1).join('') + '…';
}

/** A "nice" axis step (1, 2 or 5 × 10^k ns) giving about `target` ticks over `spanNs`. */
export function niceStepNs(spanNs: bigint, target = 8): bigint {
  const raw = Math.max(1, Number(spanNs) / target);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const m = raw / pow;
  const step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * pow;
  return BigInt(Math.max(1, Math.round(step)));
}

const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(2));

function header(title: string, height: number): string[] {
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace" font-size="${FONT}">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="14" font-weight="bold" fill="#1f2328">${escapeXml(ellipsize(title, Math.floor((WIDTH - 20) / (14 * 0.6))))}</text>`,
  ];
}

function legend(y: number): string[] {
  const out: string[] = [];
  let x = 10;
  for (const tier of SPAN_TIERS) {
    out.push(`<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${TIER_COLORS[tier]}"/>`);
    out.push(`<text x="${x + 14}" y="${y}" fill="#1f2328">${tier}</text>`);
    x += 14 + tier.length * CHAR_W + 18;
  }
  return out;
}

function axis(totalNs: bigint, scale: (ns: bigint) => number, bottom: number): string[] {
  const out: string[] = [`<line x1="${BAR_X0}" y1="${AXIS_Y}" x2="${BAR_X1}" y2="${AXIS_Y}" stroke="#57606a"/>`];
  const step = niceStepNs(totalNs);
  for (let t = 0n; t <= totalNs; t += step) {
    const x = fmt(scale(t));
    out.push(`<line x1="${x}" y1="${AXIS_Y - 4}" x2="${x}" y2="${bottom}" stroke="#d0d7de" stroke-width="0.5"/>`);
    out.push(`<text x="${x}" y="${AXIS_Y - 7}" text-anchor="middle" fill="#57606a">${escapeXml(formatAxis(t, step))}</text>`);
  }
  return out;
}

function formatAxis(ns: bigint, step: bigint): string {
  const ms = Number(ns) / 1e6;
  const decimals = step >= 1_000_000n ? 0 : step >= 100_000n ? 1 : step >= 10_000n ? 2 : 3;
  return `${ms.toFixed(decimals)} ms`;
}

/** A bar with its duration label inside when it fits, else beside it. */
function bar(x: number, y: number, w: number, color: string, label: string, tooltip: string, dashed: boolean): string[] {
  const out = [
    `<g><title>${escapeXml(tooltip)}</title>`,
    `<rect x="${fmt(x)}" y="${y + 3}" width="${fmt(Math.max(w, 1))}" height="${ROW_H - 6}" rx="2" fill="${color}"${dashed ? ' fill-opacity="0.45" stroke="#cf222e" stroke-dasharray="3 2"' : ''}/>`,
  ];
  const textW = label.length * CHAR_W;
  const ty = y + ROW_H / 2 + FONT * 0.35;
  if (w >= textW + 8) out.push(`<text x="${fmt(x + 4)}" y="${fmt(ty)}" fill="#ffffff">${escapeXml(label)}</text>`);
  else if (x + w + 4 + textW <= WIDTH - 6) out.push(`<text x="${fmt(x + w + 4)}" y="${fmt(ty)}" fill="#1f2328">${escapeXml(label)}</text>`);
  else out.push(`<text x="${fmt(x - 4)}" y="${fmt(ty)}" text-anchor="end" fill="#1f2328">${escapeXml(label)}</text>`);
  out.push('</g>');
  return out;
}

function tooltipOf(s: Span): string {
  const tags = Object.entries(s.tags).map(([k, v]) => `${k}=${String(v)}`);
  return [`${s.name} (${s.tier}) ${formatMs(s.endNs - s.startNs)}`, ...tags, ...s.warnings.map((w) => `warning: ${w}`)].join('\n');
}

/** One trace as a standalone SVG waterfall. */
export function renderWaterfallSvg(trace: Trace): string {
  const root = rootOf(trace);
  const total = root.endNs - root.startNs > 0n ? root.endNs - root.startNs : 1n;
  // Work that outlived the root (after a client abort) stays on the chart.
  const extent = traceExtentNs(trace) > total ? traceExtentNs(trace) : total;
  const depth = depthById(trace);
  const kids = childrenById(trace);
  // Depth-first in start order, as the trace is stored.
  const order: Span[] = [];
  const walk = (s: Span): void => {
    order.push(s);
    for (const c of kids.get(s.id) ?? []) walk(c);
  };
  walk(root);
  const top = AXIS_Y + 8;
  const height = top + order.length * ROW_H + 40;
  const scale = (ns: bigint): number => BAR_X0 + (Number(ns) / Number(extent)) * (BAR_X1 - BAR_X0);
  const warnings = trace.spans.reduce((n, s) => n + s.warnings.length, 0);
  const out = header(`Request ${trace.traceId}: ${root.name} (total: ${formatMs(total)})`, height);
  out.push(...legend(44));
  out.push(...axis(extent, scale, top + order.length * ROW_H));
  order.forEach((s, i) => {
    const y = top + i * ROW_H;
    if (i % 2 === 1) out.push(`<rect x="0" y="${y}" width="${WIDTH}" height="${ROW_H}" fill="#f6f8fa" fill-opacity="0.6"/>`);
    const indent = 10 + (depth.get(s.id) ?? 0) * 12;
    const maxChars = Math.floor((LABEL_W - indent) / CHAR_W);
    const name = s.warnings.length > 0 ? `! ${s.name}` : s.name;
    out.push(`<text x="${indent}" y="${fmt(y + ROW_H / 2 + FONT * 0.35)}" fill="${s.warnings.length > 0 ? '#cf222e' : '#1f2328'}">${escapeXml(ellipsize(name, maxChars))}</text>`);
    const x = scale(s.startNs - root.startNs);
    const w = scale(s.endNs - root.startNs) - x;
    out.push(...bar(x, y, w, TIER_COLORS[s.tier], formatMs(s.endNs - s.startNs), tooltipOf(s), s.tags.orphan === true));
  });
  const foot = top + order.length * ROW_H + 24;
  out.push(`<text x="10" y="${foot}" fill="#57606a">${order.length} spans${warnings > 0 ? `, ${warnings} warning(s) (rows marked !; hover a bar for details)` : ''}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** What the overview draws of `trace`: its root and the root's children, so that a streamed export need not hold the rest. */
export function overviewRowOf(trace: Trace): Trace {
  const root = rootOf(trace);
  return { traceId: trace.traceId, spans: [root, ...trace.spans.filter((s) => s.parentId === root.id)] };
}

/** Many traces (e.g. the slowest N) on one axis, each row its top-level spans coloured by tier. */
export function renderOverviewSvg(traces: readonly Trace[], title = 'Slowest requests'): string {
  const roots = traces.map((t) => ({ trace: t, root: rootOf(t) }));
  const longest = roots.reduce((m, r) => (r.root.endNs - r.root.startNs > m ? r.root.endNs - r.root.startNs : m), 1n);
  const top = AXIS_Y + 8;
  const height = top + roots.length * ROW_H + 40;
  const scale = (ns: bigint): number => BAR_X0 + (Number(ns) / Number(longest)) * (BAR_X1 - BAR_X0);
  const out = header(`${title}: ${traces.length} trace(s), longest ${formatMs(longest)}`, height);
  out.push(...legend(44));
  out.push(...axis(longest, scale, top + roots.length * ROW_H));
  roots.forEach(({ trace, root }, i) => {
    const y = top + i * ROW_H;
    if (i % 2 === 1) out.push(`<rect x="0" y="${y}" width="${WIDTH}" height="${ROW_H}" fill="#f6f8fa" fill-opacity="0.6"/>`);
    const label = `${root.name} ${trace.traceId.slice(0, 8)}`;
    out.push(`<text x="10" y="${fmt(y + ROW_H / 2 + FONT * 0.35)}" fill="#1f2328">${escapeXml(ellipsize(label, Math.floor((LABEL_W - 10) / CHAR_W)))}</text>`);
    const x0 = scale(0n);
    const xr = scale(root.endNs - root.startNs);
    out.push(`<g><title>${escapeXml(tooltipOf(root))}</title><rect x="${fmt(x0)}" y="${y + 3}" width="${fmt(Math.max(1, xr - x0))}" height="${ROW_H - 6}" fill="#d0d7de"/></g>`);
    for (const c of childrenById(trace).get(root.id) ?? []) {
      const x = scale(c.startNs - root.startNs);
      const w = Math.max(1, scale(c.endNs - root.startNs) - x);
      out.push(`<g><title>${escapeXml(tooltipOf(c))}</title><rect x="${fmt(x)}" y="${y + 3}" width="${fmt(w)}" height="${ROW_H - 6}" fill="${TIER_COLORS[c.tier]}"/></g>`);
    }
    out.push(`<text x="${fmt(xr + 4)}" y="${fmt(y + ROW_H / 2 + FONT * 0.35)}" fill="#1f2328">${escapeXml(formatMs(root.endNs - root.startNs))}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
