/**
 * A capture's events as columns: what correlation reads (kind, times, pid, tid, fd, request,
 * connection, byte count) in typed arrays, request ids and 4-tuples interned once per distinct
 * value, and the records themselves, kept so that any row becomes a TraceEvent on demand
 * (`eventAt`). Decoding into columns allocates nothing per record, so a large capture costs
 * ~50 bytes a record and no garbage-collector work until rows are turned into objects.
 */
import { decodeRecord, readTuple } from './decode-record.ts';
import { eventStartNs } from './event-start.ts';
import { EventKind, type TraceEvent, type Tuple } from './event-types.ts';
import { EVENT_LAYOUT, HEADER_SIZE as HEADER_BYTES, minRecordSizes } from './event-layout.ts';
import { findRecordStart } from './find-record-start.ts';
import { tupleKey } from './tuple-key.ts';

/** What correlation needs of every event, row by row. */
export interface EventColumns {
  readonly length: number;
  readonly kind: Uint8Array;
  /** End time in ns after `baseNs` (exact while within ±104 days of it). */
  readonly ts: Float64Array;
  readonly baseNs: bigint;
  /** How long before its end the event started, ns: 0 for instants (see assembler `eventStartNs`). */
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

/** Columns decoded from loader records, with the records for `eventAt`. */
export interface EventTable extends EventColumns {
  readonly records: readonly Buffer[];
  readonly views: readonly DataView[];
  /** Which of `records` holds each row, and where in it. */
  readonly chunk: Uint32Array;
  readonly offset: Uint32Array;
}

export interface AppendResult {
  /** One line each: skipped records, corruption. */
  readonly warnings: string[];
  /**
   * Bytes of an incomplete last record, or of a damaged region still being scanned (a view of the
   * input): prepend them to the next chunk.
   */
  readonly remainder: Buffer;
  /** The input held damage (a size field that cannot be): its bytes were skipped up to the next valid record. */
  readonly corrupt: boolean;
}

/** Larger than any record the loader writes; a size past it means lost framing. */
export const MAX_RECORD_BYTES = 4096;

// Imports are read through module bindings (getters under tsx): the loops use local copies.
const HEADER_SIZE = HEADER_BYTES;
const SOCK_RECV = EventKind.SockRecv;
const SOCK_SEND = EventKind.SockSend;
const FILE_READ = EventKind.FileRead;
const FILE_WRITE = EventKind.FileWrite;
const SOCK_ACCEPT = EventKind.SockAccept;
const SOCK_CONNECT = EventKind.SockConnect;
const SOCK_CLOSE = EventKind.SockClose;
const TCP_RETRANSMIT = EventKind.TcpRetransmit;
const RUNQ_DELAY = EventKind.RunqDelay;
const PG_PHASE = EventKind.PgPhase;
const REQUEST_END = EventKind.RequestEnd;
const DB_QUERY_END = EventKind.DbQueryEnd;
const POOL_WAIT = EventKind.PoolWait;
const CONN_SETUP = EventKind.ConnSetup;
const CONN_ACCEPT = EventKind.ConnAccept;
const NET_XMIT = EventKind.NetXmit;
const MAJOR_FAULT = EventKind.MajorFault;
const BLOCK_IO = EventKind.BlockIo;
const OFFCPU = EventKind.Offcpu;
const SLOW_SYSCALL = EventKind.SlowSyscall;
const DIRECT_RECLAIM = EventKind.DirectReclaim;
const LE = true;
const TWO_32 = 4294967296;
const H = EVENT_LAYOUT.event_header.fields;
const L = EVENT_LAYOUT;
const TS = H.ts_ns[0];
const RID = H.request_id[0];
const PID = H.pid[0];
const TID = H.tid[0];
const KIND = H.kind[0];
const SIZE = H.size[0];
const FD = H.fd[0];
const RE_DUR_US = L.ev_request_end.fields.duration_us[0];
const QE_DUR_US = L.ev_db_query_end.fields.duration_us[0];
const SIO_DUR = L.ev_sock_io.fields.duration_ns[0];
const SIO_BYTES = L.ev_sock_io.fields.bytes[0];
const SIO_TUPLE = L.ev_sock_io.fields.tuple[0];
const FIO_DUR = L.ev_file_io.fields.duration_ns[0];
const FIO_BYTES = L.ev_file_io.fields.bytes[0];
const SC_DUR = L.ev_sock_conn.fields.duration_ns[0];
const SC_TUPLE = L.ev_sock_conn.fields.tuple[0];
const RT_TUPLE = L.ev_tcp_retransmit.fields.tuple[0];
const RQ_DELAY = L.ev_runq_delay.fields.delay_ns[0];
const PG_DUR = L.ev_pg_phase.fields.duration_ns[0];
const PW_WAIT = L.ev_pool_wait.fields.wait_ns[0];
const CS_SYN = L.ev_conn_setup.fields.syn_ns[0];
const CS_TUPLE = L.ev_conn_setup.fields.tuple[0];
const NX_QUEUED = L.ev_net_xmit.fields.queued_ns[0];
const NX_TUPLE = L.ev_net_xmit.fields.tuple[0];
const BIO_DUR = L.ev_block_io.fields.duration_ns[0];
const BIO_QUEUED = L.ev_block_io.fields.queued_ns[0];
/* Kinds whose duration is a u64 right after the header. */
const MF_DUR = L.ev_major_fault.fields.duration_ns[0];
const OFF_DUR = L.ev_offcpu.fields.duration_ns[0];
const SS_DUR = L.ev_slow_syscall.fields.duration_ns[0];
const DR_DUR = L.ev_direct_reclaim.fields.duration_ns[0];

/** Smallest struct size per kind number, 0 for a kind this build does not know. */
const EXPECTED_SIZE = minRecordSizes();

const u64 = (dv: DataView, o: number): number => dv.getUint32(o + 4, LE) * TWO_32 + dv.getUint32(o, LE);
const s64 = (dv: DataView, o: number): number => dv.getInt32(o + 4, LE) * TWO_32 + dv.getUint32(o, LE);

/*
 * Request ids and 4-tuples repeat (~44 records per request, a few dozen connections per capture),
 * and formatting them as text costs more than the rest of a record; so each is found through a
 * small direct-mapped cache keyed on its raw bytes, read as 32-bit words (DataView reads compile
 * to plain loads), two ways per set so that two busy values that hash alike do not evict each
 * other. Only a miss formats text and looks it up in the intern map.
 */
const ID_SLOTS = 1024;
const TUPLE_WORDS = EVENT_LAYOUT.tuple.size / 4;
const TUPLE_SLOTS = 1024;

const COLUMN_TYPES = {
  kind: Uint8Array,
  ts: Float64Array,
  lead: Float64Array,
  pid: Uint32Array,
  tid: Uint32Array,
  fd: Int32Array,
  request: Int32Array,
  conn: Int32Array,
  bytes: Float64Array,
  chunk: Uint32Array,
  offset: Uint32Array,
} as const;
type ColumnName = keyof typeof COLUMN_TYPES;
type Columns = { -readonly [K in ColumnName]: InstanceType<(typeof COLUMN_TYPES)[K]> };

function allocColumns(capacity: number): Columns {
  const out = {} as Record<ColumnName, unknown>;
  for (const [name, Type] of Object.entries(COLUMN_TYPES)) out[name as ColumnName] = new Type(capacity);
  return out as Columns;
}

/** Request ids and 4-tuples of one table, each interned once. */
class Interner {
  readonly requestIds: string[] = [];
  readonly tuples: Tuple[] = [];
  readonly connKeys: string[] = [];
  readonly #requestIndex = new Map<string, number>();
  readonly #idWords = new Int32Array(ID_SLOTS * 4);
  readonly #idIndex = new Int32Array(ID_SLOTS).fill(-1);
  readonly #connIndex = new Map<string, number>();
  readonly #tupleWords = new Int32Array(TUPLE_SLOTS * TUPLE_WORDS);
  readonly #tupleIndex = new Int32Array(TUPLE_SLOTS).fill(-1);
  readonly #probe = new Int32Array(TUPLE_WORDS);

  /** The request index of the 16-byte id at `o`, -1 for an all-zero (untagged) id. */
  requestAt(buf: Buffer, dv: DataView, o: number): number {
    const w0 = dv.getInt32(o, LE);
    const w1 = dv.getInt32(o + 4, LE);
    const w2 = dv.getInt32(o + 8, LE);
    const w3 = dv.getInt32(o + 12, LE);
    if ((w0 | w1 | w2 | w3) === 0) return -1;
    const words = this.#idWords;
    const index = this.#idIndex;
    // Random hex ids: any word's low bits spread well.
    const slot = (w0 ^ w3) & (ID_SLOTS - 1);
    const k = slot * 4;
    if (index[slot]! >= 0 && words[k] === w0 && words[k + 1] === w1 && words[k + 2] === w2 && words[k + 3] === w3) return index[slot]!;
    const alt = slot ^ 1;
    const ka = alt * 4;
    if (index[alt]! >= 0 && words[ka] === w0 && words[ka + 1] === w1 && words[ka + 2] === w2 && words[ka + 3] === w3) return index[alt]!;
    words.copyWithin(ka, k, k + 4);
    index[alt] = index[slot]!;
    const i = this.requestIndexOf(buf.toString('hex', o, o + 16));
    words[k] = w0;
    words[k + 1] = w1;
    words[k + 2] = w2;
    words[k + 3] = w3;
    index[slot] = i;
    return i;
  }

  /** The connection index of the 40-byte tuple at `o`. */
  connAt(dv: DataView, o: number): number {
    const probe = this.#probe;
    let h = 0;
    for (let i = 0; i < TUPLE_WORDS; i++) {
      const w = dv.getInt32(o + 4 * i, LE);
      probe[i] = w;
      h = Math.imul(h ^ w, 0x9e3779b1);
    }
    // murmur3's finalizer: the words differ mostly in the port halves, which the loop alone
    // leaves clustered.
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    const slot = h & (TUPLE_SLOTS - 1);
    if (this.#slotHolds(slot)) return this.#tupleIndex[slot]!;
    const alt = slot ^ 1;
    if (this.#slotHolds(alt)) return this.#tupleIndex[alt]!;
    const words = this.#tupleWords;
    words.copyWithin(alt * TUPLE_WORDS, slot * TUPLE_WORDS, (slot + 1) * TUPLE_WORDS);
    this.#tupleIndex[alt] = this.#tupleIndex[slot]!;
    const c = this.internTuple(Object.freeze(readTuple(dv, o)));
    words.set(probe, slot * TUPLE_WORDS);
    this.#tupleIndex[slot] = c;
    return c;
  }

  /** The index of request id `id`, a new one the first time it is seen. */
  requestIndexOf(id: string): number {
    let i = this.#requestIndex.get(id);
    if (i === undefined) {
      i = this.requestIds.length;
      this.requestIds.push(id);
      this.#requestIndex.set(id, i);
    }
    return i;
  }

  /** One index per `tupleKey`: IPv4 and IPv4-mapped bytes read as the same text, one connection. */
  internTuple(t: Tuple): number {
    const key = tupleKey(t);
    let c = this.#connIndex.get(key);
    if (c === undefined) {
      c = this.tuples.length;
      this.tuples.push(t);
      this.connKeys.push(key);
      this.#connIndex.set(key, c);
    }
    return c;
  }

  #slotHolds(slot: number): boolean {
    if (this.#tupleIndex[slot]! < 0) return false;
    const words = this.#tupleWords;
    const probe = this.#probe;
    const k = slot * TUPLE_WORDS;
    for (let i = 0; i < TUPLE_WORDS; i++) if (words[k + i] !== probe[i]) return false;
    return true;
  }
}

/** A record the decoder skipped: unknown kind (`expected` 0), or shorter than its struct. */
interface Skipped {
  readonly kind: number;
  readonly at: number;
  readonly size: number;
  readonly expected: number;
}

interface FillResult {
  /** Rows after the fill. */
  readonly n: number;
  /** Bytes framed (whole records, decoded or skipped). */
  readonly end: number;
  /** Where an impossible size field stopped framing, -1 if none did. */
  readonly corruptAt: number;
  /** The columns filled up before the input ran out. */
  readonly full: boolean;
}

/*
 * The per-record loop, alone in its function: it runs once per chunk for hundreds of thousands
 * of records, so it is compiled on-stack; code after it (warnings, bookkeeping) lives in the
 * caller, where running it for the first time does not throw the loop's compiled code away.
 */
function fillRows(
  cols: Columns,
  ids: Interner,
  input: Buffer,
  dv: DataView,
  from: number,
  n0: number,
  chunkIndex: number,
  baseHi: number,
  baseLo: number,
  skipped: Skipped[],
): FillResult {
  const { kind: kindCol, ts, lead, pid, tid, fd, request, conn, bytes, chunk, offset } = cols;
  const length = input.length;
  const capacity = kindCol.length;
  let n = n0;
  let o = from;
  while (length - o >= HEADER_SIZE) {
    if (n === capacity) return { n, end: o, corruptAt: -1, full: true };
    const size = dv.getUint16(o + SIZE, LE);
    if (size < HEADER_SIZE || size > MAX_RECORD_BYTES) return { n, end: o, corruptAt: o, full: false };
    if (length - o < size) break;
    const kind = dv.getUint16(o + KIND, LE);
    const expected = EXPECTED_SIZE[kind]!;
    if (expected === 0 || size < expected) {
      skipped.push({ kind, at: o, size, expected });
      o += size;
      continue;
    }
    kindCol[n] = kind;
    ts[n] = (dv.getUint32(o + TS + 4, LE) - baseHi) * TWO_32 + (dv.getUint32(o + TS, LE) - baseLo);
    pid[n] = dv.getUint32(o + PID, LE);
    tid[n] = dv.getUint32(o + TID, LE);
    fd[n] = dv.getInt32(o + FD, LE);
    request[n] = ids.requestAt(input, dv, o + RID);
    let c = -1;
    let b = 0;
    let d = 0;
    switch (kind) {
      case SOCK_RECV:
      case SOCK_SEND:
        d = u64(dv, o + SIO_DUR);
        b = s64(dv, o + SIO_BYTES);
        c = ids.connAt(dv, o + SIO_TUPLE);
        break;
      case FILE_READ:
      case FILE_WRITE:
        d = u64(dv, o + FIO_DUR);
        b = s64(dv, o + FIO_BYTES);
        break;
      case SOCK_ACCEPT:
      case SOCK_CONNECT:
      case SOCK_CLOSE:
        d = u64(dv, o + SC_DUR);
        c = ids.connAt(dv, o + SC_TUPLE);
        break;
      case TCP_RETRANSMIT:
        c = ids.connAt(dv, o + RT_TUPLE);
        break;
      case RUNQ_DELAY:
        d = u64(dv, o + RQ_DELAY);
        break;
      case PG_PHASE:
        d = u64(dv, o + PG_DUR);
        break;
      case REQUEST_END:
        d = u64(dv, o + RE_DUR_US) * 1000;
        break;
      case DB_QUERY_END:
        d = u64(dv, o + QE_DUR_US) * 1000;
        break;
      case POOL_WAIT:
        d = u64(dv, o + PW_WAIT);
        break;
      case CONN_SETUP: {
        const syn = u64(dv, o + CS_SYN);
        const end = dv.getUint32(o + TS + 4, LE) * TWO_32 + dv.getUint32(o + TS, LE);
        d = syn > 0 && syn <= end ? end - syn : 0;
        c = ids.connAt(dv, o + CS_TUPLE);
        break;
      }
      case CONN_ACCEPT:
        d = u64(dv, o + SC_DUR);
        c = ids.connAt(dv, o + SC_TUPLE);
        break;
      case NET_XMIT: {
        const queued = u64(dv, o + NX_QUEUED);
        const end = dv.getUint32(o + TS + 4, LE) * TWO_32 + dv.getUint32(o + TS, LE);
        d = queued > 0 && queued <= end ? end - queued : 0;
        c = ids.connAt(dv, o + NX_TUPLE);
        break;
      }
      case BLOCK_IO:
        d = u64(dv, o + BIO_DUR) + u64(dv, o + BIO_QUEUED);
        break;
      case MAJOR_FAULT:
        d = u64(dv, o + MF_DUR);
        break;
      case OFFCPU:
        d = u64(dv, o + OFF_DUR);
        break;
      case SLOW_SYSCALL:
        d = u64(dv, o + SS_DUR);
        break;
      case DIRECT_RECLAIM:
        d = u64(dv, o + DR_DUR);
        break;
    }
    lead[n] = d;
    bytes[n] = b;
    conn[n] = c;
    chunk[n] = chunkIndex;
    offset[n] = o;
    n++;
    o += size;
  }
  return { n, end: o, corruptAt: -1, full: false };
}

/** Decodes records chunk by chunk into one table. */
export class EventTableBuilder {
  #cols: Columns = allocColumns(256);
  #capacity = 256;
  #length = 0;
  #base: { hi: number; lo: number } | null = null;
  readonly #records: Buffer[] = [];
  readonly #views: DataView[] = [];
  readonly #ids = new Interner();
  #damage: { regions: number; bytes: number; openSince: number | null; openSize: number } = { regions: 0, bytes: 0, openSince: null, openSize: 0 };
  #skipped = 0;

  get length(): number {
    return this.#length;
  }

  /**
   * Adds the whole records in `input`. Records longer than this build's struct (a newer loader's
   * appended fields) are read by their known prefix; unknown kinds and short records are skipped
   * by their size field, with a warning. A size field that cannot be (lost framing) starts a
   * damaged region: the bytes are skipped up to the next plausible record start
   * (find-record-start.ts), where decoding reads on; a region still open at the end of the input
   * continues into the next chunk. `streamOffset` is the input's position, for warnings. The
   * table keeps a view of `input`'s records, not a copy: the caller must not reuse its bytes.
   */
  append(input: Buffer, streamOffset = 0): AppendResult {
    const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
    const skipped: Skipped[] = [];
    const warnings: string[] = [];
    const chunkIndex = this.#records.length;
    const tentativeBase = this.#base === null;
    let n = this.#length;
    let o = 0;
    let end = 0;
    let damaged = this.#damage.openSince !== null;
    for (;;) {
      const open = this.#damage.openSince;
      if (open !== null) {
        const base = this.#base ?? { hi: 0, lo: 0 };
        const found = findRecordStart(dv, o, n > 0 ? this.#cols.ts[n - 1]! : Number.NaN, base.hi, base.lo);
        end = found.at;
        if (!found.found) break;
        const bytes = streamOffset + found.at - open;
        warnings.push(
          `damaged region at bytes ${open}..${open + bytes} (${bytes} bytes; its size field read ${this.#damage.openSize}) skipped: read on at the next valid record`,
        );
        this.#damage = { regions: this.#damage.regions + 1, bytes: this.#damage.bytes + bytes, openSince: null, openSize: 0 };
        o = found.at;
      }
      if (this.#base === null) {
        if (input.length - o < HEADER_SIZE) break;
        this.#base = { hi: dv.getUint32(o + TS + 4, LE), lo: dv.getUint32(o + TS, LE) };
      }
      const { hi, lo } = this.#base;
      let r = fillRows(this.#cols, this.#ids, input, dv, o, n, chunkIndex, hi, lo, skipped);
      while (r.full) {
        // Room for the rest at the loader's smallest records' size would over-allocate; this grows
        // at most a few times per chunk.
        this.#grow(r.n, Math.max(this.#capacity * 2, r.n + Math.ceil((input.length - r.end) / 96)));
        r = fillRows(this.#cols, this.#ids, input, dv, r.end, r.n, chunkIndex, hi, lo, skipped);
      }
      n = r.n;
      end = r.end;
      if (r.corruptAt < 0) break;
      damaged = true;
      this.#damage = { ...this.#damage, openSince: streamOffset + r.corruptAt, openSize: dv.getUint16(r.corruptAt + SIZE, LE) };
      o = r.corruptAt + 1;
    }
    // A base read from bytes that turned out to be damage would put every time far off.
    if (tentativeBase && n === this.#length) this.#base = null;
    if (n > this.#length) {
      const kept = input.subarray(0, end);
      this.#records.push(kept);
      this.#views.push(new DataView(kept.buffer, kept.byteOffset, kept.byteLength));
    }
    this.#length = n;

    this.#skipped += skipped.length;
    const unknown = new Map<number, { count: number; first: number }>();
    for (const k of skipped) {
      if (k.expected !== 0) {
        warnings.push(`record of kind ${k.kind} at byte ${streamOffset + k.at} is ${k.size} bytes, shorter than its ${k.expected}; skipped`);
        continue;
      }
      const seen = unknown.get(k.kind);
      if (seen) seen.count++;
      else unknown.set(k.kind, { count: 1, first: streamOffset + k.at });
    }
    for (const [kind, { count, first }] of unknown) {
      warnings.push(`${count} record(s) of unknown kind ${kind} skipped (first at byte ${first})`);
    }
    return { warnings, remainder: input.subarray(end), corrupt: damaged };
  }

  /**
   * Damaged regions skipped so far: how many, their bytes, and where one still open (no record
   * found after it yet) began, as a stream offset; and the whole records skipped by their size
   * field (unknown kinds, short records).
   */
  get damage(): { readonly regions: number; readonly bytes: number; readonly openSince: number | null; readonly skippedRecords: number } {
    const { regions, bytes, openSince } = this.#damage;
    return { regions, bytes, openSince, skippedRecords: this.#skipped };
  }

  /** The table so far. The builder must not be appended to afterwards. */
  finish(): EventTable {
    const n = this.#length;
    const c = this.#cols;
    const base = this.#base;
    return {
      length: n,
      kind: c.kind.subarray(0, n),
      ts: c.ts.subarray(0, n),
      baseNs: base === null ? 0n : (BigInt(base.hi) << 32n) | BigInt(base.lo),
      lead: c.lead.subarray(0, n),
      pid: c.pid.subarray(0, n),
      tid: c.tid.subarray(0, n),
      fd: c.fd.subarray(0, n),
      request: c.request.subarray(0, n),
      requestIds: this.#ids.requestIds,
      conn: c.conn.subarray(0, n),
      tuples: this.#ids.tuples,
      connKeys: this.#ids.connKeys,
      bytes: c.bytes.subarray(0, n),
      records: this.#records,
      views: this.#views,
      chunk: c.chunk.subarray(0, n),
      offset: c.offset.subarray(0, n),
    };
  }

  /** New columns of `capacity` rows, holding the first `rows` of the current ones. */
  #grow(rows: number, capacity: number): void {
    const grown = allocColumns(capacity);
    for (const name of Object.keys(COLUMN_TYPES) as ColumnName[]) {
      (grown[name] as { set(a: ArrayLike<number>): void }).set(this.#cols[name].subarray(0, rows));
    }
    this.#cols = grown;
    this.#capacity = capacity;
  }

}

/** The table of the whole records in one buffer. */
export function decodeTable(input: Buffer): { table: EventTable } & AppendResult {
  const builder = new EventTableBuilder();
  const result = builder.append(input);
  return { table: builder.finish(), ...result };
}

/** Row `row` as a TraceEvent (a new object each call). */
export function eventAt(table: EventTable, row: number): TraceEvent {
  const c = table.chunk[row]!;
  const r = table.request[row]!;
  const k = table.conn[row]!;
  return decodeRecord(
    table.records[c]!,
    table.views[c]!,
    table.offset[row]!,
    table.kind[row] as EventKind,
    r < 0 ? '' : table.requestIds[r]!,
    (k < 0 ? undefined : table.tuples[k]) as Tuple,
  );
}

const tables = new WeakMap<readonly TraceEvent[], EventColumns>();

/**
 * Every row as a TraceEvent, appended to `into`. A new array (no `into`) stays paired with the
 * table's columns, row for row (`tableFor`), as long as nobody modifies it; the records are not
 * kept for it, so they go once the caller lets go of the table.
 */
export function tableEvents(table: EventTable, into?: TraceEvent[]): TraceEvent[] {
  const events = into ?? [];
  for (let row = 0; row < table.length; row++) events.push(eventAt(table, row));
  if (into === undefined) {
    const { length, kind, ts, baseNs, lead, pid, tid, fd, request, requestIds, conn, tuples, connKeys, bytes } = table;
    tables.set(events, { length, kind, ts, baseNs, lead, pid, tid, fd, request, requestIds, conn, tuples, connKeys, bytes });
  }
  return events;
}

/** The columns of the table `events` were made from by `tableEvents`, if they still match in length. */
export function tableFor(events: readonly TraceEvent[]): EventColumns | undefined {
  const table = tables.get(events);
  return table !== undefined && table.length === events.length ? table : undefined;
}

/** The columns of events that are already objects (fixtures, app-file captures). */
export function columnsOf(events: readonly TraceEvent[]): EventColumns {
  const n = events.length;
  const cols = allocColumns(n);
  const baseNs = n > 0 ? events[0]!.tsNs : 0n;
  const ids = new Interner();
  const conns = new TupleLookup(ids);
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    cols.kind[i] = e.kind;
    cols.ts[i] = Number(e.tsNs - baseNs);
    cols.pid[i] = e.pid;
    cols.tid[i] = e.tid;
    cols.fd[i] = e.fd;
    cols.request[i] = e.requestId === '' ? -1 : ids.requestIndexOf(e.requestId);
    let c = -1;
    let b = 0;
    switch (e.kind) {
      case SOCK_RECV:
      case SOCK_SEND:
        c = conns.indexOf(e.tuple);
        b = Number(e.bytes);
        break;
      case FILE_READ:
      case FILE_WRITE:
        b = Number(e.bytes);
        break;
      case SOCK_ACCEPT:
      case SOCK_CONNECT:
      case SOCK_CLOSE:
      case TCP_RETRANSMIT:
      case CONN_SETUP:
      case CONN_ACCEPT:
      case NET_XMIT:
        c = conns.indexOf(e.tuple);
        break;
    }
    cols.conn[i] = c;
    cols.bytes[i] = b;
    cols.lead[i] = Number(e.tsNs - eventStartNs(e));
  }
  const { kind, ts, lead, pid, tid, fd, request, conn, bytes } = cols;
  const { requestIds, tuples, connKeys } = ids;
  return { length: n, kind, ts, baseNs, lead, pid, tid, fd, request, requestIds, conn, tuples, connKeys, bytes };
}

/**
 * Connection indexes of Tuple objects: by object first (decoded events share one per connection),
 * then by ports and addresses, so that equal tuples in separate objects cost no key text each.
 */
class TupleLookup {
  readonly #byObject = new Map<Tuple, number>();
  readonly #byPorts = new Map<number, Array<{ readonly t: Tuple; readonly c: number }>>();
  readonly #ids: Interner;
  constructor(ids: Interner) {
    this.#ids = ids;
  }
  indexOf(t: Tuple): number {
    const known = this.#byObject.get(t);
    if (known !== undefined) return known;
    const ports = t.localPort * 65536 + t.remotePort;
    let list = this.#byPorts.get(ports);
    if (list === undefined) this.#byPorts.set(ports, (list = []));
    let c = list.find((x) => x.t.localAddress === t.localAddress && x.t.remoteAddress === t.remoteAddress)?.c;
    if (c === undefined) list.push({ t, c: (c = this.#ids.internTuple(t)) });
    if (this.#byObject.size < 65536) this.#byObject.set(t, c);
    return c;
  }
}
