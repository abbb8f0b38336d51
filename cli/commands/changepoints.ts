/** `lab changepoints DIR [--json]`: when, within one capture, a route's latency or a layer's share of it changed level. */
import { stderrLine, streamTraces, tapped } from '../../assembler/load-traces.ts';
import { detectChangepoints, renderChangepoints } from '../../analysis/detect-changepoints.ts';
import type { Invocation } from '../parse-args.ts';

export async function run(inv: Invocation): Promise<number> {
  const dir = inv.positionals.dir as string;
  const { traces, wallOffsetNs } = await streamTraces(dir, stderrLine);
  const minSegment = typeof inv.options['min-segment'] === 'number' ? inv.options['min-segment'] : 30;
  let count = 0;
  const changes = detectChangepoints(tapped(traces, () => count++), { minSegment, wallOffsetNs });
  if (count === 0) {
    stderrLine(`lab changepoints: ${dir} holds no traced requests`);
    return 1;
  }
  process.stdout.write(inv.options.json === true ? JSON.stringify(changes, null, 2) + '\n' : renderChangepoints(changes));
  return 0;
}
