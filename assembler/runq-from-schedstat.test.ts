import { describe, expect, it } from 'vitest';
import { EventKind, PgPhase, type TraceEvent } from '../shared/event-types.ts';
import { indexCapture } from './index-capture.ts';
import { runqFromSchedstat } from './runq-from-schedstat.ts';

const ID = 'ab'.repeat(16);
const APP = 100;
const BACKEND = 200;

const start = (tsNs: bigint, runDelayNs: bigint | undefined, tid = APP): TraceEvent => ({ kind: EventKind.RequestStart, tsNs, requestId: ID, pid: APP, tid, fd: 9, method: 'GET', path: '/', runDelayNs });
const qStart = (tsNs: bigint, runDelayNs: bigint, tid = APP): TraceEvent => ({ kind: EventKind.DbQueryStart, tsNs, requestId: ID, pid: APP, tid, fd: 12, query: 'SELECT 1', runDelayNs });
const qEnd = (tsNs: bigint, runDelayNs: bigint): TraceEvent => ({ kind: EventKind.DbQueryEnd, tsNs, requestId: ID, pid: APP, tid: APP, fd: 12, durationUs: 1n, rows: 1n, runDelayNs });
const end = (tsNs: bigint, runDelayNs: bigint): TraceEvent => ({ kind: EventKind.RequestEnd, tsNs, requestId: ID, pid: APP, tid: APP, fd: 9, status: 200, durationUs: 1n, runDelayNs });
const phase = (p: PgPhase, tsNs: bigint, durationNs: bigint, runDelayNs: bigint | undefined, runDelayStartNs = runDelayNs): TraceEvent => ({ kind: EventKind.PgPhase, tsNs, requestId: ID, pid: BACKEND, tid: BACKEND, fd: -1, phase: p, durationNs, detail0: 0n, detail1: 0n, runDelayStartNs, runDelayNs });
const waitOf = (tsNs: bigint, delayNs: bigint, pid: number, tid = pid) => ({ kind: EventKind.RunqDelay, tsNs, requestId: '', pid, tid, fd: -1, delayNs });

describe('runqFromSchedstat', () => {
  it('places each growth of a thread\'s run delay at the end of the window between its records', () => {
    //   start 1000 ─ qStart 2000 ─ qEnd 5000 ─ end 6000        run_delay 10, 10, 310, 320
    const r = runqFromSchedstat([end(6_000n, 320n), qEnd(5_000n, 310n), start(1_000n, 10n), qStart(2_000n, 10n)]);
    expect(r.byThread.get(`${APP}:${APP}`)).toEqual([waitOf(5_000n, 300n, APP), waitOf(6_000n, 10n, APP)]);
    expect(r.byPid.get(APP)).toEqual(r.byThread.get(`${APP}:${APP}`));
    expect(r.maxDelayNs).toBe(300n);
  });

  it('never places more wait than the window holds, and keeps threads apart', () => {
    const r = runqFromSchedstat([start(1_000n, 5n, 7), qStart(1_100n, 5_005n, 7), start(1_000n, 50n, 8), qStart(1_500n, 60n, 8)]);
    expect(r.byThread.get(`${APP}:7`)).toEqual([waitOf(1_100n, 100n, APP, 7)]);
    expect(r.byThread.get(`${APP}:8`)).toEqual([waitOf(1_500n, 10n, APP, 8)]);
  });

  it('takes a backend\'s waits within and between its phases, the wake-up before a statement\'s first one included', () => {
    //   execute 500..1000 (rd 100) ── idle, woken, waits 2 ms ── parse 8950..9000 (rd 2100) ─ plan 9200..9300 (rd 2110 → 2150)
    const r = runqFromSchedstat([phase(PgPhase.Plan, 9_300n, 100n, 2_150n, 2_110n), phase(PgPhase.Execute, 1_000n, 500n, 100n), phase(PgPhase.Parse, 9_000n, 50n, 2_100n)]);
    expect(r.byPid.get(BACKEND)).toEqual([waitOf(8_950n, 2_000n, BACKEND), waitOf(9_200n, 10n, BACKEND), waitOf(9_300n, 40n, BACKEND)]);
  });

  it('reads nothing from records of older captures, which have no counters', () => {
    const r = runqFromSchedstat([start(1_000n, undefined), phase(PgPhase.Execute, 4_000n, 2_500n, undefined)]);
    expect(r.byThread.size).toBe(0);
    expect(r.byPid.size).toBe(0);
    expect(r.maxDelayNs).toBe(0n);
  });
});

describe('indexCapture run-queue waits', () => {
  it('uses the sched family\'s timed waits where the capture has them, and the schedstat sums only otherwise', () => {
    const events = [start(1_000n, 10n), qStart(2_000n, 510n)];
    expect(indexCapture(events, 18080).runqByThread.get(`${APP}:${APP}`)).toEqual([waitOf(2_000n, 500n, APP)]);
    const timed = waitOf(1_900n, 480n, APP);
    const withSched = indexCapture([...events, timed], 18080);
    expect(withSched.runqByThread.get(`${APP}:${APP}`)).toEqual([timed]);
    expect(withSched.maxRunqDelayNs).toBe(480n);
  });
});

describe('indexCapture socket owners', () => {
  it("names the process owning a connection from the sockets family's owner records (fd -1), and nothing from an fd's accept", () => {
    const t = { localAddress: '127.0.0.1', localPort: 18082, remoteAddress: '127.0.0.1', remotePort: 41000, family: 'ipv4' as const };
    const owner: TraceEvent = { kind: EventKind.SockAccept, tsNs: 5n, requestId: '', pid: BACKEND, tid: BACKEND, fd: -1, durationNs: 0n, ret: -1n, tuple: t };
    const accept: TraceEvent = { kind: EventKind.SockAccept, tsNs: 6n, requestId: '', pid: APP, tid: APP, fd: 9, durationNs: 0n, ret: 9n, tuple: { ...t, localPort: 18081 } };
    const index = indexCapture([owner, accept], 18080);
    expect([...index.socketOwnerByKey]).toEqual([['127.0.0.1:18082>127.0.0.1:41000', BACKEND]]);
  });
});
