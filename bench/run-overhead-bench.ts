/**
 * `lab bench overhead`: the lab at fixed request rates below saturation, untraced and under each
 * tracing condition, interleaved round by round (A B C … A B C …), then each condition once at
 * saturation. Measures, per fixed-rate run and per second of it: the machine's busy CPU and the
 * load generator's own (this process drives the load); per run the lab's processes and the
 * loader, bpf_stats per program, the records and bytes the loader wrote during the window, client
 * latency and drops; saturated req/s and drops at the lab's maximum load. Writes overhead.json,
 * overhead.md and overhead.svg into one results folder; progress goes to `say`.
 */
import { closeSync, mkdirSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { runLoad } from '../lab/load/run-load.ts';
import { clearProbeSampling, waitProbeSamplingSeen, writeProbeSampling } from '../lab/app/probe-sampling.ts';
import { loaderArgs } from '../tracer/loader-args.ts';
import type { LoaderPrograms } from '../tracer/parse-loader-output.ts';
import { spawnLoader, type LoaderHandle } from '../tracer/spawn-loader.ts';
import { openBenchLab, type BenchLab } from './bench-lab.ts';
import { enableBpfStats, familyCosts, readProgStats, type ProgStat } from './bpf-prog-stats.ts';
import { cgroupV2Root, openCpuGroups, type CpuGroup, type CpuGroups } from './cgroup-cpu.ts';
import { childPids, machineBusyUs, processesCpuUs, processRunUs, sampleMachineCpu, sampleProcesses } from './cpu-counters.ts';
import { measureProbeCost, type ProbeCost } from './probe-cost.ts';
import { overheadSchedule, UNTRACED, type OverheadCondition, type Workload } from './overhead-plan.ts';
import { cpuPerRequest, overheadTargets, renderOverheadMarkdown, renderOverheadSvg, summarizeOverheadRuns, type OverheadRun, type SaturatedRun } from './overhead-report.ts';

export interface OverheadBenchOptions {
  readonly rounds: number;
  readonly durationS: number;
  readonly saturateS: number;
  readonly connections: number;
  readonly saturateConnections: number;
  readonly workloads: readonly Workload[];
  readonly conditions: readonly OverheadCondition[];
  readonly outDir: string;
  /** Stop starting rounds once this many seconds have passed. */
  readonly budgetS: number;
  /** Set by a signal handler: finish the current run, then stop. */
  readonly interrupted: () => boolean;
}

export interface OverheadBenchResult {
  readonly files: readonly string[];
  readonly runs: readonly OverheadRun[];
  readonly targetsMet: boolean | null;
  readonly warnings: readonly string[];
}

const WARMUP_S = 4;
/** After attaching: uprobe registration and the first faults on new breakpoints settle, and the
 * app reads the sampling rate (once a second). */
const SETTLE_MS = 1500;
/** At the window's edges the loader is asked (SIGUSR1) to write what its ring holds, which it
 * otherwise does once a second, or once in 5 s while sampling; this long for it to have. */
const DRAIN_MS = 300;
const PAUSE_MS = 500;
/** Offset of `size` in struct event_header (probes/events.h). */
const HEADER_SIZE_OFFSET = 34;
const HEADER_BYTES = 40;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cpuUsUsed = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return d.user + d.system;
};

interface SecondSample {
  readonly responses: number;
  readonly machine: ReturnType<typeof sampleMachineCpu>;
  readonly selfUs: number;
  /** The lab's and the tracer's CPU groups, µs; null without cgroup v2. */
  readonly groupsUs: number | null;
}

/** CPU per request of each whole second of a run, the first left out (connections opening): the
 * lab's and the tracer's CPU groups where there are any, else the machine less the load generator. */
function perSecondCpu(seconds: readonly SecondSample[], source: 'groups' | 'machine'): number[] {
  const out: number[] = [];
  for (let i = 2; i < seconds.length; i++) {
    const a = seconds[i - 1]!;
    const b = seconds[i]!;
    const n = b.responses - a.responses;
    if (n <= 0) continue;
    if (source === 'groups' && a.groupsUs !== null && b.groupsUs !== null) out.push((b.groupsUs - a.groupsUs) / n);
    else if (source === 'machine') out.push((machineBusyUs(a.machine, b.machine) - (b.selfUs - a.selfUs)) / n);
  }
  return out;
}

/** The lab's processes and the loaders, each in a CPU group of the bench's own. */
interface BenchGroups {
  readonly lab: CpuGroup;
  readonly tracer: CpuGroup;
  readonly groups: CpuGroups;
}

function openBenchGroups(lab: BenchLab, warnings: string[]): BenchGroups | null {
  const root = cgroupV2Root();
  if (root === null) {
    warnings.push('no cgroup v2 hierarchy: CPU per request is the whole machine less the load generator');
    return null;
  }
  const groups = openCpuGroups(root, `reqtrace-bench-${process.pid}`);
  const g = { lab: groups.group('lab'), tracer: groups.group('tracer'), groups };
  const missed = labPids(lab).filter((pid) => !g.lab.add(pid));
  if (missed.length > 0) warnings.push(`${missed.length} lab process(es) could not join the CPU group: their CPU is not counted`);
  return g;
}

/** Records whose start lies in [from, to) of an events file, walking the size fields from 0. */
export function countRecords(path: string, from: number, to: number): number {
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(HEADER_BYTES);
  let off = 0;
  let n = 0;
  try {
    while (off + HEADER_BYTES <= to) {
      if (readSync(fd, head, 0, HEADER_BYTES, off) < HEADER_BYTES) break;
      const size = head.readUInt16LE(HEADER_SIZE_OFFSET);
      if (size < HEADER_BYTES) break;
      if (off >= from) n++;
      off += size;
    }
  } finally {
    closeSync(fd);
  }
  return n;
}

const fileSize = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

function labPids(lab: BenchLab): number[] {
  return [...lab.nginxPids, lab.appPid, lab.pgPid, ...childPids(lab.pgPid)];
}

/** Has the loader write out what its ring buffer holds now. */
async function flushLoader(loader: LoaderHandle): Promise<void> {
  try {
    process.kill(loader.pid, 'SIGUSR1');
  } catch {
    // Gone: its end is reported by stop().
  }
  await sleep(DRAIN_MS);
}

/** The loader for `condition` attached and settled, and the app told its sample; null untraced. */
async function startTracer(lab: BenchLab, condition: OverheadCondition, maxSeconds: number, eventsPath: string, scratch: string, groups: BenchGroups | null): Promise<{ loader: LoaderHandle; programs: LoaderPrograms } | null> {
  if (!condition.trace) return null;
  const loader = spawnLoader({
    args: loaderArgs({
      appPid: lab.appPid,
      addonPath: lab.addonPath,
      nginxPids: lab.nginxPids,
      pgPid: lab.pgPid,
      sample: condition.trace.sample,
      maxSeconds,
      ...(condition.trace.families ? { families: condition.trace.families } : {}),
      ...(condition.trace.extraFamilies ? { extraFamilies: condition.trace.extraFamilies } : {}),
      ...(condition.trace.keepSlowerThanMs !== undefined ? { keepSlowerThanMs: condition.trace.keepSlowerThanMs } : {}),
      ...(condition.trace.arrivals ? { arrivals: true } : {}),
      ...(condition.trace.socketsFloor ? { socketsFloor: condition.trace.socketsFloor } : {}),
    }),
    eventsPath,
    logPath: join(scratch, 'loader.log'),
  });
  groups?.tracer.add(loader.pid);
  try {
    await loader.attached;
    const programs = await loader.programs;
    if (condition.trace.sample < 1) {
      const rate = { sample: condition.trace.sample, followAll: condition.trace.keepSlowerThanMs !== undefined, loaderPid: loader.pid };
      writeProbeSampling(lab.cfg.stateDir, rate);
      if (!(await waitProbeSamplingSeen(lab.cfg.stateDir, rate))) throw new Error(`the app did not confirm sampling rate ${rate.sample} within 3 s`);
    }
    await sleep(SETTLE_MS);
    return { loader, programs };
  } catch (err) {
    await loader.stop();
    throw err;
  }
}

/** One condition at saturation (the lab's maximum load): req/s and what the loader lost. */
async function saturate(lab: BenchLab, workload: Workload, condition: OverheadCondition, opts: OverheadBenchOptions, scratch: string, groups: BenchGroups | null): Promise<SaturatedRun> {
  const eventsPath = join(scratch, 'events.bin');
  const tracer = await startTracer(lab, condition, opts.saturateS + 120, eventsPath, scratch, groups);
  try {
    const sat = await runLoad({ url: lab.url, durationS: opts.saturateS, connections: opts.saturateConnections, mix: workload.mix, latencyOut: join(scratch, 'latency.jsonl'), seed: 1000 });
    const result = tracer ? await tracer.loader.stop() : null;
    return { workload: workload.name, condition: condition.name, requestsPerSecond: sat.requestsPerSecond, failures: sat.errors + sat.timeouts + sat.non2xx, drops: result ? result.drops : {} };
  } finally {
    if (tracer) await tracer.loader.stop();
    clearProbeSampling(lab.cfg.stateDir);
    rmSync(eventsPath, { force: true });
  }
}

async function measure(lab: BenchLab, workload: Workload, condition: OverheadCondition, round: number, opts: OverheadBenchOptions, scratch: string, groups: BenchGroups | null): Promise<OverheadRun> {
  const eventsPath = join(scratch, 'events.bin');
  const latencyOut = join(scratch, 'latency.jsonl');
  const tracer = await startTracer(lab, condition, opts.durationS + 120, eventsPath, scratch, groups);
  const groupsUs = (): number | null => (groups ? groups.lab.usageUs() + groups.tracer.usageUs() : null);
  let loader: LoaderHandle | null = tracer?.loader ?? null;
  const programs: LoaderPrograms = tracer?.programs ?? {};
  try {
    const pids = labPids(lab);
    if (loader) await flushLoader(loader);
    const progsBefore: Map<number, ProgStat> = loader ? readProgStats() : new Map();
    const sizeBefore = fileSize(eventsPath);
    const procsBefore = sampleProcesses(pids);
    const loaderBefore = loader ? (processRunUs(loader.pid) ?? 0) : 0;
    const machineBefore = sampleMachineCpu();
    const selfBefore = process.cpuUsage();
    const groupsBefore = groupsUs();
    const startedAtMs = Date.now();
    const seconds: SecondSample[] = [];
    const load = await runLoad({
      url: lab.url,
      durationS: opts.durationS,
      connections: opts.connections,
      mix: workload.mix,
      rate: workload.rate,
      latencyOut,
      seed: round,
      onSecond: (responses) => seconds.push({ responses, machine: sampleMachineCpu(), selfUs: cpuUsUsed(selfBefore), groupsUs: groupsUs() }),
    });
    const loadgenCpuUs = cpuUsUsed(selfBefore);
    const machineAfter = sampleMachineCpu();
    const groupsAfter = groupsUs();
    const endedAtMs = Date.now();
    const loaderAfter = loader ? (processRunUs(loader.pid) ?? loaderBefore) : 0;
    const procsAfter = sampleProcesses(pids);
    if (loader) await flushLoader(loader);
    const sizeAfter = fileSize(eventsPath);
    const progsAfter: Map<number, ProgStat> = loader ? readProgStats() : new Map();
    const result = loader ? await loader.stop() : null;
    loader = null;
    clearProbeSampling(lab.cfg.stateDir);
    return {
      workload: workload.name,
      condition: condition.name,
      round,
      startedAtMs,
      endedAtMs,
      responses: load.responses,
      durationS: load.durationS,
      failures: load.errors + load.timeouts + load.non2xx,
      p50Ms: load.latencyMs.p50,
      p99Ms: load.latencyMs.p99,
      machineBusyUs: machineBusyUs(machineBefore, machineAfter),
      loadgenCpuUs,
      perSecondCpuUs: perSecondCpu(seconds, 'machine'),
      ...(groupsBefore !== null && groupsAfter !== null ? { groupsCpuUs: groupsAfter - groupsBefore, perSecondGroupsCpuUs: perSecondCpu(seconds, 'groups') } : {}),
      labCpuUs: processesCpuUs(procsBefore, procsAfter),
      loaderCpuUs: loaderAfter - loaderBefore,
      bpf: familyCosts(progsBefore, progsAfter, programs),
      records: result ? countRecords(eventsPath, sizeBefore, sizeAfter) : 0,
      bytes: sizeAfter - sizeBefore,
      drops: result ? result.drops : {},
    };
  } finally {
    if (loader) await loader.stop();
    clearProbeSampling(lab.cfg.stateDir);
    rmSync(eventsPath, { force: true });
  }
}

/** Runs the schedule and writes the results folder. */
export async function runOverheadBench(opts: OverheadBenchOptions, say: (line: string) => void): Promise<OverheadBenchResult> {
  const started = Date.now();
  const warnings: string[] = [];
  const loadAtStart = loadavg().map((x) => Math.round(x * 100) / 100);
  mkdirSync(opts.outDir, { recursive: true });
  const scratch = join(opts.outDir, '.scratch');
  mkdirSync(scratch, { recursive: true });
  const restoreStats = enableBpfStats();
  const lab = await openBenchLab(say);
  const runs: OverheadRun[] = [];
  const saturation: SaturatedRun[] = [];
  let groups: BenchGroups | null = null;
  let probeCost: ProbeCost | null = null;
  try {
    groups = openBenchGroups(lab, warnings);
    if (opts.conditions.some((c) => c.trace)) {
      say('calibrating: what a USDT hit and a tracepoint run cost here (probe-cost)');
      try {
        probeCost = await measureProbeCost(lab.addonPath);
        say(`  nop1 hit ${probeCost.nop1Ns.toFixed(0)} ns, nop5 hit ${probeCost.nop5Ns.toFixed(0)} ns, tracepoint run ${probeCost.tracepointNs.toFixed(0)} ns, app probe call ${probeCost.appFireNs.toFixed(0)} ns`);
      } catch (err) {
        warnings.push(`no calibration (${(err as Error).message}): the accounted cost uses bpf_stats alone`);
        say(warnings.at(-1) as string);
      }
    }
    for (const w of opts.workloads) {
      say(`warm-up: ${w.name}, ${WARMUP_S} s`);
      await runLoad({ url: lab.url, durationS: WARMUP_S, connections: opts.connections, mix: w.mix, rate: w.rate, latencyOut: join(scratch, 'latency.jsonl'), seed: 0 });
    }
    const schedule = overheadSchedule(opts.workloads, opts.conditions, opts.rounds);
    let roundStarted = Date.now();
    let roundSeconds = 0;
    let lastRound = 1;
    for (const step of schedule) {
      if (opts.interrupted()) break;
      if (step.round !== lastRound) {
        roundSeconds = Math.max(roundSeconds, (Date.now() - roundStarted) / 1000);
        if ((Date.now() - started) / 1000 + roundSeconds > opts.budgetS) {
          warnings.push(`stopped after ${lastRound} of ${opts.rounds} rounds: another would pass the ${opts.budgetS} s budget`);
          say(warnings.at(-1) as string);
          break;
        }
        roundStarted = Date.now();
        lastRound = step.round;
      }
      say(step.round > opts.rounds ? `closing untraced run: ${step.workload.name}` : `round ${step.round}/${opts.rounds}: ${step.workload.name}: ${step.condition.name}`);
      const r = await measure(lab, step.workload, step.condition, step.round, opts, scratch, groups);
      runs.push(r);
      const cpu = cpuPerRequest(r);
      const bpf = r.bpf.reduce((s, f) => s + f.runTimeNs, 0) / 1000 / Math.max(1, r.responses);
      const drops = Object.values(r.drops).reduce((a, b) => a + b, 0);
      say(
        `  ${(r.responses / r.durationS).toFixed(0)} req/s, ${cpu.toFixed(1)} µs CPU/request` +
          (r.bpf.length ? `, BPF ${bpf.toFixed(2)} µs/request, ${(r.records / Math.max(1, r.responses)).toFixed(1)} records/request, ${drops} dropped` : '') +
          (r.failures ? `, ${r.failures} failed` : ''),
      );
      if (r.failures > 0) warnings.push(`${r.workload}, ${r.condition}, round ${r.round}: ${r.failures} failed requests`);
      await sleep(PAUSE_MS);
    }
    // Saturation apart from the fixed-rate rounds: its churn (autovacuum after the inserts, pool
    // growth) would otherwise land in the next fixed-rate run.
    for (const w of opts.saturateS > 0 && !opts.interrupted() ? opts.workloads : []) {
      for (const c of opts.conditions) {
        if (opts.interrupted()) break;
        say(`saturated: ${w.name}: ${c.name}, ${opts.saturateS} s at ${opts.saturateConnections} connections`);
        const s = await saturate(lab, w, c, opts, scratch, groups);
        saturation.push(s);
        say(`  ${s.requestsPerSecond.toFixed(0)} req/s, ${Object.values(s.drops).reduce((a, b) => a + b, 0)} dropped`);
        await sleep(PAUSE_MS);
      }
    }
  } finally {
    groups?.groups.close();
    await lab.close();
    restoreStats();
    rmSync(scratch, { recursive: true, force: true });
  }
  if (opts.interrupted()) warnings.push('interrupted by a signal: fewer runs than asked for');
  const idleSource = sampleMachineCpu().idleSource;
  if (idleSource !== 'cpuidle') warnings.push('no cpuidle counters here: machine idle time read from /proc/stat ticks (10 ms resolution)');

  const rows = summarizeOverheadRuns(runs, UNTRACED.name, saturation, probeCost);
  const mixWorkload = opts.workloads[0]?.name ?? '';
  const targets = overheadTargets(rows, mixWorkload);
  const report = {
    measuredAt: new Date().toISOString(),
    settings: {
      rounds: opts.rounds,
      durationS: opts.durationS,
      saturateS: opts.saturateS,
      connections: opts.connections,
      saturateConnections: opts.saturateConnections,
      workloads: opts.workloads.map((w) => ({ name: w.name, mix: w.mix, rate: w.rate })),
      conditions: opts.conditions.map((c) => ({ name: c.name, ...(c.trace ? { trace: c.trace } : {}) })),
    },
    machine: { cpus: cpus().length, kernel: release(), node: process.version, loadavgAtStart: loadAtStart, loadavgAtEnd: loadavg().map((x) => Math.round(x * 100) / 100), idleSource },
    rows,
    targets,
    warnings,
    calibration: probeCost,
  };
  const files = [join(opts.outDir, 'overhead.json'), join(opts.outDir, 'overhead.md'), join(opts.outDir, 'overhead.svg')];
  writeFileSync(files[0] as string, JSON.stringify({ ...report, runs, saturation, elapsedS: Math.round((Date.now() - started) / 1000) }, null, 2) + '\n');
  writeFileSync(files[1] as string, renderOverheadMarkdown(report));
  writeFileSync(files[2] as string, renderOverheadSvg(rows));
  const measured = targets.filter((t) => t.met !== null);
  return { files, runs, targetsMet: measured.length === 0 ? null : measured.every((t) => t.met), warnings };
}
