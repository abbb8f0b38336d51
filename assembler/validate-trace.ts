/**
 * Cross-checks assembled traces against independent measurements: the client's observed
 * latency, nginx's access log (request_time, upstream_response_time; millisecond resolution),
 * pg_stat_statements' mean execution (and planning) time per statement, and `ss -tin` RTTs of
 * the connections the requests used. Pure: data in, a report out.
 */
import { terminalSafe } from '../tracer/terminal-safe.ts';
import type { ClientObservation, NginxAccessEntry, PgStatStatementsSnapshot } from '../shared/capture-types.ts';
import { EventKind, type TraceEvent } from '../shared/event-types.ts';
import { eventStartNs, isSockIo, lowerBound, type SockIo } from './event-time.ts';
import type { SsSocket } from './parse-ss.ts';
import { rootOf, type Span, type Trace } from './span.ts';

export interface CheckResult {
  readonly name: string;
  readonly tolerance: string;
  /** Requests (or statements) compared. */
  readonly compared: number;
  readonly within: number;
  /** within / compared, 0..1 (0 when nothing was compared). */
  readonly share: number;
  /** The worst differences, ms (observed − traced), at most 5. */
  readonly worst: readonly { readonly key: string; readonly tracedMs: number; readonly observedMs: number }[];
}

export interface ValidationInput {
  /** Read once, as they come: a stream of traces is never all held. */
  readonly traces: Iterable<Trace>;
  readonly client: readonly ClientObservation[];
  readonly nginx: readonly NginxAccessEntry[];
  readonly pgStatStatements?: PgStatStatementsSnapshot;
  /** The capture's events and its `ss -tin` sockets, for the RTT check. */
  readonly events?: Iterable<TraceEvent>;
  readonly ss?: readonly SsSocket[];
  /** Server ports whose connections the RTT check compares (the app's and PostgreSQL's). */
  readonly rttPorts?: readonly number[];
}

/** How many traces the kernel followed in full, under head sampling (shared/sampling.ts). */
export interface SamplingSummary {
  /** The capture's rate, from the traces' `sampling.rate` tag; 1 when no trace carries one. */
  readonly rate: number;
  readonly sampled: number;
  readonly unsampled: number;
}

const isUnsampled = (t: Trace): boolean => rootOf(t).tags['sampling.sampled'] === false;

/** A running count of sampled and unsampled traces, for traces read once. */
export function samplingTally(): { readonly add: (t: Trace) => void; readonly count: () => number; readonly summary: () => SamplingSummary } {
  let n = 0;
  let unsampled = 0;
  let rate: number | undefined;
  return {
    add(t) {
      n++;
      if (isUnsampled(t)) unsampled++;
      const r = rootOf(t).tags['sampling.rate'];
      if (rate === undefined && typeof r === 'number') rate = r;
    },
    count: () => n,
    summary: () => ({ rate: rate ?? 1, sampled: n - unsampled, unsampled }),
  };
}

/** Counts sampled and unsampled traces (every trace is sampled in a capture taken at rate 1). */
export function summarizeSampling(traces: Iterable<Trace>): SamplingSummary {
  const tally = samplingTally();
  for (const t of traces) tally.add(t);
  return tally.summary();
}

/** One line for `lab validate`: what the checks below could compare. */
export function formatSampling(s: SamplingSummary): string {
  if (s.unsampled === 0 && s.rate === 1) return '';
  return (
    `sampling: rate ${s.rate}, ${s.sampled} of ${s.sampled + s.unsampled} request(s) sampled (kernel detail); ` +
    `${s.unsampled} unsampled (app probes, nginx estimated from the access log): compared for the root's length only\n`
  );
}

/** Statements with fewer traced calls than this are not compared with pg_stat_statements. */
export const MIN_STATEMENT_CALLS = 5;

const ms = (s: Span): number => Number(s.endNs - s.startNs) / 1e6;

function check(name: string, tolerance: string, pairs: { key: string; tracedMs: number; observedMs: number }[], ok: (p: { tracedMs: number; observedMs: number }) => boolean): CheckResult {
  const within = pairs.filter(ok).length;
  const worst = [...pairs].sort((a, b) => Math.abs(b.observedMs - b.tracedMs) - Math.abs(a.observedMs - a.tracedMs)).slice(0, 5);
  return { name, tolerance, compared: pairs.length, within, share: pairs.length ? within / pairs.length : 0, worst };
}

type Pair = { key: string; tracedMs: number; observedMs: number };

/** Runs every check the input has data for, reading its traces once. */
export function validateTraces(input: ValidationInput): CheckResult[] {
  const results: CheckResult[] = [];
  const client = new Map(input.client.map((c) => [c.requestId, c]));
  const access = new Map(input.nginx.map((a) => [a.requestId, a]));

  // The client sees the whole trace plus its own socket work, so it can only be longer: a trace
  // longer than the client saw belongs to another request. What the client adds (its send
  // before nginx's first readable byte, its receive after nginx's last write) is the load
  // generator's own scheduling on the shared cores and is not traced.
  // Under head sampling an unsampled trace is the app's own span with nginx's share estimated
  // from request_time: it can still be checked for not outlasting its client, but comparing it
  // with nginx's or the client's figures would compare the estimate with its own source.
  const clientPairs: Pair[] = [];
  const sampledClientPairs: Pair[] = [];
  // nginx's clock starts when it reads the request, so the wait in its socket buffer before
  // that read (part of the root span) is left out. Roots whose nginx spans were estimated from
  // this same request_time are not compared.
  const nginxPairs: Pair[] = [];
  const upstreamPairs: Pair[] = [];
  const statements = input.pgStatStatements ? statementTimes() : null;
  let anyUnsampled = false;
  for (const t of input.traces) {
    const root = rootOf(t);
    const unsampled = isUnsampled(t);
    anyUnsampled ||= unsampled;
    const a = access.get(t.traceId);
    const c = client.get(t.traceId);
    if (c) {
      const pair = { key: t.traceId, tracedMs: ms(root), observedMs: c.latencyMs };
      clientPairs.push(pair);
      if (!unsampled) sampledClientPairs.push(pair);
    }
    if (!unsampled && a?.requestTime != null && root.tier === 'nginx' && root.tags.estimated !== true) {
      const proc = t.spans.find((s) => s.name === 'nginx processing' && s.parentId === root.id);
      if (proc?.tags.estimated !== true) {
        const waitMs = Number(proc?.tags['kernel.socket_buffer_wait_ns'] ?? 0) / 1e6;
        nginxPairs.push({ key: t.traceId, tracedMs: ms(root) - waitMs, observedMs: a.requestTime * 1000 });
      }
    }
    const first = t.spans.find((s) => s.name === 'network: nginx → app');
    const last = t.spans.find((s) => s.name === 'network: app → nginx');
    if (a?.upstreamResponseTime != null && first && last) {
      upstreamPairs.push({ key: t.traceId, tracedMs: Number(last.endNs - first.startNs) / 1e6, observedMs: a.upstreamResponseTime * 1000 });
    }
    statements?.add(t);
  }
  const sampledPairs = anyUnsampled ? sampledClientPairs : clientPairs;
  const notLonger = (p: { tracedMs: number; observedMs: number }): boolean => p.tracedMs <= p.observedMs + 0.05;
  const notLongerTolerance = 'traced ≤ observed + 0.05 ms (else it is another request\'s time)';
  results.push(check('root span not longer than the client saw', notLongerTolerance, clientPairs, notLonger));
  if (sampledPairs !== clientPairs) results.push(check('root span not longer than the client saw, sampled requests', notLongerTolerance, sampledPairs, notLonger));
  results.push(
    check(
      'root span vs client-observed latency',
      '|diff| ≤ max(1 ms, 10%); the rest is the client\'s own send/read delay outside nginx (load generator on the same 2 cores), untraced',
      sampledPairs,
      (p) => Math.abs(p.observedMs - p.tracedMs) <= Math.max(1, 0.1 * p.observedMs),
    ),
  );
  results.push(
    check('root span vs nginx request_time', '|diff| ≤ 1.5 ms (nginx: ms clock cached per event-loop pass; from its first read)', nginxPairs, (p) => Math.abs(p.observedMs - p.tracedMs) <= 1.5),
  );
  results.push(check('upstream spans vs nginx upstream_response_time', '|diff| ≤ 1.5 ms (ms resolution)', upstreamPairs, (p) => Math.abs(p.observedMs - p.tracedMs) <= 1.5));

  if (input.pgStatStatements && statements) results.push(...pgStatementChecks(statements, input.pgStatStatements));
  if (input.events && input.ss) results.push(rttCheck(input.events, input.ss, input.rttPorts ?? []));
  return results;
}

const norm = (q: string): string => q.replace(/\s+/g, ' ').trim();

/** Total time of a span's topmost descendants named `phase` (a nested one is inside its parent). */
function phaseMs(byParent: ReadonlyMap<string, readonly Span[]>, span: Span, phase: string): number | null {
  let total = 0;
  let found = false;
  const walk = (s: Span): void => {
    for (const c of byParent.get(s.id) ?? []) {
      if (c.name === phase) {
        total += ms(c);
        found = true;
      } else {
        walk(c);
      }
    }
  };
  walk(span);
  return found ? total : null;
}

interface StatementTimes {
  /** Adds one trace's statements. */
  readonly add: (t: Trace) => void;
  /** Per normalized statement text: the traced execute phases, plan phases, and DB spans, ms. */
  readonly exec: ReadonlyMap<string, number[]>;
  readonly plan: ReadonlyMap<string, number[]>;
  readonly whole: ReadonlyMap<string, number[]>;
}

/** The traced times of each statement, gathered trace by trace. */
function statementTimes(): StatementTimes {
  const exec = new Map<string, number[]>();
  const plan = new Map<string, number[]>();
  const whole = new Map<string, number[]>();
  const add = (t: Trace): void => {
    const byParent = new Map<string, Span[]>();
    for (const s of t.spans) {
      if (s.parentId === null) continue;
      const list = byParent.get(s.parentId);
      if (list) list.push(s);
      else byParent.set(s.parentId, [s]);
    }
    for (const s of t.spans) {
      const text = s.tags['db.query.text'];
      if (typeof text !== 'string') continue;
      const db = (byParent.get(s.id) ?? []).find((c) => c.name === 'DB processing');
      if (!db) continue;
      const dbList = whole.get(norm(text));
      const dbMs = Number(db.endNs - db.startNs) / 1e6;
      if (dbList) dbList.push(dbMs);
      else whole.set(norm(text), [dbMs]);
      for (const [phase, into] of [['execute', exec], ['plan', plan]] as const) {
        const v = phaseMs(byParent, db, phase);
        if (v === null) continue;
        const list = into.get(norm(text));
        if (list) list.push(v);
        else into.set(norm(text), [v]);
      }
    }
  };
  return { add, exec, plan, whole };
}

/**
 * pg_stat_statements' mean_exec_time is executor time only, so it is compared with the traced
 * execute phases of each statement; planning only when the snapshot counted plans
 * (track_planning on).
 */
function pgStatementChecks({ exec, plan, whole }: StatementTimes, snapshot: PgStatStatementsSnapshot): CheckResult[] {
  const pairsOf = (into: ReadonlyMap<string, number[]>, observed: (st: PgStatStatementsSnapshot['statements'][number]) => number | null) =>
    snapshot.statements.flatMap((st) => {
      const list = into.get(norm(st.query));
      const o = observed(st);
      if (!list || list.length < MIN_STATEMENT_CALLS || o === null) return [];
      return [{ key: norm(st.query).slice(0, 60), tracedMs: list.reduce((a, b) => a + b, 0) / list.length, observedMs: o }];
    });
  // The execute probes wrap the portal run, the executor a little inside it; both include
  // pg_sleep and lock waits.
  const tol = (p: { tracedMs: number; observedMs: number }): boolean => Math.abs(p.tracedMs - p.observedMs) <= Math.max(0.05, 0.25 * p.observedMs);
  if (exec.size === 0) {
    // No phases (the postgres family did not run): the app's view of the database, query sent to
    // result readable, holds the executor's time and more, never less.
    return [
      check(
        "DB processing (the app's view) mean vs pg_stat_statements mean_exec_time",
        `traced ≥ observed − max(0.05 ms, 10%), statements with ≥ ${MIN_STATEMENT_CALLS} traced calls; no phases without --families +postgres`,
        pairsOf(whole, (st) => st.meanExecTime),
        (p) => p.tracedMs >= p.observedMs - Math.max(0.05, 0.1 * p.observedMs),
      ),
    ];
  }
  const out = [
    check(
      'DB execute mean vs pg_stat_statements mean_exec_time',
      `|diff| ≤ max(0.05 ms, 25%), statements with ≥ ${MIN_STATEMENT_CALLS} traced calls`,
      pairsOf(exec, (st) => st.meanExecTime),
      tol,
    ),
  ];
  const planPairs = pairsOf(plan, (st) => (st.plans !== undefined && st.plans > 0 && st.meanPlanTime !== undefined ? st.meanPlanTime : null));
  if (planPairs.length > 0) out.push(check('DB plan mean vs pg_stat_statements mean_plan_time', `|diff| ≤ max(0.05 ms, 25%), ≥ ${MIN_STATEMENT_CALLS} traced calls`, planPairs, tol));
  return out;
}

/**
 * Loopback RTT check, per connection that `ss -tin` listed on one of `ports`: the traced
 * one-way kernel transit (sender's write start → receiver's sk_data_ready; loopback delivers
 * inside the sender's syscall, so the write's end can come after the arrival) doubled, against
 * ss's minrtt. ss's smoothed rtt is not compared: on loopback it is dominated by delayed ACKs
 * (milliseconds) rather than transit (microseconds).
 */
function rttCheck(events: Iterable<TraceEvent>, sockets: readonly SsSocket[], ports: readonly number[]): CheckResult {
  const byKey = new Map<string, SockIo[]>();
  for (const e of events) {
    if (!isSockIo(e) || e.bytes <= 0n) continue;
    const k = `${e.tuple.localAddress}:${e.tuple.localPort}>${e.tuple.remoteAddress}:${e.tuple.remotePort}`;
    const list = byKey.get(k);
    if (list) list.push(e);
    else byKey.set(k, [e]);
  }
  const transitsUs = (rx: readonly SockIo[], tx: readonly SockIo[]): number[] => {
    const sends = tx.filter((e) => e.kind === EventKind.SockSend).map(eventStartNs).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const out: number[] = [];
    for (const r of rx) {
      if (r.kind !== EventKind.SockRecv || r.arrivalNs <= 0n) continue;
      const start = sends[lowerBound(sends, (s) => s > r.arrivalNs) - 1];
      if (start !== undefined) out.push(Number(r.arrivalNs - start) / 1e3);
    }
    return out;
  };
  const pairs = sockets.flatMap((s) => {
    if (!ports.includes(s.local.port) || s.minRttMs === null) return [];
    const server = byKey.get(`${s.local.address}:${s.local.port}>${s.peer.address}:${s.peer.port}`) ?? [];
    const peer = byKey.get(`${s.peer.address}:${s.peer.port}>${s.local.address}:${s.local.port}`) ?? [];
    const t = [...transitsUs(server, peer), ...transitsUs(peer, server)].sort((a, b) => a - b);
    if (t.length === 0) return [];
    const median = t[t.length >> 1] as number;
    return [{ key: `${s.local.port}<${s.peer.port} (${t.length} hops)`, tracedMs: (2 * median) / 1e3, observedMs: s.minRttMs }];
  });
  return check(
    'network transit vs ss minrtt (loopback)',
    '|2 × median one-way transit − minrtt| ≤ 50 µs (softirq and scheduling jitter; ss smoothed rtt is delayed-ACK time)',
    pairs,
    (p) => Math.abs(p.tracedMs - p.observedMs) <= 0.05,
  );
}

/** The results as an aligned text table. */
export function formatValidation(results: readonly CheckResult[]): string {
  const rows = results.map((r) => [r.name, `${r.within}/${r.compared}`, r.compared ? `${(r.share * 100).toFixed(1)}%` : '-', r.tolerance]);
  const head = ['check', 'within', 'share', 'tolerance'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: readonly string[]): string => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  return terminalSafe([line(head), ...rows.map(line)].join('\n') + '\n', true);
}
