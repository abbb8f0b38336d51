import { DEFAULT_DURATION_S } from '../lab/load/run-load.ts';
import { MIX_TABLE, parseTargetKnobs, type MixName, type TargetKnobs } from '../lab/load/mixes.ts';
import { parseFamilies } from './loader-args.ts';

/** What a recording traces and how: the options of `lab trace`, and of the benches that record. */
export interface RecordOptions {
  readonly out: string | undefined;
  readonly sample: number;
  readonly noLoad: boolean;
  readonly durationS: number | undefined;
  readonly requests: number | undefined;
  readonly connections: number;
  readonly mix: MixName;
  readonly rate: number | undefined;
  /** Print the summary as JSON on stdout instead of the capture path. */
  readonly json: boolean;
  /** Exactly these probe families, or the default set plus `extraFamilies`. */
  readonly families?: readonly string[];
  readonly extraFamilies?: readonly string[];
  readonly pgDetail: boolean;
  /** While sampling, arrival times too (socket-buffer and accept-queue waits). */
  readonly arrivals: boolean;
  /** Tail keeping: unsampled requests at least this slow (ms), or 5xx, are kept. */
  readonly keepSlowerThanMs: number | undefined;
  /** The overhead guard's budget, % of the lab's CPU. */
  readonly cpuBudgetPct: number | undefined;
  readonly socketHooks: 'auto' | 'tp_btf' | 'syscalls';
  /** Serve Prometheus metrics on 127.0.0.1:PORT while tracing. */
  readonly metricsPort: number | undefined;
  /** The slowsys family's threshold, ms. */
  readonly slowSyscallMs: number | undefined;
  readonly knobs: TargetKnobs;
  /**
   * With `noLoad`: the traffic to trace, sent by the caller (`lab bench inject`); tracing ends
   * when it settles, and `durationS` only bounds the loader's life.
   */
  readonly traffic?: () => Promise<void>;
}

/** Reads `lab trace`'s options (as the command line parses them); a one-line error for bad combinations. Pure. */
export function recordOptions(o: Readonly<Record<string, string | number | boolean>>): RecordOptions | string {
  const noLoad = o['no-load'] === true;
  const durationS = typeof o.duration === 'number' ? o.duration : undefined;
  const requests = typeof o.requests === 'number' ? o.requests : undefined;
  if (noLoad && durationS === undefined) return '--no-load needs --duration S (how long to trace)';
  if (noLoad && requests !== undefined) return '--no-load traces for --duration seconds; --requests needs a load';
  if (o['latency-out'] !== undefined) return '--latency-out is not used by lab trace: the capture holds client.jsonl';
  const mix = typeof o.mix === 'string' ? o.mix : 'default';
  if (!(mix in MIX_TABLE)) return `unknown mix '${mix}'`;
  const families = typeof o.families === 'string' ? parseFamilies(o.families) : {};
  if (typeof families === 'string') return families;
  const sample = typeof o.sample === 'number' ? o.sample : 1;
  const keepSlowerThanMs = typeof o['keep-slower-than'] === 'number' ? o['keep-slower-than'] : undefined;
  if (keepSlowerThanMs !== undefined && sample >= 1) return '--keep-slower-than needs --sample below 1: every request is traced in full already';
  const knobs = typeof o.knob === 'string' ? parseTargetKnobs(o.knob) : {};
  if (typeof knobs === 'string') return knobs;
  return {
    keepSlowerThanMs,
    arrivals: o.arrivals === true,
    cpuBudgetPct: typeof o['cpu-budget'] === 'number' ? o['cpu-budget'] : undefined,
    socketHooks: o['socket-hooks'] === 'tp_btf' || o['socket-hooks'] === 'syscalls' ? o['socket-hooks'] : 'auto',
    ...families,
    pgDetail: o['pg-detail'] === true,
    out: typeof o.out === 'string' ? o.out : undefined,
    sample: typeof o.sample === 'number' ? o.sample : 1,
    noLoad,
    // The same default as `lab load`.
    durationS: durationS === undefined && requests === undefined ? DEFAULT_DURATION_S : durationS,
    requests,
    connections: typeof o.connections === 'number' ? o.connections : 10,
    mix: mix as MixName,
    rate: typeof o.rate === 'number' ? o.rate : undefined,
    json: o.json === true,
    metricsPort: typeof o['metrics-port'] === 'number' ? o['metrics-port'] : undefined,
    slowSyscallMs: typeof o['slow-syscall-ms'] === 'number' ? o['slow-syscall-ms'] : undefined,
    knobs,
  };
}
