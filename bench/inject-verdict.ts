/**
 * Did the trace put the injected time where it was injected? For each injected request: the
 * time at its expected location over the same location's median in the normal requests beside
 * it (its controls), against the amount injected, within a tolerance; and whether `lab
 * analyze` named the fault. Pure: what was sent, the traces and the findings in; verdicts out.
 *
 *   measured = location(injected trace) − median(location(control traces)), or the location as
 *              it is where PostgreSQL's log or the kernel's schedstat counts all of it
 *   pass     = |measured − expected| ≤ max(absMs, rel × expected), and the retransmits or file
 *              bytes the fault must leave are there
 */
import type { Finding, FindingKind } from '../analysis/finding.ts';
import { quantileOfSorted } from '../analysis/quantiles.ts';
import { traceFacts } from '../analysis/trace-facts.ts';
import type { Trace } from '../assembler/span.ts';
import { LOCATIONS, measureLocation, type LocationKey } from './inject-locations.ts';
import type { AmountBasis, Expectation, PlannedRequest, Role } from './inject-plan.ts';
import type { PgStatementDuration } from './pg-log-durations.ts';

/** A planned request once sent: its status and what the client saw. */
export interface SentRequest extends PlannedRequest {
  /** HTTP status, 0 when no response came. */
  readonly status: number;
  /** Send to last byte, ms. */
  readonly latencyMs: number;
  /** Wall-clock send time, ms since the epoch. */
  readonly startMs: number;
  /** The kernel's count of the app thread's run-queue time during the request, ms (schedstat expectations). */
  readonly kernelMs?: number;
}

export interface RequestVerdict {
  readonly requestId: string;
  readonly role: Exclude<Role, 'control' | 'warm-up'>;
  readonly location: LocationKey;
  /** Where the expected amount comes from: the injection itself, or another account (inject-plan.ts). */
  readonly basis: 'injected' | AmountBasis;
  readonly expectedMs: number;
  readonly measuredMs: number;
  readonly toleranceMs: number;
  readonly pass: boolean;
  /** Why it failed, one line per reason. */
  readonly failures: readonly string[];
  /** The spans the measured time was read from. */
  readonly where: readonly string[];
  /** What the client waited beyond its controls' median, ms. */
  readonly clientExcessMs: number;
  /** The component of the trace (see analysis/trace-facts.ts) that grew most over its controls. */
  readonly topComponent: { readonly label: string; readonly excessMs: number } | null;
  readonly retransmits: number;
  readonly detector: { readonly expected: readonly string[]; readonly fired: readonly FindingKind[]; readonly ok: boolean };
}

/** A finding on a normal request that cost at least the significance bar: a false alarm. */
export interface FalseAlarm {
  readonly requestId: string;
  readonly kind: FindingKind;
  readonly excessMs: number;
  readonly message: string;
}

export interface ExperimentVerdict {
  readonly requests: readonly RequestVerdict[];
  readonly controls: { readonly sent: number; readonly traced: number };
  readonly falseAlarms: readonly FalseAlarm[];
}

export interface JudgeInput {
  readonly sent: readonly SentRequest[];
  readonly traces: ReadonlyMap<string, Trace>;
  readonly findings: readonly Finding[];
  /** Findings on normal requests with at least this excess, ms, are false alarms. */
  readonly significantMs: number;
  /** PostgreSQL's logged statement durations by request id (pg-log expectations). */
  readonly pgDurations?: ReadonlyMap<string, readonly PgStatementDuration[]>;
}

const median = (xs: readonly number[]): number => quantileOfSorted([...xs].sort((a, b) => a - b), 0.5);

/** The tolerance of an expectation at an amount, ms. */
export const toleranceMs = (t: Expectation['tolerance'], expectedMs: number): number => Math.max(t.absMs, t.rel * expectedMs);

const describeExpected = (e: Expectation): string[] => e.findings.map((f) => (f.on ? `${f.kind} on ${f.on}` : f.kind));

function topComponent(trace: Trace, controls: readonly Trace[]): RequestVerdict['topComponent'] {
  const f = traceFacts(trace);
  let best: RequestVerdict['topComponent'] = null;
  for (const [key, ms] of f.componentMs) {
    const excessMs = ms - median(controls.map((c) => traceFacts(c).componentMs.get(key) ?? 0));
    if (!best || excessMs > best.excessMs) best = { label: f.labels.get(key) ?? key, excessMs };
  }
  return best;
}

/** The span that starts a request's own work in the app: handler setup, or the handler. */
const handlerStart = (t: Trace): bigint | undefined => {
  const app = t.spans.find((s) => s.name === 'app processing' && s.parentId === t.spans[0]?.id);
  return t.spans.find((s) => s.parentId === app?.id && (s.name === 'handler setup' || s.name === 'handler'))?.startNs;
};

/** When the request's bytes became readable in the app's socket (its network span's buffer wait start). */
const arrivalInApp = (t: Trace): bigint | undefined => {
  const net = t.spans.find((s) => s.name === 'network: nginx → app' && s.parentId === t.spans[0]?.id);
  const wait = net?.tags['kernel.socket_buffer_wait_ns'];
  return net && typeof wait === 'number' ? net.endNs - BigInt(Math.round(wait)) : undefined;
};

interface HoldTimes {
  /** When the app started on the request (its handler setup), ms on the trace's clock. */
  readonly startMs: number;
  /** When its last DB query ended: the connection goes back to the pool then, ms. */
  readonly endMs: number;
}

/** From a burst request's trace: when the app began on it, and when it gave its connection back. */
function holdTimes(t: Trace | undefined): HoldTimes | undefined {
  const start = t ? handlerStart(t) : undefined;
  const lastQuery = t?.spans.filter((s) => /^DB query \d+ \(/.test(s.name)).at(-1);
  return start === undefined || !lastQuery ? undefined : { startMs: Number(start) / 1e6, endMs: Number(lastQuery.endNs) / 1e6 };
}

/**
 * Each request's wait for a connection in its burst: in the order the app began on them, a
 * request takes the connection that comes free first, which comes free again when its own last
 * DB query ends. Pure.
 */
export function handoffWaits(burst: readonly { readonly startMs: number; readonly endMs: number }[], poolSize: number): number[] {
  const freeAt = Array.from({ length: poolSize }, () => -Infinity);
  return burst.map((r) => {
    const slot = freeAt.indexOf(Math.min(...freeAt));
    const gotAt = Math.max(r.startMs, freeAt[slot] as number);
    freeAt[slot] = r.endMs;
    return gotAt - r.startMs;
  });
}

/** The expected amount when it is read from another account; a failure line when that account is missing. */
function amountFrom(basis: AmountBasis, r: SentRequest, e: Expectation, input: JudgeInput, trace: Trace | undefined, controlTraces: readonly Trace[]): number | string {
  switch (basis) {
    case 'schedstat':
      return r.kernelMs ?? 'no kernel account (schedstat) of the request to compare with';
    case 'pg-log': {
      const d = (input.pgDurations?.get(r.id) ?? []).filter((x) => x.operation === e.statement);
      return d.length > 0 ? d.reduce((a, x) => a + x.durationMs, 0) : `PostgreSQL logged no duration for the request's ${e.statement} (it logs statements of 100 ms and more)`;
    }
    case 'trace-total': {
      const rootMs = (t: Trace): number => Number((t.spans[0] as Trace['spans'][number]).endNs - (t.spans[0] as Trace['spans'][number]).startNs) / 1e6;
      return trace && controlTraces.length > 0 ? rootMs(trace) - median(controlTraces.map(rootMs)) : 'no trace of it and its controls to take its extra time from';
    }
    case 'pool-handoff': {
      const burst = input.sent.filter((s) => s.round === r.round && s.expect?.amountMs === 'pool-handoff');
      const held = burst.map((s) => ({ s, times: holdTimes(input.traces.get(s.id)) }));
      if (held.some((h) => h.times === undefined)) return 'a request of its burst has no trace with a DB query: no handoff times';
      const inOrder = [...held].sort((a, b) => (a.times as HoldTimes).startMs - (b.times as HoldTimes).startMs);
      const waits = handoffWaits(inOrder.map((h) => h.times as HoldTimes), e.poolSize ?? 1);
      return waits[inOrder.findIndex((h) => h.s === r)] ?? 0;
    }
    case 'blocker-loop': {
      const blocker = input.sent.find((s) => s.role === 'blocker' && s.round === r.round);
      const loopStart = blocker ? handlerStart(input.traces.get(blocker.id) ?? { traceId: '', spans: [] }) : undefined;
      const arrival = trace ? arrivalInApp(trace) : undefined;
      if (loopStart === undefined) return "no trace of its round's blocker with a handler setup";
      if (arrival === undefined) return 'no arrival time of its bytes in the app';
      return Number(loopStart + BigInt(Math.round((e.loopMs ?? 0) * 1e6)) - arrival) / 1e6;
    }
  }
}

function judgeRequest(r: SentRequest, e: Expectation, input: JudgeInput, controls: readonly SentRequest[]): RequestVerdict {
  const trace = input.traces.get(r.id);
  const controlTraces = controls.flatMap((c) => input.traces.get(c.id) ?? []);
  const clientExcessMs = r.latencyMs - median(controls.filter((c) => c.status > 0).map((c) => c.latencyMs));
  const failures: string[] = [];
  if (r.status < 200 || r.status >= 300) failures.push(r.status === 0 ? 'no response' : `status ${r.status}`);
  const basis = typeof e.amountMs === 'number' ? 'injected' : e.amountMs;
  const amount = typeof e.amountMs === 'number' ? e.amountMs : amountFrom(e.amountMs, r, e, input, trace, controlTraces);
  if (typeof amount === 'string') failures.push(amount);
  const expectedMs = typeof amount === 'number' ? amount : 0;
  const tol = toleranceMs(e.tolerance, Math.abs(expectedMs));
  const fired = input.findings.filter((f) => f.requestId === r.id);
  const spanName = (id: string | undefined): string => trace?.spans.find((s) => s.id === id)?.name ?? '';
  const detectorOk = e.findings.some((x) => fired.some((f) => f.kind === x.kind && (!x.span || x.span.test(spanName(f.spanId)))));
  const detector = { expected: describeExpected(e), fired: [...new Set(fired.map((f) => f.kind))], ok: detectorOk };
  if (!trace) {
    return { requestId: r.id, role: r.role as RequestVerdict['role'], location: e.location, basis, expectedMs, measuredMs: 0, toleranceMs: tol, pass: false, failures: [...failures, 'no trace'], where: [], clientExcessMs, topComponent: null, retransmits: 0, detector };
  }
  // Those accounts count everything at the location, not its growth over normal requests.
  const absolute = e.amountMs === 'schedstat' || e.amountMs === 'pg-log';
  if (!absolute && controlTraces.length === 0) failures.push('no traced control to compare with');
  const placed = measureLocation(e.location, trace);
  const measuredMs = placed.ms - (absolute ? 0 : median(controlTraces.map((c) => measureLocation(e.location, c).ms)));
  if (typeof amount === 'number' && Math.abs(measuredMs - expectedMs) > tol) {
    failures.push(`${measuredMs.toFixed(1)} ms at ${e.location}, expected ${expectedMs.toFixed(1)} ± ${tol.toFixed(1)} ms`);
  }
  if (e.atLeastMs !== undefined && measuredMs < e.atLeastMs - tol) failures.push(`${measuredMs.toFixed(1)} ms at ${e.location}, less than the ${e.atLeastMs} ms injected`);
  if (e.retransmits !== undefined && placed.retransmits < e.retransmits) failures.push(`${placed.retransmits} TCP retransmit(s) in the trace, expected at least ${e.retransmits}`);
  if (e.fileBytes !== undefined && (placed.fileBytes.written !== e.fileBytes || placed.fileBytes.read !== e.fileBytes)) {
    failures.push(`file spans show ${placed.fileBytes.written} B written and ${placed.fileBytes.read} B read, expected ${e.fileBytes} B each`);
  }
  return {
    requestId: r.id,
    role: r.role as RequestVerdict['role'],
    location: e.location,
    basis,
    expectedMs,
    measuredMs,
    toleranceMs: tol,
    pass: failures.length === 0,
    failures,
    where: [...new Set(placed.where)],
    clientExcessMs,
    topComponent: topComponent(trace, controlTraces),
    retransmits: placed.retransmits,
    detector,
  };
}

/** Judges every injected request of one experiment, and lists the false alarms on its controls. */
export function judgeExperiment(input: JudgeInput): ExperimentVerdict {
  const controls = input.sent.filter((r) => r.role === 'control');
  const requests = input.sent.flatMap((r) =>
    r.expect ? [judgeRequest(r, r.expect, input, controls.filter((c) => c.group === r.group))] : [],
  );
  const controlIds = new Set(controls.map((c) => c.id));
  const falseAlarms = input.findings
    .filter((f) => controlIds.has(f.requestId) && f.severity !== 'info' && f.excessMs >= input.significantMs)
    .map((f) => ({ requestId: f.requestId, kind: f.kind, excessMs: f.excessMs, message: f.message }));
  return { requests, controls: { sent: controls.length, traced: controls.filter((c) => input.traces.has(c.id)).length }, falseAlarms };
}

/** The injected requests of one role that share an expectation: medians over them. */
export interface SummaryPart {
  readonly role: RequestVerdict['role'];
  readonly location: string;
  readonly basis: RequestVerdict['basis'];
  readonly expectedMs: number;
  readonly measuredMs: { readonly median: number; readonly min: number; readonly max: number };
  readonly toleranceMs: number;
  readonly passed: number;
  readonly total: number;
}

/** One experiment's row: a part per kind of injected request (the blocker and its queued requests, say). */
export interface ExperimentSummary {
  readonly parts: readonly SummaryPart[];
  readonly passed: number;
  readonly total: number;
  readonly detectorsOk: number;
  readonly pass: boolean;
}

export function summarizeVerdict(v: ExperimentVerdict): ExperimentSummary {
  const groups = new Map<string, RequestVerdict[]>();
  for (const r of v.requests) {
    const key = `${r.role}/${r.location}/${r.basis}/${r.basis === 'injected' ? r.expectedMs : ''}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const parts = [...groups.values()].map((rs): SummaryPart => {
    const sorted = rs.map((r) => r.measuredMs).sort((a, b) => a - b);
    const first = rs[0] as RequestVerdict;
    return {
      role: first.role,
      location: LOCATIONS[first.location],
      basis: first.basis,
      expectedMs: median(rs.map((r) => r.expectedMs)),
      measuredMs: { median: median(sorted), min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0 },
      toleranceMs: median(rs.map((r) => r.toleranceMs)),
      passed: rs.filter((r) => r.pass).length,
      total: rs.length,
    };
  });
  return {
    parts,
    passed: v.requests.filter((r) => r.pass).length,
    total: v.requests.length,
    detectorsOk: v.requests.filter((r) => r.detector.ok).length,
    pass: v.requests.length > 0 && v.requests.every((r) => r.pass),
  };
}

/** Share of injected requests whose time landed at the right location within tolerance (0..1; 0 with none). */
export function attributionAccuracy(verdicts: readonly ExperimentVerdict[]): { readonly passed: number; readonly total: number; readonly share: number } {
  const all = verdicts.flatMap((v) => v.requests);
  const passed = all.filter((r) => r.pass).length;
  return { passed, total: all.length, share: all.length ? passed / all.length : 0 };
}
