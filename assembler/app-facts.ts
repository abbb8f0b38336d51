/**
 * What the app's own probes and its inbound socket say about one request, read off its rows of
 * the capture's table. The facts every request's correlation needs (its bounds, its inbound
 * connection) are kept for all requests at once, so they hold no events: a request's events are
 * built when its trace is (`requestFacts`), and dropped with it.
 */
import type { EventTable } from '../tracer/event-table.ts';
import { EventKind, type EventOf, type TraceEvent, type Tuple } from '../shared/event-types.ts';
import { maxBig, minBig, type SockIo } from './event-time.ts';
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

/** A request's facts, read off its rows' columns: a row becomes an event only where they cannot say. */
export function appFacts(requestId: string, rows: readonly number[], index: CaptureIndex): AppFacts {
  const table = index.table;
  const warnings: string[] = [];
  const starts = positionsOfKind(table, rows, EventKind.RequestStart);
  const ends = positionsOfKind(table, rows, EventKind.RequestEnd);
  if (starts.length > 1) warnings.push(`${starts.length} RequestStart events: the first is used`);
  if (ends.length > 1) warnings.push(`${ends.length} RequestEnd events: the last is used`);
  const reqStartAt = starts[0] ?? -1;
  const reqEndAt = ends.at(-1) ?? -1;
  const reqStartRow = reqStartAt < 0 ? -1 : rows[reqStartAt]!;
  const reqEndRow = reqEndAt < 0 ? -1 : rows[reqEndAt]!;
  const probeRow = reqStartRow >= 0 ? reqStartRow : reqEndRow >= 0 ? reqEndRow : rows[0]!;
  const pid = table.pid[probeRow]!;
  const tid = table.tid[probeRow]!;
  const inboundFd = reqStartRow >= 0 || reqEndRow >= 0 ? table.fd[probeRow]! : -1;
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
  const firstRecvRow = inboundRecvsAt.length > 0 ? rows[inboundRecvsAt[0]!]! : -1;
  const firstSendRow = inboundSendsAt.length > 0 ? rows[inboundSendsAt[0]!]! : -1;
  const lastSendRow = inboundSendsAt.length > 0 ? rows[inboundSendsAt.at(-1)!]! : -1;

  let startNs: bigint;
  if (reqStartRow >= 0) {
    const reqStartNs = table.tsNsOf(reqStartRow);
    startNs = firstRecvRow >= 0 ? minBig(table.startNsOf(firstRecvRow), reqStartNs) : reqStartNs;
  } else if (firstRecvRow >= 0) {
    startNs = table.startNsOf(firstRecvRow);
    warnings.push('RequestStart missing: app span starts at the first read of the request');
  } else if (reqEndRow >= 0) {
    startNs = table.startNsOf(reqEndRow);
    warnings.push("RequestStart missing: start derived from RequestEnd's duration");
  } else {
    startNs = rows.reduce((m, row) => minBig(m, table.startNsOf(row)), table.tsNsOf(rows[0]!));
    warnings.push('RequestStart and RequestEnd missing: app span covers the events of the request');
  }
  let endNs: bigint;
  if (reqEndRow >= 0) {
    const reqEndNs = table.tsNsOf(reqEndRow);
    endNs = lastSendRow >= 0 ? maxBig(reqEndNs, table.tsNsOf(lastSendRow)) : reqEndNs;
  } else {
    endNs = rows.reduce((m, row) => maxBig(m, table.tsNsOf(row)), startNs);
    if (reqStartRow >= 0) warnings.push("RequestEnd missing: app span ends at the request's last event");
  }

  const firstInbound = Math.min(inboundRecvsAt[0] ?? Infinity, inboundSendsAt[0] ?? Infinity);
  let inboundTuple = firstInbound === Infinity ? undefined : table.tupleOf(rows[firstInbound]!);
  if (!inboundTuple && inboundFd >= 0) {
    const accepts = index.acceptsByFd.get(`${pid}:${inboundFd}`) ?? [];
    inboundTuple = accepts.filter((a) => a.tsNs <= startNs).at(-1)?.tuple;
  }
  const keptAt = positionsOfKind(table, rows, EventKind.RequestKept)[0];
  const kept = keptAt === undefined ? undefined : (table.event(rows[keptAt]!) as RequestKept);
  const sendStartNs = firstSendRow >= 0 ? table.startNsOf(firstSendRow) : reqEndRow >= 0 ? table.tsNsOf(reqEndRow) : endNs;
  return {
    requestId,
    rows,
    reqStartAt,
    reqEndAt,
    inboundRecvsAt: exact(inboundRecvsAt),
    inboundSendsAt: exact(inboundSendsAt),
    kept,
    pid,
    tid,
    inboundFd,
    inboundTuple,
    startNs,
    endNs,
    sendStartNs,
    warnings: exact(warnings),
  };
}

const NONE: readonly never[] = Object.freeze([]);

/** `list` at its length: facts are kept for every request, and a list filled by push keeps room for more. */
function exact<T>(list: readonly T[]): readonly T[] {
  return list.length === 0 ? NONE : list.slice();
}

/** `f` with its events, built now from its rows: the same objects wherever the facts name one. */
export function requestFacts(f: AppFacts, table: EventTable): RequestFacts {
  const events = table.eventsAt(f.rows);
  const inboundRecvs: SockIo[] = [];
  for (const i of f.inboundRecvsAt) inboundRecvs.push(events[i] as SockIo);
  const inboundSends: SockIo[] = [];
  for (const i of f.inboundSendsAt) inboundSends.push(events[i] as SockIo);
  return {
    requestId: f.requestId,
    rows: f.rows,
    reqStartAt: f.reqStartAt,
    reqEndAt: f.reqEndAt,
    inboundRecvsAt: f.inboundRecvsAt,
    inboundSendsAt: f.inboundSendsAt,
    kept: f.kept,
    pid: f.pid,
    tid: f.tid,
    inboundFd: f.inboundFd,
    inboundTuple: f.inboundTuple,
    startNs: f.startNs,
    endNs: f.endNs,
    sendStartNs: f.sendStartNs,
    warnings: f.warnings,
    events,
    reqStart: f.reqStartAt < 0 ? undefined : (events[f.reqStartAt] as RequestStart),
    reqEnd: f.reqEndAt < 0 ? undefined : (events[f.reqEndAt] as RequestEnd),
    inboundRecvs,
    inboundSends,
  };
}
