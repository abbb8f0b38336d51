/**
 * A trace as a terminal waterfall: one line per span, bars scaled to the terminal width.
 * Without colour (not a TTY, NO_COLOR) each tier gets its own fill character instead.
 */
import { terminalSafe } from '../tracer/terminal-safe.ts';
import { formatMs } from './format-duration.ts';
import { childrenById, depthById, rootOf, SPAN_TIERS, traceExtentNs, type Span, type SpanTier, type Trace } from './span.ts';
import { ellipsize } from './render-waterfall-svg.ts';

export interface TerminalOptions {
  /** Total line width in columns (at least 40 is useful). */
  readonly width: number;
  /** ANSI colours; callers pass `stream.isTTY && !process.env.NO_COLOR`. */
  readonly color: boolean;
}

const ANSI: Readonly<Record<SpanTier, string>> = { nginx: '\x1b[32m', app: '\x1b[34m', postgres: '\x1b[33m', kernel: '\x1b[90m' };
const FILL: Readonly<Record<SpanTier, string>> = { nginx: '▓', app: '█', postgres: '▒', kernel: '░' };
const RESET = '\x1b[0m';

function paint(tier: SpanTier, n: number, color: boolean): string {
  if (n <= 0) return '';
  return color ? `${ANSI[tier]}${'█'.repeat(n)}${RESET}` : FILL[tier].repeat(n);
}

/** Renders the waterfall; every line is at most `width` columns (ANSI codes aside). */
export function renderWaterfallTerminal(trace: Trace, options: TerminalOptions): string {
  const width = Math.max(40, Math.floor(options.width));
  const root = rootOf(trace);
  // Work that outlived the root (after a client abort) stays on the chart.
  const extent = traceExtentNs(trace);
  const total = extent > 0n ? extent : 1n;
  const depth = depthById(trace);
  const kids = childrenById(trace);
  const order: Span[] = [];
  const walk = (s: Span): void => {
    order.push(s);
    for (const c of kids.get(s.id) ?? []) walk(c);
  };
  walk(root);
  const labelW = Math.min(38, Math.floor(width * 0.35));
  const durW = 8;
  const barW = width - labelW - durW - 3;
  const col = (ns: bigint): number => Math.round((Number(ns) / Number(total)) * barW);
  const lines: string[] = [];
  const axisEnd = formatMs(total);
  lines.push(`${' '.repeat(labelW)} |0ms${' '.repeat(Math.max(1, barW - 3 - axisEnd.length))}${axisEnd}|`);
  for (const s of order) {
    const label = ellipsize(`${'  '.repeat(depth.get(s.id) ?? 0)}${s.warnings.length > 0 ? '!' : ''}${terminalSafe(s.name)}`, labelW).padEnd(labelW);
    const a = Math.min(barW - 1, col(s.startNs - root.startNs));
    const b = Math.max(a + 1, Math.min(barW, col(s.endNs - root.startNs)));
    const barText = ' '.repeat(a) + paint(s.tier, b - a, options.color) + ' '.repeat(barW - b);
    lines.push(`${label} |${barText}|${formatMs(s.endNs - s.startNs).padStart(durW)}`);
  }
  const plainLegend = SPAN_TIERS.map((t) => `${FILL[t]} ${t}`).join('  ');
  const legend = SPAN_TIERS.map((t) => `${paint(t, 1, options.color)} ${t}`).join('  ');
  lines.push(`${labelW + 2 + plainLegend.length <= width ? ' '.repeat(labelW + 2) : ''}${legend}`);
  return lines.join('\n') + '\n';
}
