/**
 * What the app's own probes and its inbound socket say about one request, read off its rows of
 * the capture's table. The facts every request's correlation needs (its bounds, its inbound
 * connection) are kept for all requests at once, so they hold no events: a request's events are
 * built when its trace is (`requestFacts`), and dropped with it.
 */
import type { EventTable } from '../tracer/event-table.ts';
import { EventKind, type EventOf, type TraceEvent, type Tuple } from '../shared/event-types.ts';
import { eventStartNs, maxBig, minBig, type SockIo } from './event-time.ts';
import type { CaptureIndex } from './index-capture.ts';

export type RequestStart = EventOf<typeof EventKind.RequestStart>;
export type RequestEnd = EventOf<typeof EventKind.RequestEnd>;
export type RequestKept = EventOf<typeof EventKind.RequestKept>;

/** A request's facts without its events; positions index `rows`. */
export interface AppFacts {
  readonly requestId: string;
  /** The request's rows of the capture's table, in time order. */
  readonly rows: readonly number[];
  /** Positions in `rows` of the RequestStart and RequestEnd used (-1: none). */
  readonly reqStartAt: number;
  readonly reqEndAt: number;
  /** Positions in `rows` of the reads and writes on the inbound connection with bytes. */
  readonly inboundRecvsAt: readonly number[];
  readonly inboundSendsAt: readonly number[];
  /** The tail rule's record, when it kept the request. */
  readonly kept: RequestKept | undefined;
  readonly pid: number;
  readonly tid: number;
  readonly inboundFd: number;
  readonly inboundTuple: Tuple | undefined;
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** Where the app began sending its response (its first inbound write, else its RequestEnd or end). */
  readonly sendStartNs: bigint;
  readonly warnings: readonly string[];
}

/** A request's facts with its events, built for its trace. */
export interface RequestFacts extends AppFacts {
  readonly events: readonly TraceEvent[];
  readonly reqStart: RequestStart | undefined;
  readonly reqEnd: RequestEnd | undefined;
  readonly inboundRecvs: readonly SockIo[];
  readonly inboundSends: readonly SockIo[];
}

/** Positions in `rows` whose row has kind `kind`. */
function positionsOfKind(table: EventTable, rows: readonly number[], kind: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < rows.length; i++) if (table.kind[rows[i]!] === kind) out.push(i);
  return out;
}

/** A request's facts, read off its rows: only the rows they need become events, for the while. */
export function appFacts(requestId: string, rows: readonly number[], index: CaptureIndex): AppFacts {
  const table = index.table;
  const at = (i: number): TraceEvent => table.event(rows[i]!);
  const warnings: string[] = [];
  const starts = positionsOfKind(table, rows, EventKind.RequestStart);
  const ends = positionsOfKind(table, rows, EventKind.RequestEnd);
  if (starts.length > 1) warnings.push(`${starts.length} RequestStart events: the first is used`);
  if (ends.length > 1) warnings.push(`${ends.length} RequestEnd events: the last is used`);
  const reqStartAt = starts[0] ?? -1;
  const reqEndAt = ends.at(-1) ?? -1;
  const reqStart = reqStartAt < 0 ? undefined : (at(reqStartAt) as RequestStart);
  const reqEnd = reqEndAt < 0 ? undefined : (at(reqEndAt) as RequestEnd);
  const first = rows[0]!;
  const pid = reqStart?.pid ?? reqEnd?.pid ?? table.pid[first]!;
  const tid = reqStart?.tid ?? reqEnd?.tid ?? table.tid[first]!;
  const inboundFd = reqStart?.fd ?? reqEnd?.fd ?? -1;
  const inboundRecvsAt: number[] = [];
  const inboundSendsAt: number[] = [];
  if (inboundFd >= 0) {
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const k = table.kind[row];
      if (table.pid[row] !== pid || table.fd[row] !== inboundFd || !(table.bytes[row]! > 0)) continue;
      if (k === EventKind.SockRecv) inboundRecvsAt.push(i);
      else if (k === EventKind.SockSend) inboundSendsAt.push(i);
    }
  }
  const firstRecv = inboundRecvsAt.length > 0 ? (at(inboundRecvsAt[0]!) as SockIo) : undefined;
  const firstSend = inboundSendsAt.length > 0 ? (at(inboundSendsAt[0]!) as SockIo) : undefined;
  const lastSend = inboundSendsAt.length > 0 ? (at(inboundSendsAt.at(-1)!) as SockIo) : undefined;
  // Only a request missing its own probes needs all of its events for its bounds.
  const events = (): TraceEvent[] => rows.map((row) => table.event(row));

  let startNs: bigint;
  if (reqStart) {
    startNs = firstRecv ? minBig(eventStartNs(firstRecv), reqStart.tsNs) : reqStart.tsNs;
  } else if (firstRecv) {
    startNs = eventStartNs(firstRecv);
    warnings.push('RequestStart missing: app span starts at the first read of the request');
  } else if (reqEnd) {
    startNs = eventStartNs(reqEnd);
    warnings.push("RequestStart missing: start derived from RequestEnd's duration");
  } else {
    const all = events();
    startNs = all.reduce((m, e) => minBig(m, eventStartNs(e)), all[0]!.tsNs);
    warnings.push('RequestStart and RequestEnd missing: app span covers the events of the request');
  }
  let endNs: bigint;
  const lastSendEnd = lastSend?.tsNs;
  if (reqEnd) {
    endNs = lastSendEnd !== undefined ? maxBig(reqEnd.tsNs, lastSendEnd) : reqEnd.tsNs;
  } else {
    endNs = events().reduce((m, e) => maxBig(m, e.tsNs), startNs);
    if (reqStart) warnings.push("RequestEnd missing: app span ends at the request's last event");
  }

  const firstInbound = Math.min(inboundRecvsAt[0] ?? Infinity, inboundSendsAt[0] ?? Infinity);
  let inboundTuple = firstInbound === Infinity ? undefined : (at(firstInbound) as SockIo).tuple;
  if (!inboundTuple && inboundFd >= 0) {
    const accepts = index.acceptsByFd.get(`${pid}:${inboundFd}`) ?? [];
    inboundTuple = accepts.filter((a) => a.tsNs <= startNs).at(-1)?.tuple;
  }
  const keptAt = positionsOfKind(table, rows, EventKind.RequestKept)[0];
  const kept = keptAt === undefined ? undefined : (at(keptAt) as RequestKept);
  const sendStartNs = firstSend ? eventStartNs(firstSend) : (reqEnd?.tsNs ?? endNs);
  return { requestId, rows, reqStartAt, reqEndAt, inboundRecvsAt, inboundSendsAt, kept, pid, tid, inboundFd, inboundTuple, startNs, endNs, sendStartNs, warnings };
}

/** `f` with its events, built now from its rows: the same objects wherever the facts name one. */
export function requestFacts(f: AppFacts, table: EventTable): RequestFacts {
  const events = f.rows.map((row) => table.event(row));
  return {
    ...f,
    events,
    reqStart: f.reqStartAt < 0 ? undefined : (events[f.reqStartAt] as RequestStart),
    reqEnd: f.reqEndAt < 0 ? undefined : (events[f.reqEndAt] as RequestEnd),
    inboundRecvs: f.inboundRecvsAt.map((i) => events[i] as SockIo),
    inboundSends: f.inboundSendsAt.map((i) => events[i] as SockIo),
  };
}
