/** `lab changepoints DIR [--json]`: when, within one capture, a route's latency or a layer's share of it changed level. */
import { loadTraces, stderrLine } from '../../assembler/load-traces.ts';
import { detectChangepoints, renderChangepoints } from '../../analysis/detect-changepoints.ts';
import type { Invocation } from '../parse-args.ts';

export async function run(inv: Invocation): Promise<number> {
  const dir = inv.positionals.dir as string;
  const { assembled } = await loadTraces(dir, stderrLine);
  if (assembled.traces.length === 0) {
    stderrLine(`lab changepoints: ${dir} holds no traced requests`);
    return 1;
  }
  const minSegment = typeof inv.options['min-segment'] === 'number' ? inv.options['min-segment'] : 30;
  const changes = detectChangepoints(assembled.traces, { minSegment, wallOffsetNs: assembled.wallOffsetNs });
  process.stdout.write(inv.options.json === true ? JSON.stringify(changes, null, 2) + '\n' : renderChangepoints(changes));
  return 0;
}
