/**
 * A capture's events as columns: what correlation reads (kind, times, pid, tid, fd, request,
 * connection, byte count) in typed arrays, request ids and 4-tuples interned once per distinct
 * value, and each row as a TraceEvent only when one is asked for (`event`). A table decoded from
 * loader records (event-table-builder.ts) costs ~50 bytes a record and no garbage-collector work
 * until rows are turned into objects; a table of events that already are objects
 * (table-of-events.ts) hands those back.
 */
import type { CaptureEvents } from '../shared/capture-types.ts';
import { EventKind, type TraceEvent, type Tuple } from '../shared/event-types.ts';
import { eventStartNs, KIND_RULES } from './kind-rules.ts';

/** What correlation needs of every event, row by row. */
export interface EventColumns {
  readonly length: number;
  readonly kind: Uint8Array;
  /** End time in ns after `baseNs` (exact while within ±104 days of it). */
  readonly ts: Float64Array;
  readonly baseNs: bigint;
  /** How long before its end the event started, ns: 0 for instants (tracer/kind-rules.ts). */
  readonly lead: Float64Array;
  readonly pid: Uint32Array;
  readonly tid: Uint32Array;
  readonly fd: Int32Array;
  /** Index into `requestIds`; -1 when the kernel could not tag the event. */
  readonly request: Int32Array;
  readonly requestIds: readonly string[];
  /** Index into `tuples` and `connKeys` (one per distinct `tupleKey`); -1 for kinds without a 4-tuple. */
  readonly conn: Int32Array;
  readonly tuples: readonly Tuple[];
  readonly connKeys: readonly string[];
  /** Bytes of socket and file I/O (negative: the call failed); 0 for other kinds. */
  readonly bytes: Float64Array;
}

/** 1 for the kinds whose start is an absolute time of their record (kind-rules.ts `since`). */
const SINCE_KINDS = (() => {
  const out = new Uint8Array(256);
  for (const [kind, rule] of Object.entries(KIND_RULES)) if (rule.start !== undefined && 'since' in rule.start) out[Number(kind)] = 1;
  return out;
})();

/** The columns of a capture's events, and each row as an object on demand. */
// The class takes its column fields from EventColumns (declaration merging), set from `columns`.
export interface EventTable extends EventColumns {}
export class EventTable implements CaptureEvents {
  readonly #eventAt: (row: number) => TraceEvent;
  readonly #tupleAt: ((row: number) => Tuple | undefined) | undefined;
  readonly #arrivalAt: ((row: number) => bigint) | undefined;
  /**
   * Every row as an object, built the first time the table is read as a list (iterated, filtered,
   * …): such a reader gets the same object for a row each time, as from an array. Assembly asks
   * for rows alone and never builds it.
   */
  #all: TraceEvent[] | undefined;

  /**
   * `eventAt(row)` gives row `row` as a TraceEvent; `tupleAt(row)` its event's own 4-tuple, when
   * that is not the interned one (`tuples`); `arrivalAt(row)` a socket row's `arrivalNs` without
   * building its event.
   */
  constructor(
    columns: EventColumns,
    eventAt: (row: number) => TraceEvent,
    tupleAt?: (row: number) => Tuple | undefined,
    arrivalAt?: (row: number) => bigint,
  ) {
    const { length, kind, ts, baseNs, lead, pid, tid, fd, request, requestIds, conn, tuples, connKeys, bytes } = columns;
    Object.assign(this, { length, kind, ts, baseNs, lead, pid, tid, fd, request, requestIds, conn, tuples, connKeys, bytes });
    this.#eventAt = eventAt;
    this.#tupleAt = tupleAt;
    this.#arrivalAt = arrivalAt;
  }

  /**
   * Row `row` as a TraceEvent: for a decoded row a new object each time, unless the table has
   * been read as a list; for a table of objects, that object.
   */
  event(row: number): TraceEvent {
    if (!(row >= 0 && row < this.length)) throw new RangeError(`row ${row} is outside the table's ${this.length} rows`);
    return this.#all?.[row] ?? this.#eventAt(row);
  }

  /** Every row as an object, the same ones on every call. */
  #list(): TraceEvent[] {
    if (this.#all === undefined) {
      const all: TraceEvent[] = [];
      for (let row = 0; row < this.length; row++) all.push(this.#eventAt(row));
      this.#all = all;
    }
    return this.#all;
  }

  /** The 4-tuple of row `row`'s event, undefined for kinds without one. */
  tupleOf(row: number): Tuple | undefined {
    const c = this.conn[row]!;
    if (c < 0) return undefined;
    return this.#tupleAt === undefined ? this.tuples[c] : this.#tupleAt(row);
  }

  /** When the data of socket read or write `row` arrived (its event's `arrivalNs`); 0n for other kinds. */
  arrivalNsOf(row: number): bigint {
    const k = this.kind[row]!;
    if (k !== EventKind.SockRecv && k !== EventKind.SockSend) return 0n;
    if (this.#all !== undefined || this.#arrivalAt === undefined) return (this.event(row) as { readonly arrivalNs: bigint }).arrivalNs;
    return this.#arrivalAt(row);
  }

  /** The request id of row `row`, '' when untagged. */
  requestIdOf(row: number): string {
    const r = this.request[row]!;
    return r < 0 ? '' : this.requestIds[r]!;
  }

  /** Row `row` in CLOCK_MONOTONIC ns: its end, as its event's `tsNs`. */
  tsNsOf(row: number): bigint {
    const ts = this.ts[row]!;
    // A time too far from the base for a double to hold exactly is read off the row's event.
    return Number.isSafeInteger(ts) ? this.baseNs + BigInt(ts) : this.event(row).tsNs;
  }

  /** Row `row`'s start in CLOCK_MONOTONIC ns, as `eventStartNs` of its event. */
  startNsOf(row: number): bigint {
    const lead = this.lead[row]!;
    // A duration is exact in the column; a start given as an absolute time ('since') may not be.
    if (!Number.isSafeInteger(lead) || SINCE_KINDS[this.kind[row]!] === 1) return eventStartNs(this.event(row));
    return lead === 0 ? this.tsNsOf(row) : this.tsNsOf(row) - BigInt(lead);
  }

  [Symbol.iterator](): Iterator<TraceEvent> {
    return this.#list()[Symbol.iterator]();
  }

  filter<S extends TraceEvent>(predicate: (e: TraceEvent) => e is S): S[];
  filter(predicate: (e: TraceEvent) => boolean): TraceEvent[];
  filter(predicate: (e: TraceEvent) => boolean): TraceEvent[] {
    return this.#list().filter((e) => predicate(e));
  }

  find<S extends TraceEvent>(predicate: (e: TraceEvent) => e is S): S | undefined;
  find(predicate: (e: TraceEvent) => boolean): TraceEvent | undefined;
  find(predicate: (e: TraceEvent) => boolean): TraceEvent | undefined {
    return this.#list().find((e) => predicate(e));
  }

  map<U>(f: (e: TraceEvent) => U): U[] {
    return this.#list().map((e) => f(e));
  }

  /** The rows whose kind is one of `kinds`, in row order. */
  rowsOfKinds(kinds: ReadonlySet<number>): number[] {
    const rows: number[] = [];
    const kind = this.kind;
    for (let row = 0; row < this.length; row++) if (kinds.has(kind[row]!)) rows.push(row);
    return rows;
  }

  /** The events whose kind is one of `kinds`, in row order. */
  eventsOfKinds(kinds: ReadonlySet<number>): TraceEvent[] {
    return this.eventsAt(this.rowsOfKinds(kinds));
  }

  /** The rows `rows` as TraceEvents, in that order. */
  eventsAt(rows: readonly number[]): TraceEvent[] {
    const out: TraceEvent[] = [];
    for (let i = 0; i < rows.length; i++) out.push(this.event(rows[i]!));
    return out;
  }
}
