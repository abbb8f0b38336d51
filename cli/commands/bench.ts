import { join } from 'node:path';
import { REPO_ROOT } from '../../lab/lifecycle/app-tier.ts';
import { hasBpfPrivileges } from '../../tracer/bpf-privileges.ts';
import { breakdownConditions, defaultWorkloads, floorConditions, OVERHEAD_CONDITIONS, selectConditions, type Workload } from '../../bench/overhead-plan.ts';
import { runOverheadBench } from '../../bench/run-overhead-bench.ts';
import { runInject } from './bench-inject.ts';
import type { Invocation } from '../parse-args.ts';

const BENCHES = ['overhead', 'inject'] as const;

const say = (line: string): void => {
  process.stderr.write(`lab bench: ${line}\n`);
};

const list = (v: unknown): string[] | undefined =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

/** `lab bench NAME`: a benchmark that measures side by side in one run and writes a results folder. */
export async function run(inv: Invocation): Promise<number> {
  const name = inv.positionals.name;
  if (name === 'inject') return runInject(inv);
  if (name !== 'overhead') {
    say(`unknown benchmark '${name}' (known: ${BENCHES.join(', ')})`);
    return 2;
  }
  const o = inv.options;
  const injectOnly = ['only', 'repeats'].find((k) => k in o) ?? (o['disk-method'] !== 'auto' ? 'disk-method' : undefined);
  if (injectOnly) {
    say(`--${injectOnly} is an option of lab bench inject`);
    return 2;
  }
  const quick = o.quick === true;
  const num = (key: string, normal: number, short: number): number => (typeof o[key] === 'number' ? (o[key] as number) : quick ? short : normal);
  const all = [...OVERHEAD_CONDITIONS, ...breakdownConditions(), ...floorConditions()];
  const wanted = list(o.conditions) ?? [
    ...OVERHEAD_CONDITIONS.map((c) => c.key),
    ...(o.breakdown === true ? breakdownConditions().map((c) => c.key) : []),
    ...(o.floor === true ? floorConditions().map((c) => c.key) : []),
  ];
  const conditions = selectConditions(all, wanted);
  if (typeof conditions === 'string') {
    say(conditions);
    return 2;
  }
  const known = defaultWorkloads(o.rate as number, o['light-rate'] as number);
  const workloads: Workload[] = [];
  for (const k of list(o.workloads) ?? known.map((w) => w.key)) {
    const w = known.find((x) => x.key === k);
    if (!w) {
      say(`unknown workload '${k}' (known: ${known.map((x) => x.key).join(', ')})`);
      return 2;
    }
    if (!workloads.includes(w)) workloads.push(w);
  }
  if (conditions.some((c) => c.trace) && !hasBpfPrivileges()) {
    say('tracing conditions need root (CAP_BPF and CAP_PERFMON): run `sudo lab bench overhead`');
    return 1;
  }
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    say('interrupted: finishing the current run, then writing the results');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const outDir = typeof o.out === 'string' ? o.out : join(REPO_ROOT, 'bench', 'results', 'overhead');
    const r = await runOverheadBench(
      {
        rounds: num('rounds', 5, 2),
        durationS: num('duration', 15, 5),
        saturateS: num('saturate', 5, 2),
        connections: 10,
        saturateConnections: 64,
        workloads,
        conditions,
        outDir,
        budgetS: o.budget as number,
        interrupted: () => interrupted,
      },
      say,
    );
    for (const f of r.files) say(`wrote ${f}`);
    process.stdout.write(`${outDir}\n`);
    if (interrupted || r.runs.length === 0) return 1;
    return r.runs.some((x) => x.failures > 0) ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
