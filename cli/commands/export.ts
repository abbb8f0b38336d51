/**
 * `lab export DIR --format text|svg|jaeger|otlp|chrome [--out F] [--id ID | --slowest N]
 * [--endpoint URL]`: traces in another format, to stdout or a file (OTLP: to a collector).
 */
import { writeFileSync } from 'node:fs';
import { loadTraces, stderrLine } from '../../assembler/load-traces.ts';
import { renderTextTree } from '../../assembler/render-text-tree.ts';
import { renderOverviewSvg, renderWaterfallSvg } from '../../assembler/render-waterfall-svg.ts';
import { bySlowest, selectTraces } from '../../assembler/select-traces.ts';
import type { AssembledCapture, Trace } from '../../assembler/span.ts';
import { toChromeTrace } from '../../assembler/to-chrome-trace.ts';
import { toJaegerDocument } from '../../assembler/to-jaeger-trace.ts';
import type { Invocation } from '../parse-args.ts';

/** The file contents for a text format. Pure. */
export function formatTraces(format: string, traces: readonly Trace[], assembled: AssembledCapture): string {
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
  const { assembled } = await loadTraces(dir, stderrLine);
  const sel = selectTraces(
    assembled.traces,
    { id: typeof inv.options.id === 'string' ? inv.options.id : undefined, slowest: typeof inv.options.slowest === 'number' ? inv.options.slowest : undefined },
    dir,
  );
  if (!sel.ok) {
    stderrLine(`lab export: ${sel.error}`);
    return 1;
  }
  if (format === 'otlp') {
    const { sendOtlp } = await import('../../assembler/send-otlp.ts');
    const sent = await sendOtlp(sel.traces, assembled.wallOffsetNs, endpoint as string);
    stderrLine(`sent ${sent.spans} span(s) of ${sel.traces.length} trace(s) to ${sent.url}`);
    return 0;
  }
  const text = formatTraces(format, sel.traces, assembled);
  const out = typeof inv.options.out === 'string' ? inv.options.out : undefined;
  if (out) {
    writeFileSync(out, text);
    stderrLine(`wrote ${sel.traces.length} trace(s) as ${format} to ${out}`);
  } else {
    process.stdout.write(text);
  }
  return 0;
}
