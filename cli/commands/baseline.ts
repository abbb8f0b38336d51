/** `lab baseline DIR [--out F]`: the capture's per-route baseline as JSON (to F, else stdout). */
import { writeFileSync } from 'node:fs';
import { loadTraces, stderrLine } from '../../assembler/load-traces.ts';
import { buildBaseline } from '../../analysis/build-baseline.ts';
import type { Invocation } from '../parse-args.ts';

export async function run(inv: Invocation): Promise<number> {
  const dir = inv.positionals.dir as string;
  const out = typeof inv.options.out === 'string' ? inv.options.out : undefined;
  const { assembled } = await loadTraces(dir, stderrLine);
  if (assembled.traces.length === 0) {
    stderrLine(`lab baseline: ${dir} holds no traced requests`);
    return 1;
  }
  const baseline = buildBaseline(assembled.traces, dir);
  const json = JSON.stringify(baseline, null, 2) + '\n';
  if (out === undefined) process.stdout.write(json);
  else writeFileSync(out, json);
  const routes = Object.entries(baseline.routes).map(([r, b]) => `${r} (${b.requests})`);
  stderrLine(`baseline of ${baseline.requests} request(s) over ${routes.length} route(s): ${routes.join(', ')}${out ? ` written to ${out}` : ''}`);
  return 0;
}
