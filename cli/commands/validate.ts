/**
 * `lab validate DIR [--json]`: how well the traces agree with client, nginx and
 * pg_stat_statements. The traces are checked as they are assembled, never all held.
 */
import { stderrLine, streamTraces, tapped } from '../../assembler/load-traces.ts';
import { validateCapture } from '../../assembler/validate-capture.ts';
import { formatSampling, formatValidation, samplingTally } from '../../assembler/validate-trace.ts';
import type { Invocation } from '../parse-args.ts';

export async function run(inv: Invocation): Promise<number> {
  const dir = inv.positionals.dir as string;
  const { capture, traces } = await streamTraces(dir, stderrLine);
  const tally = samplingTally();
  const results = await validateCapture(dir, capture, tapped(traces, (t) => tally.add(t)));
  if (tally.count() === 0) {
    stderrLine(`lab validate: ${dir} holds no traced requests`);
    return 1;
  }
  const sampling = tally.summary();
  process.stdout.write(
    inv.options.json === true
      ? JSON.stringify({ dir, traces: tally.count(), sampling, checks: results }, null, 2) + '\n'
      : formatSampling(sampling) + formatValidation(results),
  );
  return 0;
}
