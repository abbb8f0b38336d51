/**
 * A capture directory, as written by `lab trace` and read without privileges:
 *
 *   meta.json            CaptureMeta (versioned)
 *   events.bin           the loader's binary records, back to back (probes/events.h)
 *   client.jsonl         one ClientObservation per line
 *   nginx-access.jsonl   the proxy's access-log entries written during the capture
 *                        (NginxAccessEntry fields, plus clientRequestIdHash and msec; queries
 *                        reduced as tracer/capture-privacy.ts says)
 *   pg-stat-statements.json  PgStatStatementsSnapshot at capture end (reset at capture start)
 *   ss.txt               `ss -tin` for the lab's ports at capture end
 *   loader.log           the loader's stderr (diagnostics and its final summary line)
 *   machine.jsonl        one MachineSample per second while tracing (procfs: CPU, memory, load,
 *                        disks, network, TCP states and retransmits)
 *
 * The no-BPF mode writes app events as events.jsonl (the same fields as TraceEvent, bigints as
 * decimal strings) instead of events.bin.
 */
import type { TraceEvent } from './event-types.ts';

export const CAPTURE_VERSION = 1;

export type Tier = 'nginx' | 'app' | 'postgres' | 'client';

export interface CaptureMeta {
  readonly version: number;
  readonly createdAt: string;
  readonly kernel: string;
  /** What produced the events: the BPF loader, or the app's file probes without BPF. */
  readonly source: 'bpf' | 'app-file';
  /** Which hook set ran, e.g. { sockets: 'tracepoint', files: 'tracepoint', usdt: 'usdt' }. */
  readonly hooks: Readonly<Record<string, string>>;
  /**
   * One sample of both clocks taken together: wallNs - monotonicNs maps event times to wall
   * time (decimal strings: nanosecond values exceed 2^53).
   */
  readonly clock: {
    readonly monotonicNs: string;
    readonly realtimeNs: string;
    /** Error bound of the pairing, ns (absent in hand-made captures: treat as unknown). */
    readonly uncertaintyNs?: string;
  };
  /** CLOCK_MONOTONIC ns (decimal strings) when tracing was attached and when it stopped. */
  readonly window?: { readonly startNs: string; readonly endNs: string };
  /** Pids of each tier at capture start (PostgreSQL backends forked later appear as ProcFork). */
  readonly pids: Readonly<Partial<Record<Tier, readonly number[]>>>;
  readonly ports: { readonly proxy: number; readonly app: number; readonly postgres: number };
  /** Ring-buffer reserve failures and other losses, by counter name. Never silently zero. */
  readonly drops: Readonly<Record<string, number>>;
  readonly sample: number;
  /** Tail keeping while sampling: unsampled requests this slow (ms), or 5xx, were kept too. */
  readonly keepSlowerThanMs?: number;
  /** The overhead guard's budget, % of the lab's CPU (--cpu-budget); absent without a guard. */
  readonly cpuBudgetPct?: number;
  /** What this capture shows less of by choice (tracer/capture-coverage.ts), one sentence each. */
  readonly coverage?: readonly string[];
  readonly proxy: 'nginx' | 'node';
  /** The load `lab trace` ran, or null when it traced whatever arrived (--no-load). */
  readonly load?: CaptureLoad | null;
  /** The loader's own report (BPF captures). */
  readonly loader?: LoaderReport;
  /** Problems seen while capturing (e.g. a snapshot that could not be taken), one line each. */
  readonly warnings?: readonly string[];
  /** What the capture lacks of what was asked for (tracer/capture-completeness.ts); absent in older captures. */
  readonly completeness?: CaptureCompleteness;
  /** What was removed of the clients' data (tracer/capture-privacy.ts); absent in older captures. */
  readonly privacy?: PrivacyReport;
}

export interface LoaderReport {
  /** Why it stopped: 'signal' (normal end), 'duration', 'app-exit', 'error', or null if unknown. */
  readonly stop: string | null;
  /** REQTRACE_SCHEMA_VERSION of the loader's records (checked against the decoder's at attach). */
  readonly schema?: number | null;
  readonly records: number | null;
  readonly bytes: number | null;
  /** Records per event kind number. */
  readonly kinds: Readonly<Record<string, number>>;
  /** Each probe family's summary counters, e.g. { postgres: { backends_attached: 15 } }. */
  readonly families: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Seconds from SIGINT to the loader's exit (detaching uprobes dominates). */
  readonly stopSeconds: number;
  /** Families the overhead guard detached (--cpu-budget), in order; absent when none. */
  readonly sheds?: readonly { readonly family: string; readonly atNs: string; readonly familyPct: number; readonly totalPct: number; readonly budgetPct: number }[];
}

export interface CaptureLoad {
  readonly requests?: number;
  readonly durationS?: number;
  readonly connections: number;
  readonly mix: string;
  readonly rate?: number;
}

/** pg-stat-statements.json: statements run during the capture (literals are normalized by PostgreSQL). */
export interface PgStatStatementsSnapshot {
  readonly takenAt: string;
  /** False when pg_stat_statements could not be reset at capture start: counts then include older runs. */
  readonly resetAtStart: boolean;
  readonly statements: readonly PgStatStatement[];
}

export interface PgStatStatement {
  readonly queryId: string;
  readonly query: string;
  readonly calls: number;
  readonly rows: number;
  /** Milliseconds, as PostgreSQL reports them. */
  readonly meanExecTime: number;
  readonly totalExecTime: number;
  /** Times planned, 0 unless pg_stat_statements.track_planning is on (absent in older captures). */
  readonly plans?: number;
  /** Milliseconds per plan (meaningful only when `plans` > 0). */
  readonly meanPlanTime?: number;
}

/** What the load generator saw for one request. */
export interface ClientObservation {
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Wall-clock send time, ms since the epoch (fractional). */
  readonly startMs: number;
  /** Send to last byte, ms (fractional, sub-millisecond precision). */
  readonly latencyMs: number;
}

/** One nginx access-log line (lab/nginx/nginx.conf.template `log_format reqtrace`). */
export interface NginxAccessEntry {
  readonly requestId: string;
  readonly timeIso: string;
  readonly method: string;
  readonly uri: string;
  readonly status: number;
  /** Seconds, as nginx prints them; null where nginx printed '-'. */
  readonly requestTime: number | null;
  readonly upstreamConnectTime: number | null;
  readonly upstreamHeaderTime: number | null;
  readonly upstreamResponseTime: number | null;
  readonly upstreamAddr: string | null;
  readonly connection: number | null;
  readonly connectionRequests: number | null;
  /**
   * The client connection as the proxy saw it (remote = the client, server port = the proxy's
   * listening port); absent in logs written before these fields existed, null where '-'.
   */
  readonly remoteAddr?: string | null;
  readonly remotePort?: number | null;
  readonly serverPort?: number | null;
  /** When nginx logged it (the request's end), ms since the epoch; absent in older captures. */
  readonly msec?: number | null;
}

/**
 * A capture's events. Read from a capture directory they are its column table
 * (tracer/event-table.ts), which builds an event object only when one is asked for; a capture
 * built in memory may hold an array.
 */
export interface CaptureEvents extends Iterable<TraceEvent> {
  readonly length: number;
  filter<S extends TraceEvent>(predicate: (e: TraceEvent) => e is S): S[];
  filter(predicate: (e: TraceEvent) => boolean): TraceEvent[];
  find<S extends TraceEvent>(predicate: (e: TraceEvent) => e is S): S | undefined;
  find(predicate: (e: TraceEvent) => boolean): TraceEvent | undefined;
  map<U>(f: (e: TraceEvent) => U): U[];
}

export interface Capture {
  readonly dir: string;
  readonly meta: CaptureMeta;
  readonly events: CaptureEvents;
  readonly client: readonly ClientObservation[];
  readonly nginx: readonly NginxAccessEntry[];
  /** The machine once a second while tracing (machine.jsonl; absent in older captures). */
  readonly machine?: readonly MachineSample[];
  /** What could not be read (truncated records, bad lines), each one line. Never thrown. */
  readonly warnings: readonly string[];
}

// meta.json `completeness` (tracer/capture-completeness.ts).
export type CaptureGapKind =
  /** meta.json written at the start and never replaced: lab trace was killed or crashed. */
  | 'unfinished'
  | 'interrupted'
  /** The loader ended without its summary (killed, crashed): events stop early, losses unknown. */
  | 'loader-died'
  | 'loader-stopped-early'
  | 'loader-failed'
  /** A lab process (app, nginx, PostgreSQL) present at the start was gone at the end. */
  | 'tier-died'
  | 'failed-requests'
  | 'load-failed'
  | 'drops'
  /** Side files left out after a second interrupt. */
  | 'skipped';

export interface CaptureGap {
  readonly kind: CaptureGapKind;
  /** One clause for people, e.g. `the app (pid 412) died during the trace`. */
  readonly message: string;
  /** How many (failed requests, dropped records), where that is the measure. */
  readonly count?: number;
}

/** meta.json `completeness`. */
export interface CaptureCompleteness {
  readonly complete: boolean;
  readonly missing: readonly CaptureGap[];
}

/** What the reductions of one capture removed, for its meta.json. */
export interface PrivacyReport {
  readonly clientRequestId: 'hmac-sha256, key made for this capture and not stored';
  readonly queryParametersKept: readonly string[];
  /** Query parameters dropped from nginx-access.jsonl and client.jsonl. */
  readonly queryParametersDropped: number;
}

// machine.jsonl (tracer/machine-sample.ts).
/** CPU time in USER_HZ ticks, summed over CPUs. */
export interface CpuTicks {
  readonly user: number;
  readonly nice: number;
  readonly system: number;
  readonly idle: number;
  readonly iowait: number;
  readonly irq: number;
  readonly softirq: number;
  readonly steal: number;
}

export interface DiskCounters {
  readonly reads: number;
  readonly readSectors: number;
  readonly writes: number;
  readonly writeSectors: number;
  /** ms the device had I/O in flight. */
  readonly ioMs: number;
}

export interface NetCounters {
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly rxPackets: number;
  readonly txPackets: number;
  readonly drops: number;
}

export interface MachineSample {
  /** CLOCK_MONOTONIC ns, as a decimal string (the events' clock). */
  readonly tsNs: string;
  readonly cpus: number;
  readonly cpu: CpuTicks;
  readonly memKb: { readonly total: number; readonly available: number; readonly dirty: number; readonly swapUsed: number };
  readonly load: { readonly one: number; readonly five: number; readonly fifteen: number; readonly running: number; readonly tasks: number };
  readonly disks: Readonly<Record<string, DiskCounters>>;
  readonly net: Readonly<Record<string, NetCounters>>;
  readonly tcp: { readonly states: Readonly<Record<string, number>>; readonly outSegs: number; readonly retransSegs: number };
}
