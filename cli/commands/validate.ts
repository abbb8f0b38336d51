/** `lab validate DIR [--json]`: how well the traces agree with client, nginx and pg_stat_statements. */
import { loadTraces, stderrLine } from '../../assembler/load-traces.ts';
import { validateCapture } from '../../assembler/validate-capture.ts';
import { formatSampling, formatValidation, summarizeSampling } from '../../assembler/validate-trace.ts';
import type { Invocation } from '../parse-args.ts';

export async function run(inv: Invocation): Promise<number> {
  const dir = inv.positionals.dir as string;
  const { capture, assembled } = await loadTraces(dir, stderrLine);
  if (assembled.traces.length === 0) {
    stderrLine(`lab validate: ${dir} holds no traced requests`);
    return 1;
  }
  const results = await validateCapture(dir, capture, assembled.traces);
  const sampling = summarizeSampling(assembled.traces);
  process.stdout.write(
    inv.options.json === true
      ? JSON.stringify({ dir, traces: assembled.traces.length, sampling, checks: results }, null, 2) + '\n'
      : formatSampling(sampling) + formatValidation(results),
  );
  return 0;
}
