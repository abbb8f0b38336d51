/**
 * `lab bench overhead` runs → per workload and condition: CPU per request (the whole machine
 * minus the load generator) and its overhead over the untraced runs of the same round, BPF time
 * per request by family and program, probe hits, the loader's CPU, records and bytes, client
 * latency at the fixed rate, drops and saturated throughput; then the targets, a Markdown report
 * and an SVG chart. Pure.
 */
import type { FamilyCost } from './bpf-prog-stats.ts';
import { STATS_OVERHEAD_NS_PER_RUN } from './bpf-prog-stats.ts';
import { medianInterval, pairedOverheadsPct } from './overhead-pairing.ts';
import { floorConditions } from './overhead-plan.ts';
import type { ProbeCost } from './probe-cost.ts';

/** One fixed-rate run of one condition. */
export interface OverheadRun {
  readonly workload: string;
  readonly condition: string;
  readonly round: number;
  /** Wall-clock ms when the fixed-rate window started and ended (absent in older results). */
  readonly startedAtMs?: number;
  readonly endedAtMs?: number;
  readonly responses: number;
  readonly durationS: number;
  readonly failures: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Busy CPU of the whole machine over the run, µs. */
  readonly machineBusyUs: number;
  /** The load generator's own CPU (this process), µs. */
  readonly loadgenCpuUs: number;
  /** CPU per request of each second of the run (machine less load generator), µs; their median is
   * the run's figure when present, so one busy second (a checkpoint, a vacuum) does not move it. */
  readonly perSecondCpuUs?: readonly number[];
  /** The CPU groups of the lab's processes and of the loader (cgroup v2, exact), µs; absent without cgroup v2. */
  readonly groupsCpuUs?: number;
  /** The same per request, for each second of the run. */
  readonly perSecondGroupsCpuUs?: readonly number[];
  /** nginx, the app and PostgreSQL processes (the loader not included), µs. */
  readonly labCpuUs: number;
  /** The loader, which is also the capture writer (events.bin), µs; 0 untraced. */
  readonly loaderCpuUs: number;
  /** Per family, from bpf_stats; empty untraced. */
  readonly bpf: readonly FamilyCost[];
  readonly records: number;
  readonly bytes: number;
  /** Loader loss counters over the run. */
  readonly drops: Readonly<Record<string, number>>;
}

/** One condition at the lab's maximum load. */
export interface SaturatedRun {
  readonly workload: string;
  readonly condition: string;
  readonly requestsPerSecond: number;
  readonly failures: number;
  readonly drops: Readonly<Record<string, number>>;
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** A median over rounds with its confidence interval (overhead-pairing.ts) beside the range. */
export interface Estimate extends Spread {
  readonly low: number;
  readonly high: number;
  /** The interval's coverage, 0..1. */
  readonly level: number;
}

export interface ConditionSummary {
  readonly workload: string;
  readonly condition: string;
  readonly runs: number;
  /** (machine busy − load generator) / responses, µs. */
  readonly cpuPerRequestUs: Spread;
  /** Against the untraced runs before and after each run, interpolated, %; null for the untraced rows. */
  readonly overheadPct: Estimate | null;
  /** What the CPU figures count: the lab's and the loader's CPU groups, or the machine less the load generator. */
  readonly cpuSource: 'groups' | 'machine';
  readonly labCpuPerRequestUs: number;
  readonly loaderCpuPerRequestUs: number;
  /**
   * Tracing's cost counted from its parts rather than measured as a difference, µs per request,
   * and as % of the untraced CPU per request: each program run at what the calibration measured a
   * hook of its kind to cost here (trap or dispatch and an empty run) plus its bpf_stats time
   * beyond an empty program's, the app's probe calls, and the loader's CPU (accountedCost); unlike
   * the measured overhead it does not move with the host's noise.
   */
  readonly accountedUs: number;
  readonly accountedPct: number | null;
  readonly bpfPerRequestUs: number;
  /** Of bpfPerRequestUs, what bpf_stats' own accounting adds (estimate). */
  readonly statsOverheadPerRequestUs: number;
  readonly bpfByFamily: readonly { readonly family: string; readonly usPerRequest: number; readonly runsPerRequest: number; readonly nsPerRun: number }[];
  readonly topPrograms: readonly { readonly family: string; readonly name: string; readonly usPerRequest: number; readonly runsPerRequest: number; readonly nsPerRun: number }[];
  /** Program runs of the app's USDT probes per request (the usdt family). */
  readonly usdtHitsPerRequest: number;
  /** PostgreSQL USDT hits per request (the postgres family). */
  readonly pgHitsPerRequest: number;
  readonly recordsPerRequest: number;
  readonly bytesPerRequest: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failures: number;
  readonly drops: number;
  readonly saturatedRps: number | null;
}

/**
 * What a breakpoint trap costs beyond the program it runs, ns: the app's probe sites are 5-byte nops
 * (the uprobe trampoline), PostgreSQL's 1-byte nops (an int3 each); bench/usdt-probe-cost.ts
 * measures both on a machine (here ~300 and ~550). Estimates, for the accounted cost only.
 */
export const TRAP_NS = { usdt: 300, postgres: 550 } as const;

/** Median of `values` (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

const perRequest = (r: OverheadRun, x: number): number => (r.responses > 0 ? x / r.responses : NaN);
/** CPU per request of one run, µs: the lab's and the loader's CPU groups where measured, else the
 * machine less the load generator; the median of its seconds, else the whole window's. */
export const cpuPerRequest = (r: OverheadRun): number => {
  if (r.groupsCpuUs !== undefined) return r.perSecondGroupsCpuUs && r.perSecondGroupsCpuUs.length >= 3 ? median(r.perSecondGroupsCpuUs) : perRequest(r, r.groupsCpuUs);
  return r.perSecondCpuUs && r.perSecondCpuUs.length >= 3 ? median(r.perSecondCpuUs) : perRequest(r, r.machineBusyUs - r.loadgenCpuUs);
};

/** Families whose hooks are USDT sites: the app's (5-byte nops) and PostgreSQL's (1-byte nops). */
const SITE_KIND: Readonly<Record<string, 'nop5' | 'nop1'>> = { usdt: 'nop5', postgres: 'nop1' };

/** What bpf_stats adds to one run of a program of `family`, as the calibration measured it for its hook kind; undefined where it did not. */
const measuredStatsAddedNs = (family: string, cal: ProbeCost | null): number | undefined =>
  SITE_KIND[family] ? cal?.usdtStatsAddedNs : cal?.tracepointStatsAddedNs;

/** What bpf_stats itself added to a run's program runs, ns: measured per hook kind by the calibration, else the estimate. */
export function statsAddedNs(r: OverheadRun, cal: ProbeCost | null): number {
  let ns = 0;
  for (const f of r.bpf) ns += f.runCnt * (measuredStatsAddedNs(f.family, cal) ?? STATS_OVERHEAD_NS_PER_RUN);
  return ns;
}

/**
 * Tracing's cost in one run from its parts, µs (not per request). With a calibration, a family's
 * runs each cost what a hook of its kind costs here with an empty program, less what bpf_stats
 * adds to a run (the bench's instrument, not tracing's cost; when the calibration measured it),
 * plus the bpf_stats time its programs took beyond an empty one's; the app's probe runs add the
 * addon's call; without one, bpf_stats time and the TRAP_NS estimates. The loader's CPU on top.
 */
export function accountedCost(r: OverheadRun, cal: ProbeCost | null): number {
  let ns = 0;
  for (const f of r.bpf) {
    const site = SITE_KIND[f.family];
    if (!cal) {
      ns += f.runTimeNs + (site === 'nop5' ? TRAP_NS.usdt : site === 'nop1' ? TRAP_NS.postgres : 0) * f.runCnt;
      continue;
    }
    // A run costs at least what bpf_stats timed of an empty program: a noisier calibration below
    // that is not believed.
    const hook = site === 'nop5' ? cal.nop5Ns : site === 'nop1' ? cal.nop1Ns : Math.max(cal.tracepointNs, cal.tracepointStatsNs);
    const added = measuredStatsAddedNs(f.family, cal) ?? 0;
    const empty = site ? cal.usdtStatsNs : cal.tracepointStatsNs;
    ns += f.runCnt * Math.max(0, hook - added) + Math.max(0, f.runTimeNs - f.runCnt * empty) + (f.family === 'usdt' ? f.runCnt * cal.appFireNs : 0);
  }
  return ns / 1000 + r.loaderCpuUs;
}
const sumDrops = (d: Readonly<Record<string, number>>): number => Object.values(d).reduce((a, b) => a + b, 0);

const timed = (r: OverheadRun): r is OverheadRun & { startedAtMs: number; endedAtMs: number } => r.startedAtMs !== undefined && r.endedAtMs !== undefined;

/** Each run of `mine` over its untraced baseline, %: interpolated between its neighbours in time,
 * or (results without times) the untraced run of its round. */
function overheadsPct(mine: readonly OverheadRun[], untraced: readonly OverheadRun[]): number[] {
  if (mine.every(timed) && untraced.every(timed)) {
    const tv = (r: OverheadRun & { startedAtMs: number; endedAtMs: number }) => ({ startedAtMs: r.startedAtMs, endedAtMs: r.endedAtMs, value: cpuPerRequest(r) });
    return pairedOverheadsPct(mine.filter(timed).map(tv), untraced.filter(timed).map(tv));
  }
  return mine.flatMap((r) => {
    const base = untraced.find((b) => b.round === r.round);
    if (!base) return [];
    const u = cpuPerRequest(base);
    return [((cpuPerRequest(r) - u) / u) * 100];
  });
}

/** One summary per workload and condition, in the order they first appear in `runs`. */
export function summarizeOverheadRuns(runs: readonly OverheadRun[], baseline: string, saturation: readonly SaturatedRun[] = [], cal: ProbeCost | null = null): ConditionSummary[] {
  const keys = [...new Set(runs.map((r) => `${r.workload}\u0000${r.condition}`))];
  return keys.map((key) => {
    const [workload, condition] = key.split('\u0000') as [string, string];
    const mine = runs.filter((r) => r.workload === workload && r.condition === condition);
    const paired = overheadsPct(mine, runs.filter((b) => b.workload === workload && b.condition === baseline));
    const families = new Map<string, { us: number[]; runs: number[]; ns: number; cnt: number }>();
    const programs = new Map<string, { family: string; name: string; us: number[]; runs: number[]; ns: number; cnt: number }>();
    for (const r of mine) {
      for (const f of r.bpf) {
        const e = families.get(f.family) ?? { us: [], runs: [], ns: 0, cnt: 0 };
        e.us.push(perRequest(r, f.runTimeNs / 1000));
        e.runs.push(perRequest(r, f.runCnt));
        e.ns += f.runTimeNs;
        e.cnt += f.runCnt;
        families.set(f.family, e);
        for (const p of f.programs) {
          const k = `${p.family}/${p.name}`;
          const q = programs.get(k) ?? { family: p.family, name: p.name, us: [], runs: [], ns: 0, cnt: 0 };
          q.us.push(perRequest(r, p.runTimeNs / 1000));
          q.runs.push(perRequest(r, p.runCnt));
          q.ns += p.runTimeNs;
          q.cnt += p.runCnt;
          programs.set(k, q);
        }
      }
    }
    const familyRuns = (name: string): number => median(mine.map((r) => perRequest(r, r.bpf.find((f) => f.family === name)?.runCnt ?? 0)));
    const untracedCpu = median(runs.filter((r) => r.workload === workload && r.condition === baseline).map(cpuPerRequest));
    const bpfUs = median(mine.map((r) => perRequest(r, r.bpf.reduce((s, f) => s + f.runTimeNs, 0) / 1000)));
    const loaderUs = median(mine.map((r) => perRequest(r, r.loaderCpuUs)));
    const accounted = median(mine.map((r) => perRequest(r, accountedCost(r, cal))));
    const accountedUs = Number.isFinite(accounted) ? accounted : 0;
    const totalRuns = median(mine.map((r) => perRequest(r, r.bpf.reduce((s, f) => s + f.runCnt, 0))));
    const sat = saturation.filter((s) => s.workload === workload && s.condition === condition);
    return {
      workload,
      condition,
      runs: mine.length,
      cpuPerRequestUs: spread(mine.map(cpuPerRequest)),
      overheadPct: condition === baseline || paired.length === 0 ? null : { ...spread(paired), ...medianInterval(paired) },
      cpuSource: mine.every((r) => r.groupsCpuUs !== undefined) ? 'groups' : 'machine',
      labCpuPerRequestUs: median(mine.map((r) => perRequest(r, r.labCpuUs))),
      loaderCpuPerRequestUs: loaderUs,
      accountedUs,
      accountedPct: condition === baseline || !Number.isFinite(untracedCpu) || untracedCpu <= 0 ? null : (accountedUs / untracedCpu) * 100,
      bpfPerRequestUs: bpfUs,
      statsOverheadPerRequestUs: Number.isFinite(totalRuns) ? median(mine.map((r) => perRequest(r, statsAddedNs(r, cal) / 1000))) : 0,
      bpfByFamily: [...families.entries()]
        .map(([family, e]) => ({ family, usPerRequest: median(e.us), runsPerRequest: median(e.runs), nsPerRun: e.cnt > 0 ? e.ns / e.cnt : 0 }))
        .sort((a, b) => b.usPerRequest - a.usPerRequest),
      topPrograms: [...programs.values()]
        .map((p) => ({ family: p.family, name: p.name, usPerRequest: median(p.us), runsPerRequest: median(p.runs), nsPerRun: p.cnt > 0 ? p.ns / p.cnt : 0 }))
        .sort((a, b) => b.usPerRequest - a.usPerRequest)
        .slice(0, 12),
      usdtHitsPerRequest: familyRuns('usdt'),
      pgHitsPerRequest: familyRuns('postgres'),
      recordsPerRequest: median(mine.map((r) => perRequest(r, r.records))),
      bytesPerRequest: median(mine.map((r) => perRequest(r, r.bytes))),
      p50Ms: median(mine.map((r) => r.p50Ms)),
      p99Ms: median(mine.map((r) => r.p99Ms)),
      failures: mine.reduce((n, r) => n + r.failures, 0),
      drops: mine.reduce((n, r) => n + sumDrops(r.drops), 0) + sat.reduce((n, s) => n + sumDrops(s.drops), 0),
      saturatedRps: sat.length > 0 ? median(sat.map((s) => s.requestsPerSecond)) : null,
    };
  });
}

export interface Target {
  readonly name: string;
  /** The measured figure, in `unit`; null when the bench did not run what it needs. */
  readonly value: number | null;
  /** Its confidence interval where it is a median over rounds. */
  readonly interval?: { readonly low: number; readonly high: number; readonly level: number };
  readonly limit: number;
  readonly unit: string;
  /** The figure (the median) within the limit. */
  readonly met: boolean | null;
}

/** The cost issue's targets, read off the summaries of one workload. Pure. */
export function overheadTargets(rows: readonly ConditionSummary[], workload: string): Target[] {
  const row = (c: string): ConditionSummary | undefined => rows.find((r) => r.workload === workload && r.condition === c);
  const full = row('full, sample 1');
  const low = row('full, sample 0.01');
  const target = (name: string, value: number | null | undefined, limit: number, unit: string, est?: Estimate | null): Target => {
    const v = value === undefined || value === null || !Number.isFinite(value) ? null : value;
    return { name, value: v, ...(est && est.level > 0 ? { interval: { low: est.low, high: est.high, level: est.level } } : {}), limit, unit, met: v === null ? null : v <= limit };
  };
  const allRows = rows.filter((r) => r.workload === workload && r.condition !== 'untraced');
  return [
    target('full tracing, sample 1: CPU per request over untraced', full?.overheadPct?.median, 3, '%', full?.overheadPct),
    target('full tracing, sample 1: accounted cost', full?.accountedPct, 3, '%'),
    target('sample 0.01: CPU per request over untraced', low?.overheadPct?.median, 0.5, '%', low?.overheadPct),
    target('sample 0.01: accounted cost', low?.accountedPct, 0.5, '%'),
    target('sample 0.01: BPF time per request as a share of sample 1', full && low && full.bpfPerRequestUs > 0 ? (low.bpfPerRequestUs / full.bpfPerRequestUs) * 100 : null, 15, '%'),
    target('records dropped, at the fixed rate and saturated', allRows.length > 0 ? allRows.reduce((n, r) => n + r.drops, 0) : null, 0, 'records'),
  ];
}

export interface FloorShare {
  readonly condition: string;
  readonly bpfPerRequestUs: number;
  readonly socketsPerRequestUs: number;
  /** Its BPF time per request as % of sample 1's. */
  readonly shareOfFullPct: number;
}

const FLOOR_LADDER = [...floorConditions().map((c) => c.name), 'full, sample 0.01'];

/**
 * With `--floor`: sample 0.01's BPF time per request with the socket programs stopping at entry,
 * after their port check, at the socket's state, and doing their work, each as a share of sample
 * 1's; empty when the floor conditions or sample 1 did not run on `workload`. Pure.
 */
export function floorShares(rows: readonly ConditionSummary[], workload: string): FloorShare[] {
  const row = (c: string): ConditionSummary | undefined => rows.find((r) => r.workload === workload && r.condition === c);
  const full = row('full, sample 1');
  if (!full || full.bpfPerRequestUs <= 0 || !row(FLOOR_LADDER[0]!)) return [];
  return FLOOR_LADDER.flatMap((c) => {
    const r = row(c);
    if (!r) return [];
    const sockets = r.bpfByFamily.find((f) => f.family === 'sockets')?.usPerRequest ?? 0;
    return [{ condition: c, bpfPerRequestUs: r.bpfPerRequestUs, socketsPerRequestUs: sockets, shareOfFullPct: (r.bpfPerRequestUs / full.bpfPerRequestUs) * 100 }];
  });
}

const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '–');
const signed = (n: number, f: (x: number) => string): string => `${n >= 0 ? '+' : ''}${f(n)}`;
const pct = (s: Estimate | null): string =>
  s ? `${signed(s.median, f2)}% [${signed(s.low, f2)}, ${signed(s.high, f2)}] (${f1(s.min)}..${f1(s.max)})` : '–';

function table(header: readonly string[], body: readonly (readonly string[])[]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)];
}

export interface OverheadReportInput {
  readonly measuredAt: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly machine: Readonly<Record<string, unknown>>;
  readonly rows: readonly ConditionSummary[];
  readonly targets: readonly Target[];
  readonly warnings: readonly string[];
  /** What the calibration measured (probe-cost), null without one. */
  readonly calibration: ProbeCost | null;
}

/** The report as Markdown: one table per workload, BPF cost by family and program, the targets. */
export function renderOverheadMarkdown(r: OverheadReportInput): string {
  const out: string[] = ['# Tracing overhead', '', `Measured ${r.measuredAt}. Settings: ${JSON.stringify(r.settings)}.`, `Machine: ${JSON.stringify(r.machine)}.`, ''];
  const cal = r.calibration;
  const source = r.rows.every((x) => x.cpuSource === 'groups')
    ? "the CPU time of the lab's processes (nginx, the app, PostgreSQL and its backends) and of the loader, counted exactly in cgroups of the bench's own"
    : "the whole machine's busy time (idle and steal subtracted) minus the load generator's own";
  out.push(
    `CPU per request is ${source}, divided by the responses: the median over each run's seconds. ` +
      'Overhead compares each traced run with the untraced runs just before and after it, interpolated to its midpoint (a drift of the host over a round cancels): ' +
      'the median over rounds, its confidence interval in square brackets (order statistics, at least 90%), and min..max. ' +
      (cal
        ? `"Accounted" adds up tracing's parts instead: every program run at what a hook of its kind costs here with an empty program (calibrated: a 1-byte-nop USDT hit ${f1(cal.nop1Ns)} ns, a 5-byte-nop one ${f1(cal.nop5Ns)} ns, a tracepoint run ${f1(cal.tracepointNs)} ns), plus its bpf_stats time beyond an empty program's (${f1(cal.usdtStatsNs)} ns a USDT run, ${f1(cal.tracepointStatsNs)} ns a tracepoint run), the app's probe calls (${f1(cal.appFireNs)} ns each) and the loader's CPU, against the untraced CPU per request; it does not move with the host's noise. `
        : `"Accounted" adds up tracing's parts instead: BPF time, the breakpoint traps (${TRAP_NS.usdt} ns per app probe hit, ${TRAP_NS.postgres} ns per PostgreSQL one, estimates) and the loader's CPU, against the untraced CPU per request. `) +
      (cal?.tracepointStatsAddedNs !== undefined && cal.usdtStatsAddedNs !== undefined
        ? `BPF time comes from the kernel's bpf_stats, which itself adds ${f1(cal.tracepointStatsAddedNs)} ns to a tracepoint run and ${f1(cal.usdtStatsAddedNs)} ns to a USDT run here (calibrated, stats switched on and off around the same attached loops): included in the traced runs' measured CPU; the accounted cost takes it off the hook costs above (measured with stats on), for tracing costs nobody that much without the bench. `
        : `BPF time comes from the kernel's bpf_stats, which itself adds ~${STATS_OVERHEAD_NS_PER_RUN} ns per program run to the traced runs (included in their CPU). `) +
      'Not counted anywhere: the files family\'s syscall tracepoints send every syscall of every task through the slow path.',
    '',
  );
  for (const workload of [...new Set(r.rows.map((x) => x.workload))]) {
    const rows = r.rows.filter((x) => x.workload === workload);
    out.push(`## ${workload}`, '');
    out.push(
      ...table(
        ['condition', 'runs', 'CPU/request µs', 'overhead', 'accounted', 'BPF µs/req', 'loader µs/req', 'USDT hits/req', 'PG hits/req', 'records/req', 'bytes/req', 'p50 ms', 'p99 ms', 'drops', 'saturated req/s'],
        rows.map((x) => [
          x.condition,
          String(x.runs),
          `${f1(x.cpuPerRequestUs.median)} (${f1(x.cpuPerRequestUs.min)}..${f1(x.cpuPerRequestUs.max)})`,
          pct(x.overheadPct),
          x.accountedPct === null ? '–' : `${f1(x.accountedUs)} µs, ${f2(x.accountedPct)}%`,
          f2(x.bpfPerRequestUs),
          f2(x.loaderCpuPerRequestUs),
          f1(x.usdtHitsPerRequest),
          f1(x.pgHitsPerRequest),
          f1(x.recordsPerRequest),
          f1(x.bytesPerRequest),
          f2(x.p50Ms),
          f2(x.p99Ms),
          String(x.drops),
          x.saturatedRps === null ? '–' : f1(x.saturatedRps),
        ]),
      ),
      '',
    );
    const traced = rows.filter((x) => x.bpfByFamily.length > 0);
    const fams = [...new Set(traced.flatMap((x) => x.bpfByFamily.map((f) => f.family)))];
    if (fams.length > 0) {
      out.push('BPF µs per request by family (runs per request, ns per run):', '');
      out.push(
        ...table(
          ['condition', ...fams],
          traced.map((x) => [
            x.condition,
            ...fams.map((fam) => {
              const f = x.bpfByFamily.find((y) => y.family === fam);
              return f ? `${f2(f.usPerRequest)} (${f1(f.runsPerRequest)}×, ${Math.round(f.nsPerRun)} ns)` : '–';
            }),
          ]),
        ),
        '',
      );
      for (const x of traced) {
        out.push(`Most expensive programs, ${x.condition}:`, '');
        out.push(...table(['program', 'µs/req', 'runs/req', 'ns/run'], x.topPrograms.map((p) => [`${p.family}/${p.name}`, f2(p.usPerRequest), f1(p.runsPerRequest), String(Math.round(p.nsPerRun))])), '');
      }
    }
  }
  out.push('## Targets', '');
  const verdict = (t: Target): string => {
    if (t.met === null) return 'not measured';
    if (!t.interval) return t.met ? 'yes' : 'no';
    if (t.interval.level < 0.9) return `${t.met ? 'yes' : 'no'} (median of too few rounds for a 90% interval)`;
    const sure = `${Math.round(t.interval.level * 100)}%`;
    if (t.interval.high <= t.limit) return `yes (${sure} interval within)`;
    if (t.interval.low > t.limit) return `no (${sure} interval above)`;
    return `${t.met ? 'yes' : 'no'} (median; the ${sure} interval spans the limit)`;
  };
  out.push(
    ...table(
      ['target', 'measured', 'limit', 'met'],
      r.targets.map((t) => [t.name, t.value === null ? '–' : `${f2(t.value)} ${t.unit}${t.interval ? ` [${f2(t.interval.low)}, ${f2(t.interval.high)}]` : ''}`, `${t.limit} ${t.unit}`, verdict(t)]),
    ),
    '',
  );
  const floors = [...new Set(r.rows.map((x) => x.workload))].map((w) => ({ w, shares: floorShares(r.rows, w) })).filter((x) => x.shares.length > 0);
  if (floors.length > 0) {
    out.push(
      '## The socket hooks\' floor',
      '',
      'The socket family\'s hooks fire for every socket send and receive on the machine. With their programs returning at entry, what is left is the hooks\' dispatch; stopping after the port check adds reading which sockets are the lab\'s; stopping at the socket\'s state adds, on the lab\'s own sockets, finding the state and the app\'s binding, the least that tells one request\'s bytes from another\'s. None of them records socket I/O. BPF time per request, as a share of sample 1\'s:',
      '',
    );
    for (const { w, shares } of floors) {
      out.push(`${w}:`, '', ...table(['condition', 'BPF µs/req', 'sockets µs/req', 'share of sample 1'], shares.map((s) => [s.condition, f2(s.bpfPerRequestUs), f2(s.socketsPerRequestUs), `${f1(s.shareOfFullPct)}%`])), '');
    }
  }
  if (r.warnings.length > 0) out.push('## Warnings', '', ...r.warnings.map((w) => `- ${w}`), '');
  return out.join('\n');
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Bars of the overhead per condition (one group per condition, one bar per workload, min..max
 * whiskers, the 3% and 0.5% targets as lines), and beside them the BPF time per request of the
 * first workload stacked by family.
 */
export function renderOverheadSvg(rows: readonly ConditionSummary[]): string {
  const workloads = [...new Set(rows.map((r) => r.workload))];
  const conditions = [...new Set(rows.map((r) => r.condition))].filter((c) => rows.some((r) => r.condition === c && r.overheadPct));
  const W = 980;
  const H = 420;
  const left = { x: 60, y: 40, w: 520, h: 300 };
  const right = { x: 660, y: 40, w: 280, h: 300 };
  const colors = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7'];
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  parts.push(`<text x="${left.x}" y="20" font-size="13" font-weight="bold">CPU per request over untraced (%)</text>`);
  const vals = rows.flatMap((r) => (r.overheadPct ? [r.overheadPct.max, r.overheadPct.min] : []));
  const top = Math.max(4, ...vals.filter(Number.isFinite)) * 1.1;
  const bottom = Math.min(0, ...vals.filter(Number.isFinite));
  const y = (v: number): number => left.y + left.h - ((v - bottom) / (top - bottom)) * left.h;
  parts.push(`<line x1="${left.x}" y1="${y(0)}" x2="${left.x + left.w}" y2="${y(0)}" stroke="#333"/>`);
  for (const [limit, label] of [
    [3, '3% (sample 1)'],
    [0.5, '0.5% (sample 0.01)'],
  ] as const) {
    parts.push(`<line x1="${left.x}" y1="${y(limit)}" x2="${left.x + left.w}" y2="${y(limit)}" stroke="#c00" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${left.x + left.w + 4}" y="${y(limit) + 4}" fill="#c00">${label}</text>`);
  }
  for (let t = Math.ceil(bottom); t <= top; t += Math.max(1, Math.ceil((top - bottom) / 8))) {
    parts.push(`<text x="${left.x - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  }
  const group = conditions.length > 0 ? left.w / conditions.length : left.w;
  const barW = Math.min(28, (group * 0.7) / Math.max(1, workloads.length));
  conditions.forEach((c, i) => {
    const gx = left.x + i * group + group / 2;
    workloads.forEach((w, j) => {
      const r = rows.find((x) => x.condition === c && x.workload === w);
      if (!r?.overheadPct) return;
      const x = gx - (workloads.length * barW) / 2 + j * barW;
      const v = r.overheadPct.median;
      parts.push(`<rect x="${x.toFixed(1)}" y="${Math.min(y(v), y(0)).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${Math.abs(y(v) - y(0)).toFixed(1)}" fill="${colors[j % colors.length]}"><title>${esc(`${w}, ${c}: ${v.toFixed(2)}%`)}</title></rect>`);
      const cx = x + (barW - 2) / 2;
      parts.push(`<line x1="${cx.toFixed(1)}" y1="${y(r.overheadPct.min).toFixed(1)}" x2="${cx.toFixed(1)}" y2="${y(r.overheadPct.max).toFixed(1)}" stroke="#222"/>`);
    });
    parts.push(`<text x="${gx.toFixed(1)}" y="${left.y + left.h + 16}" text-anchor="middle">${esc(c)}</text>`);
  });
  workloads.forEach((w, j) => {
    parts.push(`<rect x="${left.x + j * 260}" y="${H - 30}" width="10" height="10" fill="${colors[j % colors.length]}"/><text x="${left.x + j * 260 + 14}" y="${H - 21}">${esc(w)}</text>`);
  });

  const first = workloads[0];
  const traced = rows.filter((r) => r.workload === first && r.bpfByFamily.length > 0);
  parts.push(`<text x="${right.x}" y="20" font-size="13" font-weight="bold">BPF µs per request by family (${esc(first ?? '')})</text>`);
  const fams = [...new Set(traced.flatMap((r) => r.bpfByFamily.map((f) => f.family)))];
  const maxBpf = Math.max(1, ...traced.map((r) => r.bpfPerRequestUs)) * 1.1;
  const bw = traced.length > 0 ? Math.min(44, (right.w / traced.length) * 0.7) : 0;
  traced.forEach((r, i) => {
    const x = right.x + (i + 0.5) * (right.w / traced.length) - bw / 2;
    let acc = 0;
    for (const f of r.bpfByFamily) {
      const h = (f.usPerRequest / maxBpf) * right.h;
      const y0 = right.y + right.h - ((acc + f.usPerRequest) / maxBpf) * right.h;
      parts.push(`<rect x="${x.toFixed(1)}" y="${y0.toFixed(1)}" width="${bw.toFixed(1)}" height="${Math.max(0, h).toFixed(1)}" fill="${colors[fams.indexOf(f.family) % colors.length]}"><title>${esc(`${r.condition}: ${f.family} ${f.usPerRequest.toFixed(2)} µs`)}</title></rect>`);
      acc += f.usPerRequest;
    }
    parts.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${(right.y + right.h - (acc / maxBpf) * right.h - 4).toFixed(1)}" text-anchor="middle">${acc.toFixed(1)}</text>`);
    parts.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${right.y + right.h + 16}" text-anchor="middle" font-size="9">${esc(r.condition.replace('full, ', ''))}</text>`);
  });
  parts.push(`<line x1="${right.x}" y1="${right.y + right.h}" x2="${right.x + right.w}" y2="${right.y + right.h}" stroke="#333"/>`);
  fams.forEach((f, j) => {
    parts.push(`<rect x="${right.x + (j % 3) * 95}" y="${H - 45 + Math.floor(j / 3) * 14}" width="10" height="10" fill="${colors[j % colors.length]}"/><text x="${right.x + (j % 3) * 95 + 14}" y="${H - 36 + Math.floor(j / 3) * 14}">${esc(f)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
