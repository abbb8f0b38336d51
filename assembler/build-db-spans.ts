/**
 * DB query spans: DbQueryStart/End pairs per pg connection fd, with the kernel's view of the
 * round trip and PostgreSQL's own phases inside:
 *
 *   DB query k     |==================================================|
 *   query send     |--|                                          (app write on the pg fd)
 *   DB processing     |----------------------------------|       (send end → result readable)
 *     parse/plan/execute …  (PgPhase events of the backend, nested by containment)
 *   result receive                                       |-------|  (readable → last read end)
 */
import { stripSqlComment } from '../shared/sql-comment.ts';
import { EventKind, PgPhase, type EventOf, type TraceEvent } from '../shared/event-types.ts';
import { eventStartNs, maxBig, minBig, type SockIo } from './event-time.ts';
import { markCorrelation } from './correlation.ts';
import { draftSpan, type SpanDraft } from './span-draft.ts';
import { sortStably } from './sort-stably.ts';
import type { SpanLog } from './span.ts';

export type DbStart = EventOf<typeof EventKind.DbQueryStart>;
export type DbEnd = EventOf<typeof EventKind.DbQueryEnd>;
export type PgPhaseEvent = EventOf<typeof EventKind.PgPhase>;

/** One query as the app saw it, after pairing (and repair). */
export interface DbQuery {
  readonly fd: number;
  readonly pid: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly query: string;
  readonly rows: bigint | null;
  readonly warnings: readonly string[];
}

/** SELECT, UPDATE, … : the statement's first keyword, uppercased ('' when unknown). */
export function sqlOperation(statement: string): string {
  const m = /^\s*([A-Za-z]+)/.exec(statement);
  return m ? (m[1] as string).toUpperCase() : '';
}

const byStartThenFd = (a: DbQuery, b: DbQuery): number => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : a.fd - b.fd);

/** Ends the oldest query still open on `fd` at `endNs` (not before its start), for the reason `why`. */
function closeOpen(out: DbQuery[], fd: number, open: DbStart[], endNs: bigint, why: string): void {
  const s = open.shift() as DbStart;
  out.push({ fd, pid: s.pid, startNs: s.tsNs, endNs: maxBig(endNs, s.tsNs), query: s.query, rows: null, warnings: [why] });
}

/**
 * Pairs starts and ends per fd in FIFO order (a pg connection runs one query at a time).
 * A lone end is repaired from its duration; a lone start ends at the next start on its fd,
 * or at `fallbackEndNs`.
 */
export function pairDbQueries(events: readonly TraceEvent[], fallbackEndNs: bigint): DbQuery[] {
  const byFd = new Map<number, (DbStart | DbEnd)[]>();
  for (const e of events) {
    if (e.kind !== EventKind.DbQueryStart && e.kind !== EventKind.DbQueryEnd) continue;
    const list = byFd.get(e.fd);
    if (list) list.push(e);
    else byFd.set(e.fd, [e]);
  }
  const out: DbQuery[] = [];
  for (const [fd, list] of byFd) {
    const open: DbStart[] = [];
    for (const e of list) {
      if (e.kind === EventKind.DbQueryStart) {
        while (open.length > 0) closeOpen(out, fd, open, e.tsNs, 'DbQueryEnd missing: ends where the next query on its connection starts');
        open.push(e);
        continue;
      }
      const s = open.shift();
      if (s) {
        out.push({ fd, pid: s.pid, startNs: s.tsNs, endNs: e.tsNs, query: s.query, rows: e.rows, warnings: [] });
      } else {
        out.push({
          fd,
          pid: e.pid,
          startNs: eventStartNs(e),
          endNs: e.tsNs,
          query: '',
          rows: e.rows,
          warnings: ['DbQueryStart missing: start derived from DbQueryEnd duration, statement unknown'],
        });
      }
    }
    while (open.length > 0) closeOpen(out, fd, open, fallbackEndNs, 'DbQueryEnd missing: ends with the request');
  }
  return sortStably(out, byStartThenFd);
}

const PHASE_NAMES: Readonly<Record<number, string>> = {
  [PgPhase.Query]: 'query',
  [PgPhase.Parse]: 'parse',
  [PgPhase.Rewrite]: 'rewrite',
  [PgPhase.Plan]: 'plan',
  [PgPhase.Execute]: 'execute',
  [PgPhase.LockWait]: 'lock wait',
  [PgPhase.BufferRead]: 'buffer read',
  [PgPhase.SmgrRead]: 'smgr read',
  [PgPhase.SmgrWrite]: 'smgr write',
  [PgPhase.TxnCommit]: 'commit',
};

/** Most spans of one phase kind kept per query; the rest are counted in a tag. */
const MAX_PHASE_SPANS = 16;

function phaseDraft(p: PgPhaseEvent): SpanDraft {
  const d = draftSpan(PHASE_NAMES[p.phase] ?? `phase ${p.phase}`, 'postgres', eventStartNs(p), p.tsNs);
  const tags = d.tags;
  tags['process.pid'] = p.pid;
  if (p.phase === PgPhase.LockWait) {
    tags['db.postgresql.lock.tag'] = Number(p.detail0);
    tags['db.postgresql.lock.mode'] = Number(p.detail1);
  } else if (p.phase === PgPhase.BufferRead) {
    tags['db.postgresql.relation_oid'] = Number(p.detail0);
    tags['db.postgresql.block'] = Number(p.detail1);
  } else if (p.phase === PgPhase.SmgrRead || p.phase === PgPhase.SmgrWrite) {
    tags['db.postgresql.bytes'] = Number(p.detail0);
  }
  return d;
}

/** By start, the longer of two that start together first (so it can hold the other). */
const outerFirst = (a: SpanDraft, b: SpanDraft): number => (a.startNs !== b.startNs ? (a.startNs < b.startNs ? -1 : 1) : a.endNs > b.endNs ? -1 : a.endNs < b.endNs ? 1 : 0);

/**
 * PostgreSQL phases as spans nested by time containment (parse/plan/execute inside a simple
 * protocol query, buffer reads inside execute, …); commits become logs.
 */
export function nestPgPhases(phases: readonly PgPhaseEvent[]): { spans: SpanDraft[]; logs: SpanLog[]; folded: Record<string, number> } {
  const logs: SpanLog[] = [];
  const folded: Record<string, number> = {};
  // Spans kept so far by phase number (an array: most queries have a few phases of a few kinds).
  const kept: number[] = [];
  const drafts: SpanDraft[] = [];
  for (const p of phases) {
    if (p.phase === PgPhase.TxnCommit || p.durationNs <= 0n) {
      logs.push({ tsNs: p.tsNs, fields: { event: `pg ${PHASE_NAMES[p.phase] ?? p.phase}`, 'process.pid': p.pid } });
      continue;
    }
    const n = kept[p.phase] ?? 0;
    if (n >= MAX_PHASE_SPANS) {
      const key = `db.postgresql.${(PHASE_NAMES[p.phase] ?? String(p.phase)).replace(' ', '_')}_folded`;
      folded[key] = (folded[key] ?? 0) + 1;
      continue;
    }
    kept[p.phase] = n + 1;
    drafts.push(phaseDraft(p));
  }
  sortStably(drafts, outerFirst);
  const top: SpanDraft[] = [];
  const stack: SpanDraft[] = [];
  for (const d of drafts) {
    while (stack.length > 0 && !((stack.at(-1) as SpanDraft).startNs <= d.startNs && d.endNs <= (stack.at(-1) as SpanDraft).endNs)) stack.pop();
    const parent = stack.at(-1);
    if (parent) parent.children.push(d);
    else top.push(d);
    stack.push(d);
  }
  return { spans: top, logs, folded };
}

/**
 * Index of the query each phase belongs to (largest overlap; an instant phase goes to the
 * query containing it), or -1 when none does.
 */
export function assignPhases(queries: readonly DbQuery[], phases: readonly PgPhaseEvent[]): number[] {
  const owners: number[] = [];
  for (const p of phases) {
    const ps = eventStartNs(p);
    let best = -1;
    let bestScore = -1n;
    for (let i = 0; i < queries.length; i++) {
      const q = queries[i]!;
      const overlap = minBig(p.tsNs, q.endNs) - maxBig(ps, q.startNs);
      const score = overlap > 0n ? overlap : ps >= q.startNs && p.tsNs <= q.endNs ? 0n : -1n;
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    owners.push(best);
  }
  return owners;
}

/** Socket buffer wait below this is a tag only, not a span of its own. */
export const BUFFER_WAIT_SPAN_NS = 50_000n;

/** Socket calls behind some records: a record can stand for a run of calls merged in the kernel. */
export const syscallCount = (io: readonly SockIo[]): number => io.reduce((n, e) => n + e.syscalls, 0);

/** A kernel span for a run of reads: from when the first data became readable to the last read's end. */
export function receiveSpan(name: string, recvs: readonly SockIo[], notBeforeNs: bigint): SpanDraft {
  const first = recvs[0] as SockIo;
  const firstStart = eventStartNs(first);
  const arrival = first.arrivalNs > 0n && first.arrivalNs <= firstStart && first.arrivalNs >= notBeforeNs ? first.arrivalNs : 0n;
  const bytes = recvs.reduce((s, r) => s + r.bytes, 0n);
  const d = draftSpan(name, 'kernel', arrival > 0n ? arrival : firstStart, (recvs.at(-1) as SockIo).tsNs);
  d.tags['network.io.bytes'] = Number(bytes);
  d.tags['kernel.syscalls'] = syscallCount(recvs);
  if (arrival > 0n) {
    const wait = firstStart - arrival;
    d.tags['kernel.socket_buffer_wait_ns'] = Number(wait);
    markCorrelation(d, 'kernel.socket_buffer_wait', 'exact', 1);
    if (wait >= BUFFER_WAIT_SPAN_NS) d.children.push(draftSpan('socket buffer wait', 'kernel', arrival, firstStart));
  }
  return d;
}

/** A kernel span over a run of syscalls on one socket: first start to last end. */
export function syscallRunSpan(name: string, sends: readonly SockIo[]): SpanDraft {
  const bytes = sends.reduce((s, r) => s + r.bytes, 0n);
  const d = draftSpan(name, 'kernel', eventStartNs(sends[0] as SockIo), (sends.at(-1) as SockIo).tsNs);
  d.tags['network.io.bytes'] = Number(bytes);
  d.tags['kernel.syscalls'] = syscallCount(sends);
  return d;
}

/**
 * The span of query number `k` (1-based): `sock` is this request's I/O on the query's fd
 * inside the query's window, `phases` the PostgreSQL phases assigned to it.
 */
export function buildDbQuerySpan(k: number, q: DbQuery, sock: readonly SockIo[], phases: readonly PgPhaseEvent[]): SpanDraft {
  const statement = stripSqlComment(q.query);
  const op = sqlOperation(statement);
  const span = draftSpan(op ? `DB query ${k} (${op})` : `DB query ${k}`, 'app', q.startNs, q.endNs, {
    tags: { 'db.system': 'postgresql', 'db.client.fd': q.fd },
    warnings: q.warnings,
  });
  if (statement) span.tags['db.query.text'] = statement;
  if (op) span.tags['db.operation.name'] = op;
  if (q.rows !== null) span.tags['db.response.returned_rows'] = Number(q.rows);
  const peer = sock[0]?.tuple;
  if (peer) {
    span.tags['network.peer.address'] = peer.remoteAddress;
    span.tags['network.peer.port'] = peer.remotePort;
  }

  const firstRecvIdx = sock.findIndex((e) => e.kind === EventKind.SockRecv);
  const sends = sock.filter((e, i) => e.kind === EventKind.SockSend && (firstRecvIdx === -1 || i < firstRecvIdx));
  const recvs = sock.filter((e) => e.kind === EventKind.SockRecv);
  const later = sock.filter((e, i) => e.kind === EventKind.SockSend && firstRecvIdx !== -1 && i > firstRecvIdx);
  for (const e of later) span.logs.push({ tsNs: e.tsNs, fields: { event: 'another write on the pg connection', 'network.io.bytes': Number(e.bytes) } });

  const nested = nestPgPhases(phases);
  const sendDraft = sends.length > 0 ? syscallRunSpan('query send', sends) : undefined;
  const sendEnd = sendDraft?.endNs;
  const recvDraft = recvs.length > 0 ? receiveSpan('result receive', recvs, sendEnd ?? q.startNs) : undefined;
  if (sendDraft) span.children.push(sendDraft);

  let dbStart: bigint | undefined = sendEnd;
  let dbEnd: bigint | undefined = recvDraft?.startNs;
  for (const p of nested.spans) {
    dbStart = dbStart === undefined ? p.startNs : minBig(dbStart, p.startNs);
    dbEnd = dbEnd === undefined ? p.endNs : maxBig(dbEnd, p.endNs);
  }
  if (dbStart !== undefined && dbEnd !== undefined) {
    const db = draftSpan('DB processing', 'postgres', dbStart, maxBig(dbStart, dbEnd), {
      tags: { 'db.system': 'postgresql', ...nested.folded },
      logs: nested.logs,
      children: nested.spans,
    });
    const backends = [...new Set(phases.map((p) => p.pid))];
    if (backends.length > 0) db.tags['process.pid'] = backends.join(',');
    span.children.push(db);
  } else {
    span.logs.push(...nested.logs);
  }
  if (recvDraft) span.children.push(recvDraft);
  return span;
}
