/**
 * What correlation reads of each event kind besides the header, in one table: when the event
 * started, how many bytes it moved, which connection it belongs to. Each rule names the field both
 * as a TraceEvent property and as its offset in the loader's record, so the decoder's columns
 * (event-table-builder.ts), the columns of events that are already objects (table-of-events.ts)
 * and `eventStartNs` read the same rule.
 */
import { EventKind, type TraceEvent } from '../shared/event-types.ts';
import { EVENT_LAYOUT } from '../shared/event-layout.ts';

/** A u64 field of a record: its TraceEvent property and its byte offset. */
export interface RuleField {
  readonly name: string;
  readonly at: number;
}

/**
 * How an event's start follows from its end (`tsNs`): `lasted` — it lasted the sum of these
 * fields (each times `scale` ns, negatives counting 0); `since` — it began at this absolute time
 * when that lies in (0, tsNs], else it is an instant. Kinds without a rule are instants.
 */
export type StartRule =
  | { readonly lasted: readonly RuleField[]; readonly scale: number }
  | { readonly since: RuleField };

export interface KindRule {
  readonly start?: StartRule;
  /** Bytes of socket and file I/O (signed: a failed call is negative). */
  readonly bytes?: RuleField;
  /** Where the record's 4-tuple lies (the `tuple` property). */
  readonly tuple?: number;
}

const L = EVENT_LAYOUT;
const field = (name: string, layout: { readonly fields: Readonly<Record<string, readonly [number, number]>> }, cName: string): RuleField => ({
  name,
  at: layout.fields[cName]![0],
});
const lasted = (...fields: RuleField[]): StartRule => ({ lasted: fields, scale: 1 });

const sockIo: KindRule = {
  start: lasted(field('durationNs', L.ev_sock_io, 'duration_ns')),
  bytes: field('bytes', L.ev_sock_io, 'bytes'),
  tuple: L.ev_sock_io.fields.tuple[0],
};
const fileIo: KindRule = { start: lasted(field('durationNs', L.ev_file_io, 'duration_ns')), bytes: field('bytes', L.ev_file_io, 'bytes') };
const sockConn: KindRule = { start: lasted(field('durationNs', L.ev_sock_conn, 'duration_ns')), tuple: L.ev_sock_conn.fields.tuple[0] };

/** The rule of each kind that has one; every other kind is an instant with no bytes or connection. */
export const KIND_RULES: Readonly<Partial<Record<EventKind, KindRule>>> = {
  [EventKind.SockRecv]: sockIo,
  [EventKind.SockSend]: sockIo,
  [EventKind.FileRead]: fileIo,
  [EventKind.FileWrite]: fileIo,
  [EventKind.SockAccept]: sockConn,
  [EventKind.SockConnect]: sockConn,
  [EventKind.SockClose]: sockConn,
  [EventKind.ConnAccept]: sockConn,
  [EventKind.TcpRetransmit]: { tuple: L.ev_tcp_retransmit.fields.tuple[0] },
  [EventKind.RunqDelay]: { start: lasted(field('delayNs', L.ev_runq_delay, 'delay_ns')) },
  [EventKind.PgPhase]: { start: lasted(field('durationNs', L.ev_pg_phase, 'duration_ns')) },
  [EventKind.RequestEnd]: { start: { lasted: [field('durationUs', L.ev_request_end, 'duration_us')], scale: 1000 } },
  [EventKind.DbQueryEnd]: { start: { lasted: [field('durationUs', L.ev_db_query_end, 'duration_us')], scale: 1000 } },
  [EventKind.PoolWait]: { start: lasted(field('waitNs', L.ev_pool_wait, 'wait_ns')) },
  [EventKind.ConnSetup]: { start: { since: field('synNs', L.ev_conn_setup, 'syn_ns') }, tuple: L.ev_conn_setup.fields.tuple[0] },
  [EventKind.NetXmit]: { start: { since: field('queuedNs', L.ev_net_xmit, 'queued_ns') }, tuple: L.ev_net_xmit.fields.tuple[0] },
  [EventKind.BlockIo]: { start: lasted(field('durationNs', L.ev_block_io, 'duration_ns'), field('queuedNs', L.ev_block_io, 'queued_ns')) },
  [EventKind.MajorFault]: { start: lasted(field('durationNs', L.ev_major_fault, 'duration_ns')) },
  [EventKind.Offcpu]: { start: lasted(field('durationNs', L.ev_offcpu, 'duration_ns')) },
  [EventKind.SlowSyscall]: { start: lasted(field('durationNs', L.ev_slow_syscall, 'duration_ns')) },
  [EventKind.DirectReclaim]: { start: lasted(field('durationNs', L.ev_direct_reclaim, 'duration_ns')) },
};

const bigField = (e: TraceEvent, name: string): bigint => (e as unknown as Record<string, bigint>)[name]!;

/*
 * One start function per kind, made from its rule once: `eventStartNs` runs for most events
 * several times during assembly, and a closure per kind costs one call where interpreting the
 * rule each time would cost a property lookup by name per field.
 */
function startFunction(rule: StartRule | undefined): (e: TraceEvent) => bigint {
  if (rule === undefined) return (e) => e.tsNs;
  if ('since' in rule) {
    const name = rule.since.name;
    return (e) => {
      const at = bigField(e, name);
      return at > 0n && at <= e.tsNs ? at : e.tsNs;
    };
  }
  const names = rule.lasted.map((f) => f.name);
  const scale = BigInt(rule.scale);
  if (names.length === 1) {
    const name = names[0]!;
    return (e) => {
      const d = bigField(e, name);
      return e.tsNs - (d > 0n ? d * scale : 0n);
    };
  }
  return (e) => names.reduce((start, name) => {
    const d = bigField(e, name);
    return start - (d > 0n ? d * scale : 0n);
  }, e.tsNs);
}

const INSTANT = startFunction(undefined);
const STARTS: ReadonlyArray<(e: TraceEvent) => bigint> = Array.from({ length: 256 }, (_, kind) => startFunction(KIND_RULES[kind as EventKind]?.start));

/** Start of an event in CLOCK_MONOTONIC ns (its end minus its duration; instants start at their end). */
export function eventStartNs(e: TraceEvent): bigint {
  return (STARTS[e.kind] ?? INSTANT)(e);
}
