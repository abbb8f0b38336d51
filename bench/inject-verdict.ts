/**
 * Did the trace put the injected time where it was injected? For each injected request: the
 * time at its expected location over the same location's median in the normal requests beside
 * it (its controls), against the amount injected, within a tolerance; and whether `lab
 * analyze` named the fault. Pure: what was sent, the traces and the findings in; verdicts out.
 *
 *   measured = location(injected trace) − median(location(control traces))
 *   pass     = |measured − expected| ≤ max(absMs, rel × expected), and the retransmits or file
 *              bytes the fault must leave are there
 */
import type { Finding, FindingKind } from '../analysis/finding.ts';
import { quantileOfSorted } from '../analysis/quantiles.ts';
import { traceFacts } from '../analysis/trace-facts.ts';
import type { Trace } from '../assembler/span.ts';
import { LOCATIONS, measureLocation, type LocationKey } from './inject-locations.ts';
import type { Expectation, PlannedRequest, Role } from './inject-plan.ts';

/** A planned request once sent: its status and what the client saw. */
export interface SentRequest extends PlannedRequest {
  /** HTTP status, 0 when no response came. */
  readonly status: number;
  /** Send to last byte, ms. */
  readonly latencyMs: number;
  /** Wall-clock send time, ms since the epoch. */
  readonly startMs: number;
}

export interface RequestVerdict {
  readonly requestId: string;
  readonly role: Exclude<Role, 'control'>;
  readonly location: LocationKey;
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
}

const median = (xs: readonly number[]): number => quantileOfSorted([...xs].sort((a, b) => a - b), 0.5);

/** The tolerance of an expectation at an amount, ms. */
export const toleranceMs = (t: Expectation['tolerance'], expectedMs: number): number => Math.max(t.absMs, t.rel * expectedMs);

const describeExpected = (e: Expectation): string[] =>
  e.findings.map((f) => (f.span ? `${f.kind} (${f.span.source.replace(/^\^|\$$/g, '').replace(/\\/g, '')})` : f.kind));

function topComponent(trace: Trace, controls: readonly Trace[]): RequestVerdict['topComponent'] {
  const f = traceFacts(trace);
  let best: RequestVerdict['topComponent'] = null;
  for (const [key, ms] of f.componentMs) {
    const excessMs = ms - median(controls.map((c) => traceFacts(c).componentMs.get(key) ?? 0));
    if (!best || excessMs > best.excessMs) best = { label: f.labels.get(key) ?? key, excessMs };
  }
  return best;
}

function judgeRequest(r: SentRequest, e: Expectation, input: JudgeInput, controls: readonly SentRequest[]): RequestVerdict {
  const trace = input.traces.get(r.id);
  const controlTraces = controls.flatMap((c) => input.traces.get(c.id) ?? []);
  const clientExcessMs = r.latencyMs - median(controls.filter((c) => c.status > 0).map((c) => c.latencyMs));
  const expectedMs = e.amountMs === 'client' ? clientExcessMs : e.amountMs;
  const tol = toleranceMs(e.tolerance, Math.abs(expectedMs));
  const failures: string[] = [];
  if (r.status < 200 || r.status >= 300) failures.push(r.status === 0 ? 'no response' : `status ${r.status}`);
  const fired = input.findings.filter((f) => f.requestId === r.id);
  const spanName = (id: string | undefined): string => trace?.spans.find((s) => s.id === id)?.name ?? '';
  const detectorOk = e.findings.some((x) => fired.some((f) => f.kind === x.kind && (!x.span || x.span.test(spanName(f.spanId)))));
  const detector = { expected: describeExpected(e), fired: [...new Set(fired.map((f) => f.kind))], ok: detectorOk };
  if (!trace) {
    return { requestId: r.id, role: r.role as RequestVerdict['role'], location: e.location, expectedMs, measuredMs: 0, toleranceMs: tol, pass: false, failures: [...failures, 'no trace'], where: [], clientExcessMs, topComponent: null, retransmits: 0, detector };
  }
  if (controlTraces.length === 0) failures.push('no traced control to compare with');
  const placed = measureLocation(e.location, trace);
  const measuredMs = placed.ms - median(controlTraces.map((c) => measureLocation(e.location, c).ms));
  if (Math.abs(measuredMs - expectedMs) > tol) {
    failures.push(`${measuredMs.toFixed(1)} ms at ${e.location}, expected ${expectedMs.toFixed(1)} ± ${tol.toFixed(1)} ms`);
  }
  if (e.retransmits !== undefined && placed.retransmits < e.retransmits) failures.push(`${placed.retransmits} TCP retransmit(s) in the trace, expected at least ${e.retransmits}`);
  if (e.fileBytes !== undefined && (placed.fileBytes.written !== e.fileBytes || placed.fileBytes.read !== e.fileBytes)) {
    failures.push(`file spans show ${placed.fileBytes.written} B written and ${placed.fileBytes.read} B read, expected ${e.fileBytes} B each`);
  }
  return {
    requestId: r.id,
    role: r.role as RequestVerdict['role'],
    location: e.location,
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

/** One experiment's row: medians over its injected requests. */
export interface ExperimentSummary {
  readonly location: string;
  readonly expectedMs: number;
  readonly measuredMs: { readonly median: number; readonly min: number; readonly max: number };
  readonly toleranceMs: number;
  readonly passed: number;
  readonly total: number;
  readonly detectorsOk: number;
  readonly pass: boolean;
}

/** The row of one experiment's verdict (roles with different locations are listed together). */
export function summarizeVerdict(v: ExperimentVerdict): ExperimentSummary {
  const measured = v.requests.map((r) => r.measuredMs);
  const sorted = [...measured].sort((a, b) => a - b);
  const locations = [...new Set(v.requests.map((r) => LOCATIONS[r.location]))];
  return {
    location: locations.join('; '),
    expectedMs: median(v.requests.map((r) => r.expectedMs)),
    measuredMs: { median: median(measured), min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0 },
    toleranceMs: median(v.requests.map((r) => r.toleranceMs)),
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
