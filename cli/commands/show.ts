/** `lab show DIR [--id ID | --slowest N] [--waterfall]`: text trees (and terminal waterfalls) on stdout. */
import { stderrLine, streamTraces } from '../../assembler/load-traces.ts';
import { formatMachineContext, machineContext } from '../../assembler/machine-context.ts';
import { rootOf } from '../../assembler/span.ts';
import { renderTextTree } from '../../assembler/render-text-tree.ts';
import { renderWaterfallTerminal } from '../../assembler/render-waterfall-terminal.ts';
import { selectStreamed } from '../../assembler/select-streamed.ts';
import type { Invocation } from '../parse-args.ts';

/** Without --id or --slowest, show this many of the slowest requests. */
const DEFAULT_SLOWEST = 5;

export async function run(inv: Invocation): Promise<number> {
  const dir = inv.positionals.dir as string;
  const id = typeof inv.options.id === 'string' ? inv.options.id : undefined;
  let slowest = typeof inv.options.slowest === 'number' ? inv.options.slowest : undefined;
  if (id === undefined && slowest === undefined) {
    slowest = DEFAULT_SLOWEST;
    stderrLine(`showing the ${DEFAULT_SLOWEST} slowest requests (--id ID or --slowest N to choose)`);
  }
  const { traces, capture } = await streamTraces(dir, stderrLine);
  const sel = selectStreamed(traces, { id, slowest }, dir);
  if (!sel.ok) {
    stderrLine(`lab show: ${sel.error}`);
    return 1;
  }
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
  const width = process.stdout.columns ?? 100;
  const machine = capture.machine ?? [];
  const context = (t: Parameters<typeof renderTextTree>[0]): string => {
    const root = rootOf(t);
    const c = machineContext(machine, root.startNs, root.endNs);
    return c ? `${formatMachineContext(c)}\n` : '';
  };
  let first = true;
  for (const t of sel.traces) {
    process.stdout.write((first ? '' : '\n') + renderTextTree(t) + context(t) + (inv.options.waterfall === true ? '\n' + renderWaterfallTerminal(t, { width, color }) : ''));
    first = false;
  }
  return 0;
}
