/**
 * Decodes the loader's records (probes/events.h) into an EventTable, chunk by chunk: framing,
 * damage and skipped records, and the per-record loop that fills the columns by each kind's rule
 * (kind-rules.ts). A row becomes a TraceEvent only when the table is asked for it.
 */
import { CompactRecords } from './compact-records.ts';
import { decodeRecord, sockIoArrivalNs } from './decode-record.ts';
import { EventKind, type Tuple } from '../shared/event-types.ts';
import { EVENT_LAYOUT, HEADER_SIZE as HEADER_BYTES, minRecordSizes } from '../shared/event-layout.ts';
import { EventTable } from './event-table.ts';
import { Interner } from './event-interner.ts';
import { findRecordStart } from './find-record-start.ts';
import { KIND_RULES } from './kind-rules.ts';

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
const LE = true;
const TWO_32 = 4294967296;
const H = EVENT_LAYOUT.event_header.fields;
const TS = H.ts_ns[0];
const RID = H.request_id[0];
const PID = H.pid[0];
const TID = H.tid[0];
const KIND = H.kind[0];
const SIZE = H.size[0];
const FD = H.fd[0];

/** Smallest struct size per kind number, 0 for a kind this build does not know. */
const EXPECTED_SIZE = minRecordSizes();

/*
 * KIND_RULES as typed arrays by kind number, so the loop reads a rule as a few loads: how the
 * start is found (0: an instant, 1: lasted the sum of one or two u64 fields times a scale, 2: began at
 * an absolute time), the fields' offsets (-1: none), the byte count's and the 4-tuple's offsets.
 */
const START_LASTED = 1;
const START_SINCE = 2;
const START_MODE = new Uint8Array(0x10000);
const START_AT = new Int32Array(0x10000).fill(-1);
const START_AT2 = new Int32Array(0x10000).fill(-1);
const START_SCALE = new Float64Array(0x10000).fill(1);
const BYTES_AT = new Int32Array(0x10000).fill(-1);
const TUPLE_AT = new Int32Array(0x10000).fill(-1);
for (const [k, rule] of Object.entries(KIND_RULES)) {
  const kind = Number(k);
  const start = rule.start;
  if (start !== undefined && 'since' in start) {
    START_MODE[kind] = START_SINCE;
    START_AT[kind] = start.since.at;
  } else if (start !== undefined) {
    if (start.lasted.length < 1 || start.lasted.length > 2) throw new Error(`kind ${kind}: a start rule sums one or two fields`);
    START_MODE[kind] = START_LASTED;
    START_AT[kind] = start.lasted[0]!.at;
    START_AT2[kind] = start.lasted[1]?.at ?? -1;
    START_SCALE[kind] = start.scale;
  }
  if (rule.bytes !== undefined) BYTES_AT[kind] = rule.bytes.at;
  if (rule.tuple !== undefined) TUPLE_AT[kind] = rule.tuple;
}

const u64 = (dv: DataView, o: number): number => dv.getUint32(o + 4, LE) * TWO_32 + dv.getUint32(o, LE);
const s64 = (dv: DataView, o: number): number => dv.getInt32(o + 4, LE) * TWO_32 + dv.getUint32(o, LE);

/** The builder's columns: EventColumns' own, and where each row's record lies (`offset` in its input, then among the kept records). */
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
  offset: Uint32Array,
} as const;
type ColumnName = keyof typeof COLUMN_TYPES;
type Columns = { -readonly [K in ColumnName]: InstanceType<(typeof COLUMN_TYPES)[K]> };

function allocColumns(capacity: number): Columns {
  const out = {} as Record<ColumnName, unknown>;
  for (const [name, Type] of Object.entries(COLUMN_TYPES)) out[name as ColumnName] = new Type(capacity);
  return out as Columns;
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
  baseHi: number,
  baseLo: number,
  skipped: Skipped[],
): FillResult {
  const { kind: kindCol, ts, lead, pid, tid, fd, request, conn, bytes, offset } = cols;
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
    let d = 0;
    const mode = START_MODE[kind]!;
    if (mode === START_LASTED) {
      d = u64(dv, o + START_AT[kind]!);
      const at2 = START_AT2[kind]!;
      if (at2 >= 0) d += u64(dv, o + at2);
      d *= START_SCALE[kind]!;
    } else if (mode === START_SINCE) {
      const since = u64(dv, o + START_AT[kind]!);
      const end = dv.getUint32(o + TS + 4, LE) * TWO_32 + dv.getUint32(o + TS, LE);
      d = since > 0 && since <= end ? end - since : 0;
    }
    const bytesAt = BYTES_AT[kind]!;
    const b = bytesAt < 0 ? 0 : s64(dv, o + bytesAt);
    const tupleAt = TUPLE_AT[kind]!;
    const c = tupleAt < 0 ? -1 : ids.connAt(dv, o + tupleAt);
    lead[n] = d;
    bytes[n] = b;
    conn[n] = c;
    offset[n] = o;
    n++;
    o += size;
  }
  return { n, end: o, corruptAt: -1, full: false };
}

/** Decodes records chunk by chunk into one table. */
export class EventTableBuilder {
  #cols: Columns;
  #capacity: number;
  readonly #expectedBytes: number;
  #length = 0;
  #base: { hi: number; lo: number } | null = null;
  readonly #records = new CompactRecords();
  readonly #ids = new Interner();
  #damage: { regions: number; bytes: number; openSince: number | null; openSize: number } = { regions: 0, bytes: 0, openSince: null, openSize: 0 };
  #skipped = 0;

  /**
   * `expectedBytes`: how many bytes all appended input will hold (a file's size), when known; the
   * columns then grow to the rows that many bytes hold at the mean record size seen so far.
   */
  constructor(expectedBytes = 0) {
    this.#expectedBytes = expectedBytes;
    this.#capacity = 256;
    this.#cols = allocColumns(this.#capacity);
  }

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
   * table copies what it keeps of `input`: the caller may reuse its bytes.
   */
  append(input: Buffer, streamOffset = 0): AppendResult {
    const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
    const skipped: Skipped[] = [];
    const warnings: string[] = [];
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
      let r = fillRows(this.#cols, this.#ids, input, dv, o, n, hi, lo, skipped);
      while (r.full) {
        this.#grow(r.n, this.#capacityFor(r.n, streamOffset + r.end, input.length - r.end));
        r = fillRows(this.#cols, this.#ids, input, dv, r.end, r.n, hi, lo, skipped);
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
    const c = this.#cols;
    this.#records.keep(input, c.kind, c.offset, this.#length, n);
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
    const base = this.#base;
    const ids = this.#ids;
    const records = this.#records;
    records.done();
    if (this.#capacity !== n) this.#grow(n, n);
    const c = this.#cols;
    const { kind, request, conn, ts, pid, tid, fd } = c;
    const offsetOf = c.offset;
    const lead = c.lead;
    const bytesOf = c.bytes;
    const requestIds = ids.requestIds;
    const tuples = ids.tuples;
    const baseNs = base === null ? 0n : (BigInt(base.hi) << 32n) | BigInt(base.lo);
    const columns = {
      length: n,
      kind,
      ts,
      baseNs,
      lead,
      pid,
      tid,
      fd,
      request,
      requestIds,
      conn,
      tuples,
      connKeys: ids.connKeys,
      bytes: bytesOf,
    };
    const baseHi = base?.hi ?? 0;
    const baseLo = base?.lo ?? 0;
    const buffer = records.rebuilt;
    const view = records.rebuiltView;
    const rebuildRow = (row: number): EventKind => {
      const k = kind[row] as EventKind;
      // The row's time is the base plus its offset, added as u32 halves: no bigint.
      const offset = ts[row]!;
      const offsetLo = ((offset % TWO_32) + TWO_32) % TWO_32;
      let lo = baseLo + offsetLo;
      let hi = baseHi + (offset - offsetLo) / TWO_32;
      if (lo >= TWO_32) {
        lo -= TWO_32;
        hi += 1;
      }
      records.rebuild(row, offsetOf[row]!, k, hi >>> 0, lo, pid[row]!, tid[row]!, fd[row]!, lead[row]!, bytesOf[row]!);
      return k;
    };
    return new EventTable(
      columns,
      (row) => {
        const k = rebuildRow(row);
        const r = request[row]!;
        const t = conn[row]!;
        return decodeRecord(buffer, view, 0, k, r < 0 ? '' : requestIds[r]!, (t < 0 ? undefined : tuples[t]) as Tuple);
      },
      undefined,
      (row) => {
        rebuildRow(row);
        return sockIoArrivalNs(view, 0);
      },
    );
  }

  /**
   * Room for when the columns are full at `rows` rows, `framed` bytes into the input, `left` bytes
   * before this input's end: the expected bytes' rows at the mean record size so far, else twice
   * as many. (Room for the rest of the input at the loader's smallest records' size would
   * over-allocate.) `finish` trims what is not filled.
   */
  #capacityFor(rows: number, framed: number, left: number): number {
    if (this.#expectedBytes <= framed || rows === 0) return Math.max(this.#capacity * 2, rows + Math.ceil(left / 96));
    const estimate = Math.ceil((rows / framed) * this.#expectedBytes * 1.02) + 4096;
    return Math.max(estimate, rows + (rows >>> 4));
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
