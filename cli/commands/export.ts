/**
 * `lab export DIR --format text|svg|jaeger|otlp|chrome [--out F] [--id ID | --slowest N]
 * [--endpoint URL]`: traces in another format, to stdout or a file (OTLP: to a collector).
 * Text, Jaeger and Chrome JSON are written trace by trace as they are assembled (Chrome after a
 * first pass for its time origin), OTLP sent in batches; an SVG overview holds what it draws of
 * each (the root and its children).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { stderrLine, streamTraces, tapped } from '../../assembler/load-traces.ts';
import { renderTextTree } from '../../assembler/render-text-tree.ts';
import { overviewRowOf, renderOverviewSvg, renderWaterfallSvg } from '../../assembler/render-waterfall-svg.ts';
import { selectStreamed } from '../../assembler/select-streamed.ts';
import { bySlowest } from '../../assembler/select-traces.ts';
import type { AssembledCapture, Trace } from '../../assembler/span.ts';
import { chromeOrigin, chromeTraceJson, toChromeTrace } from '../../assembler/to-chrome-trace.ts';
import { toJaegerDocument, toJaegerTrace } from '../../assembler/to-jaeger-trace.ts';
import type { Invocation } from '../parse-args.ts';

/** The file contents for a text format. Pure. */
export function formatTraces(format: string, traces: readonly Trace[], assembled: Pick<AssembledCapture, 'wallOffsetNs'>): string {
  switch (format) {
    case 'text':
      return traces.map((t) => renderTextTree(t)).join('\n');
    case 'svg':
      return traces.length === 1 ? renderWaterfallSvg(traces[0] as Trace) : renderOverviewSvg(bySlowest(traces));
    case 'jaeger':
      return JSON.stringify(toJaegerDocument(traces, assembled.wallOffsetNs)) + '\n';
    case 'chrome':
      return JSON.stringify(toChromeTrace(traces, assembled.wallOffsetNs)) + '\n';
    default:
      throw new Error(`unknown format '${format}'`);
  }
}

/**
 * `formatTraces` of a text, Jaeger or Chrome export, piece by piece as `traces` are read, so that no
 * more than one trace's text is held; the pieces joined are `formatTraces`' string. Chrome's time
 * axis starts at the earliest trace: `chromeOriginNs` from an earlier pass, else `traces` are held
 * to find it. SVG draws every trace at once, one piece: a lone trace's waterfall, or the overview
 * of what it draws of each (overviewRowOf).
 */
export function* formatTracesStreamed(format: string, traces: Iterable<Trace>, wallOffsetNs: bigint, chromeOriginNs?: bigint): Generator<string> {
  if (format === 'chrome') {
    if (chromeOriginNs !== undefined) {
      yield* chromeTraceJson(traces, chromeOriginNs, wallOffsetNs);
    } else {
      const list = [...traces];
      yield* chromeTraceJson(list, chromeOrigin(list), wallOffsetNs);
    }
    yield '\n';
    return;
  }
  if (format === 'text' || format === 'jaeger') {
    const json = format === 'jaeger';
    if (json) yield '{"data":[';
    let first = true;
    for (const t of traces) {
      const piece = json ? JSON.stringify(toJaegerTrace(t, wallOffsetNs)) : renderTextTree(t);
      yield first ? piece : (json ? ',' : '\n') + piece;
      first = false;
    }
    if (json) yield ']}\n';
    return;
  }
  if (format !== 'svg') {
    yield formatTraces(format, [...traces], { wallOffsetNs });
    return;
  }
  let first: Trace | undefined;
  const rows: Trace[] = [];
  for (const t of traces) {
    first ??= t;
    rows.push(overviewRowOf(t));
  }
  yield rows.length === 1 ? renderWaterfallSvg(first as Trace) : renderOverviewSvg(bySlowest(rows));
}

/** Pieces are gathered up to this many characters before each write. */
const WRITE_CHARS = 1 << 20;

/** Writes `pieces` with `write`, gathered into writes of about WRITE_CHARS. */
function writePieces(write: (text: string) => void, pieces: Iterable<string>): void {
  let pending: string[] = [];
  let size = 0;
  const flush = (): void => {
    if (pending.length > 0) write(pending.join(''));
    pending = [];
    size = 0;
  };
  for (const p of pieces) {
    pending.push(p);
    size += p.length;
    if (size >= WRITE_CHARS) flush();
  }
  flush();
}

export async function run(inv: Invocation): Promise<number> {
  const dir = inv.positionals.dir as string;
  const format = String(inv.options.format ?? 'jaeger');
  const endpoint = typeof inv.options.endpoint === 'string' ? inv.options.endpoint : undefined;
  if (format === 'otlp' && endpoint === undefined) {
    stderrLine('lab export: --format otlp needs --endpoint URL (an OTLP/HTTP collector, e.g. http://127.0.0.1:4318)');
    return 2;
  }
  if (format !== 'otlp' && endpoint !== undefined) {
    stderrLine('lab export: --endpoint applies only to --format otlp');
    return 2;
  }
  const { traces, wallOffsetNs } = await streamTraces(dir, stderrLine);
  const whole = inv.options.id === undefined && inv.options.slowest === undefined;
  // Every trace of a Chrome export shares one time axis: a first pass finds its zero.
  const originNs = format === 'chrome' && whole ? chromeOrigin(traces) : undefined;
  const sel = selectStreamed(
    traces,
    { id: typeof inv.options.id === 'string' ? inv.options.id : undefined, slowest: typeof inv.options.slowest === 'number' ? inv.options.slowest : undefined },
    dir,
  );
  if (!sel.ok) {
    stderrLine(`lab export: ${sel.error}`);
    return 1;
  }
  let count = 0;
  const counted = tapped(sel.traces, () => count++);
  if (format === 'otlp') {
    const { sendOtlp } = await import('../../assembler/send-otlp.ts');
    const sent = await sendOtlp(counted, wallOffsetNs, endpoint as string);
    stderrLine(`sent ${sent.spans} span(s) of ${sent.traces} trace(s) to ${sent.url}`);
    return 0;
  }
  const out = typeof inv.options.out === 'string' ? inv.options.out : undefined;
  const pieces = formatTracesStreamed(format, counted, wallOffsetNs, originNs);
  if (out) {
    const fd = openSync(out, 'w');
    try {
      writePieces((text) => writeSync(fd, text), pieces);
    } finally {
      closeSync(fd);
    }
  } else {
    // Writes to a pipe or a file are synchronous on Linux: nothing piles up in memory.
    writePieces((text) => process.stdout.write(text), pieces);
  }
  if (out) stderrLine(`wrote ${count} trace(s) as ${format} to ${out}`);
  return 0;
}
