import { describe, expect, it } from 'vitest';
import type { Finding } from '../analysis/finding.ts';
import { draftSpan, finalizeTrace } from '../assembler/span-draft.ts';
import type { Trace } from '../assembler/span.ts';
import { expectationOf, type PlannedRequest } from './inject-plan.ts';
import { attributionAccuracy, handoffWaits, judgeExperiment, summarizeVerdict, type SentRequest } from './inject-verdict.ts';

const MS = 1_000_000n;
const ns = (ms: number): bigint => BigInt(Math.round(ms * 1000)) * 1000n;

/** GET /api/users whose handler setup takes `setupMs`, then one 2 ms DB query (with `retransmits`). */
function usersTrace(id: string, setupMs: number, retransmits = 0): Trace {
  const end = 1 + setupMs + 2;
  return finalizeTrace(
    id,
    draftSpan('GET /api/users', 'nginx', 0n, ns(end + 1), {
      children: [
        draftSpan('app processing', 'app', MS, ns(end), {
          children: [
            draftSpan('handler setup', 'app', MS, ns(1 + setupMs)),
            draftSpan('DB query 1 (SELECT)', 'app', ns(1 + setupMs), ns(end), { tags: retransmits ? { 'kernel.tcp_retransmits': retransmits } : {} }),
          ],
        }),
      ],
    }),
  );
}

const id = (n: number): string => n.toString(16).padStart(32, '0');

function sent(n: number, role: PlannedRequest['role'], latencyMs: number, extra: Partial<SentRequest> = {}): SentRequest {
  return {
    id: id(n),
    role,
    group: 'GET /api/users',
    method: 'GET',
    path: '/api/users',
    phase: role === 'control' ? 'before' : 'fault',
    round: role === 'control' ? -1 : 0,
    offsetMs: 0,
    status: 200,
    latencyMs,
    startMs: 0,
    ...(role === 'control' ? {} : { expect: expectationOf({ layer: 'app', delayMs: 100 }, 'injected') }),
    ...extra,
  };
}

const finding = (requestId: string, kind: Finding['kind'], spanId: string | undefined, excessMs: number, severity: Finding['severity'] = 'warning'): Finding => ({
  requestId,
  route: 'GET /api/users',
  kind,
  severity,
  message: `${kind} on ${requestId.slice(-2)}`,
  ...(spanId ? { spanId } : {}),
  observedMs: excessMs,
  expectedMs: 0,
  excessMs,
});

describe('judgeExperiment', () => {
  const controls = [sent(1, 'control', 6), sent(2, 'control', 7), sent(3, 'control', 8)];
  const traces = new Map<string, Trace>([
    [id(1), usersTrace(id(1), 3)],
    [id(2), usersTrace(id(2), 4)],
    [id(3), usersTrace(id(3), 5)],
    [id(10), usersTrace(id(10), 108)],
    [id(11), usersTrace(id(11), 130)],
  ]);
  const setupSpan = (t: Trace | undefined): string => t?.spans.find((s) => s.name === 'handler setup')?.id ?? '';
  const dbSpan = (t: Trace | undefined): string => t?.spans.find((s) => s.name.startsWith('DB query'))?.id ?? '';
  const v = judgeExperiment({
    sent: [...controls, sent(10, 'injected', 112), sent(11, 'injected', 134), sent(12, 'injected', 110)],
    traces,
    findings: [
      finding(id(10), 'slow-span', setupSpan(traces.get(id(10))), 104),
      finding(id(11), 'slow-span', dbSpan(traces.get(id(11))), 126),
      finding(id(2), 'slow-request', undefined, 30),
      finding(id(3), 'slow-request', undefined, 3),
      finding(id(1), 'tcp-retransmit', undefined, 90, 'info'),
    ],
    significantMs: 20,
  });

  it('measures the location over the controls’ median and passes within tolerance', () => {
    const [ok] = v.requests;
    expect(ok).toMatchObject({ requestId: id(10), role: 'injected', location: 'handler-setup', expectedMs: 100, toleranceMs: 10, pass: true, failures: [], where: ['handler setup'] });
    expect(ok?.measuredMs).toBeCloseTo(104, 6);
    expect(ok?.clientExcessMs).toBeCloseTo(105, 6);
    expect(ok?.topComponent?.label).toBe('handler setup');
    expect(ok?.topComponent?.excessMs).toBeCloseTo(104, 6);
  });

  it('fails outside tolerance, saying by how much', () => {
    expect(v.requests[1]).toMatchObject({ pass: false, failures: ['126.0 ms at handler-setup, expected 100.0 ± 10.0 ms'] });
  });

  it('fails a request without a trace', () => {
    expect(v.requests[2]).toMatchObject({ requestId: id(12), pass: false, failures: ['no trace'], measuredMs: 0 });
  });

  it('the right detector is the expected kind on the expected span', () => {
    expect(v.requests.map((r) => r.detector.ok)).toEqual([true, false, false]);
    expect(v.requests[1]?.detector).toEqual({ expected: ['slow-span on handler setup'], fired: ['slow-span'], ok: false });
  });

  it('false alarms: significant, non-info findings on controls only', () => {
    expect(v.falseAlarms).toEqual([{ requestId: id(2), kind: 'slow-request', excessMs: 30, message: `slow-request on 02` }]);
    expect(v.controls).toEqual({ sent: 3, traced: 3 });
  });

  it('summarizes medians and counts, and the accuracy over experiments', () => {
    const s = summarizeVerdict(v);
    expect(s).toMatchObject({ passed: 1, total: 3, detectorsOk: 1, pass: false });
    expect(s.parts).toHaveLength(1);
    expect(s.parts[0]).toMatchObject({ role: 'injected', basis: 'injected', expectedMs: 100, toleranceMs: 10, passed: 1, total: 3, location: "app › handler setup (the app's own time before its first operation)" });
    expect(s.parts[0]?.measuredMs.min).toBe(0);
    expect(s.parts[0]?.measuredMs.median).toBeCloseTo(104, 6);
    expect(attributionAccuracy([v, v])).toEqual({ passed: 2, total: 6, share: 2 / 6 });
    expect(attributionAccuracy([])).toEqual({ passed: 0, total: 0, share: 0 });
  });
});

describe('summarizeVerdict', () => {
  it('a part per role and expectation: a pool burst’s first wave apart from the requests that wait', () => {
    const e = { ...expectationOf({ layer: 'pool', poolSize: 1, burst: 2, holdMs: 50, staggerMs: 5 }, 'waiting'), location: 'handler-setup' as const };
    /** Handler setup [a, b], then one DB query until `end` (ms). */
    const held = (n: number, a: number, b: number, end: number): Trace =>
      finalizeTrace(
        id(n),
        draftSpan('GET /api/users/:id', 'nginx', 0n, ns(end + 1), {
          children: [draftSpan('app processing', 'app', ns(a), ns(end), { children: [draftSpan('handler setup', 'app', ns(a), ns(b)), draftSpan('DB query 1 (SELECT)', 'app', ns(b), ns(end))] })],
        }),
      );
    // One connection: the first request holds it from 1 to 52 ms; the second, begun at 3 ms, gets it then.
    const v = judgeExperiment({
      sent: [sent(1, 'control', 5), sent(2, 'first-wave', 55, { expect: e }), sent(3, 'waiting', 105, { expect: e })],
      traces: new Map([
        [id(1), held(1, 1, 2, 4)],
        [id(2), held(2, 1, 2, 52)],
        [id(3), held(3, 3, 52, 54)],
      ]),
      findings: [],
      significantMs: 20,
    });
    expect(summarizeVerdict(v).parts.map((p) => [p.role, p.basis, p.expectedMs, p.measuredMs.median, p.passed])).toEqual([
      ['first-wave', 'pool-handoff', 0, 0, 1],
      ['waiting', 'pool-handoff', 49, 48, 1],
    ]);
  });
});

describe('handoffWaits', () => {
  it('each request takes the connection that comes free first, and frees it when its last query ends', () => {
    //  pool of 2     0   10 |  20  30        (begun)
    //  last query   150 160 | 290 300        (ended)
    //  waits          0   0 | 130 130
    expect(
      handoffWaits(
        [
          { startMs: 0, endMs: 150 },
          { startMs: 10, endMs: 160 },
          { startMs: 20, endMs: 290 },
          { startMs: 30, endMs: 300 },
        ],
        2,
      ),
    ).toEqual([0, 0, 130, 130]);
  });
});

describe('judgeExperiment: loss and amounts the client measures', () => {
  it('loss needs the retransmits in the trace as well as the time', () => {
    const expect1 = expectationOf({ layer: 'net-loss' }, 'injected');
    const traces = new Map([
      [id(1), usersTrace(id(1), 1)],
      [id(5), usersTrace(id(5), 1, 1)],
      [id(6), usersTrace(id(6), 1)],
    ]);
    // The DB query is 2 ms in every trace: only a retransmitting one counts at pg-retransmit.
    const v = judgeExperiment({
      sent: [sent(1, 'control', 4), sent(5, 'injected', 205, { expect: { ...expect1, amountMs: 2, tolerance: { absMs: 1, rel: 0 } } }), sent(6, 'injected', 205, { expect: { ...expect1, amountMs: 2, tolerance: { absMs: 1, rel: 0 } } })],
      traces,
      findings: [],
      significantMs: 20,
    });
    expect(v.requests.map((r) => [r.pass, r.retransmits, r.failures])).toEqual([
      [true, 1, []],
      [false, 0, ['0.0 ms at pg-retransmit, expected 2.0 ± 1.0 ms', '0 TCP retransmit(s) in the trace, expected at least 1']],
    ]);
  });

  it("'trace-total': the request's extra time in its own trace", () => {
    const e = { ...expectationOf({ layer: 'file', kb: 4 }, 'injected'), location: 'handler-setup' as const, fileBytes: undefined };
    const v = judgeExperiment({
      sent: [sent(1, 'control', 5), sent(2, 'control', 7), sent(9, 'injected', 99, { expect: e })],
      traces: new Map([
        [id(1), usersTrace(id(1), 2)],
        [id(2), usersTrace(id(2), 4)],
        [id(9), usersTrace(id(9), 52)],
      ]),
      findings: [],
      significantMs: 20,
    });
    // Nearest-rank medians: the controls' traces last 6 ms and their handler setup 2 ms.
    expect(v.requests[0]).toMatchObject({ basis: 'trace-total', expectedMs: 50, measuredMs: 50, pass: true });
  });

  it("'pg-log': the location as it is against PostgreSQL's logged duration of the statement", () => {
    const e = { ...expectationOf({ layer: 'lock', holdMs: 100 }, 'injected'), location: 'handler-setup' as const };
    const v = judgeExperiment({
      sent: [sent(1, 'control', 5), sent(7, 'injected', 130, { expect: e }), sent(8, 'injected', 130, { expect: e })],
      traces: new Map([
        [id(1), usersTrace(id(1), 60)],
        [id(7), usersTrace(id(7), 122)],
        [id(8), usersTrace(id(8), 122)],
      ]),
      findings: [],
      significantMs: 20,
      pgDurations: new Map([
        [id(7), [{ operation: 'INSERT', durationMs: 3 }, { operation: 'UPDATE', durationMs: 123 }]],
        [id(8), [{ operation: 'COMMIT', durationMs: 200 }]],
      ]),
    });
    expect(v.requests.map((r) => [r.basis, r.expectedMs, r.measuredMs, r.pass])).toEqual([
      ['pg-log', 123, 122, true],
      ['pg-log', 0, 122, false],
    ]);
    expect(v.requests[1]?.failures).toEqual(["PostgreSQL logged no duration for the request's UPDATE (it logs statements of 100 ms and more)"]);
  });

  it("'schedstat': the location as it is against the kernel's account, and at least the injected part", () => {
    const e = { ...expectationOf({ layer: 'cpu', spinMs: 100 }, 'injected'), location: 'handler-setup' as const };
    const v = judgeExperiment({
      sent: [sent(1, 'control', 5), sent(7, 'injected', 230, { expect: e, kernelMs: 124 }), sent(8, 'injected', 230, { expect: e, kernelMs: 92 }), sent(9, 'injected', 230, { expect: e })],
      traces: new Map([
        [id(1), usersTrace(id(1), 60)],
        [id(7), usersTrace(id(7), 122)],
        [id(8), usersTrace(id(8), 85)],
        [id(9), usersTrace(id(9), 122)],
      ]),
      findings: [],
      significantMs: 20,
    });
    expect(v.requests.map((r) => [r.measuredMs, r.expectedMs, r.pass])).toEqual([
      [122, 124, true],
      [85, 92, false],
      [122, 0, false],
    ]);
    expect(v.requests[1]?.failures).toEqual(['85.0 ms at handler-setup, less than the 100 ms injected']);
    expect(v.requests[2]?.failures).toEqual(['no kernel account (schedstat) of the request to compare with']);
  });

  it("'blocker-loop': what was left of its round's blocker's loop when the request's bytes arrived", () => {
    // Blocker: handler setup from 1 ms; a 60 ms loop ends at 61 ms. Queued: bytes readable at
    // 11 ms (network span ends at 41 ms after a 30 ms wait): 50 ms of the loop were left.
    const queuedTrace = finalizeTrace(
      id(9),
      draftSpan('GET /api/users', 'nginx', 0n, ns(50), {
        children: [
          draftSpan('network: nginx → app', 'kernel', ns(10), ns(41), { tags: { 'kernel.socket_buffer_wait_ns': 30e6 } }),
          draftSpan('app processing', 'app', ns(41), ns(49), { children: [draftSpan('handler setup', 'app', ns(41), ns(42)), draftSpan('DB query 1 (SELECT)', 'app', ns(42), ns(49))] }),
        ],
      }),
    );
    const loop = { ...expectationOf({ layer: 'event-loop', cpuMs: 60, queued: 1, afterMs: 10 }, 'queued'), location: 'handler-setup' as const };
    const v = judgeExperiment({
      sent: [sent(1, 'control', 5), sent(2, 'blocker', 62, { round: 0 }), sent(9, 'queued', 50, { round: 0, expect: loop })],
      traces: new Map([
        [id(1), usersTrace(id(1), 1)],
        [id(2), usersTrace(id(2), 60)],
        [id(9), queuedTrace],
      ]),
      findings: [],
      significantMs: 20,
    });
    expect(v.requests.find((r) => r.role === 'queued')).toMatchObject({ basis: 'blocker-loop', expectedMs: 50 });
  });
});
