/** `lab baseline DIR [--out F]`: the capture's per-route baseline as JSON (to F, else stdout). */
import { writeFileSync } from 'node:fs';
import { stderrLine, streamTraces } from '../../assembler/load-traces.ts';
import { buildBaseline } from '../../analysis/build-baseline.ts';
import type { Invocation } from '../parse-args.ts';

export async function run(inv: Invocation): Promise<number> {
  const dir = inv.positionals.dir as string;
  const out = typeof inv.options.out === 'string' ? inv.options.out : undefined;
  const { traces } = await streamTraces(dir, stderrLine);
  const baseline = buildBaseline(traces, dir);
  if (baseline.requests === 0) {
    stderrLine(`lab baseline: ${dir} holds no traced requests`);
    return 1;
  }
  const json = JSON.stringify(baseline, null, 2) + '\n';
  if (out === undefined) process.stdout.write(json);
  else writeFileSync(out, json);
  const routes = Object.entries(baseline.routes).map(([r, b]) => `${r} (${b.requests})`);
  stderrLine(`baseline of ${baseline.requests} request(s) over ${routes.length} route(s): ${routes.join(', ')}${out ? ` written to ${out}` : ''}`);
  return 0;
}
