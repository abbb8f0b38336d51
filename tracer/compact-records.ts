/**
 * The loader's records, kept for building events on demand, without what the table's columns
 * already hold: the 40-byte header (time, request, pid, tid, kind, fd are columns), the 4-tuple
 * (interned) and the NUL padding of a record's long text field (a path, a query, a cache key).
 * A socket record keeps 32 of its 112 bytes, a query 8 plus its text, so a large capture's
 * records cost about a third of events.bin. `rebuild` puts one back together, byte for byte in
 * every field the decoder reads, for decode-record.ts.
 */
import { EVENT_LAYOUT, HEADER_SIZE, KIND_STRUCT, type StructName } from '../shared/event-layout.ts';
import type { EventKind } from '../shared/event-types.ts';
import { KIND_RULES } from './kind-rules.ts';

const LE = true;
const ZERO_FILL = Uint8Array.prototype.fill;
const H = EVENT_LAYOUT.event_header.fields;
const TUPLE_BYTES = EVENT_LAYOUT.tuple.size;

/** A stretch of a struct that is not kept as it is: the tuple (dropped) or a text field (kept up to its NUL). */
interface Hole {
  readonly at: number;
  readonly length: number;
  readonly text: boolean;
}

/** Text fields long enough that their padding matters. */
const TEXT_FIELDS: Partial<Record<StructName, string>> = {
  ev_request_start: 'path',
  ev_db_query_start: 'query',
  ev_cache: 'key',
  ev_file_open: 'path',
};

function holesOf(struct: StructName): Hole[] {
  const fields = EVENT_LAYOUT[struct].fields as Readonly<Record<string, readonly [number, number]>>;
  const holes: Hole[] = [];
  const tuple = fields.tuple;
  if (tuple !== undefined) holes.push({ at: tuple[0], length: TUPLE_BYTES, text: false });
  const textName = TEXT_FIELDS[struct];
  const text = textName === undefined ? undefined : fields[textName];
  if (text !== undefined) holes.push({ at: text[0], length: text[1], text: true });
  return holes.sort((a, b) => a.at - b.at);
}

const HOLES: ReadonlyArray<readonly Hole[]> = (() => {
  const none: readonly Hole[] = [];
  const out: (readonly Hole[])[] = new Array<readonly Hole[]>(0x10000).fill(none);
  for (const [kind, struct] of Object.entries(KIND_STRUCT)) out[Number(kind)] = holesOf(struct);
  return out;
})();
const STRUCT_SIZE = (() => {
  const out = new Uint16Array(0x10000);
  for (const [kind, struct] of Object.entries(KIND_STRUCT)) out[Number(kind)] = EVENT_LAYOUT[struct].size;
  return out;
})();

const LARGEST_STRUCT = STRUCT_SIZE.reduce((m, size) => Math.max(m, size), 0);

/*
 * Socket and file I/O records begin with their duration and byte count, which the table's `lead`
 * and `bytes` columns hold exactly while below 2^53: such a record is kept without them, marked
 * by DERIVED in its kept size, and `rebuild` writes them back from the columns.
 */
const DERIVED = 0x8000;
const DERIVED_BYTES = 16;
const TWO_32 = 4294967296;
/** A high word below this (signed: above its negative) keeps a 64-bit value under 2^53. */
const EXACT_HI = 0x200000;
const DERIVES = (() => {
  const out = new Uint8Array(0x10000);
  for (const [kind, rule] of Object.entries(KIND_RULES)) {
    const start = rule.start;
    const lasted = start !== undefined && 'lasted' in start ? start : undefined;
    if (lasted?.scale === 1 && lasted.lasted.length === 1 && lasted.lasted[0]!.at === HEADER_SIZE && rule.bytes?.at === HEADER_SIZE + 8) out[Number(kind)] = 1;
  }
  return out;
})();

/**
 * Copies `length` bytes of `src` from `from` to `dst` at `to`; returns where the copy ended in
 * `src`. Records are short: a loop beats Buffer#copy, which makes a view per call.
 */
function copyBytes(src: Buffer, from: number, dst: Buffer, to: number, length: number): number {
  for (let i = 0; i < length; i++) dst[to + i] = src[from + i]!;
  return from + length;
}

/**
 * Kept records, appended a chunk at a time. A kept record is its size (u16, at most the struct's
 * size: fields a newer loader appended are not read) and the bytes after the header, holes
 * left out (a text field as a u16 length and its bytes).
 */
export class CompactRecords {
  readonly #arenas: Buffer[] = [];
  /** The first row of each arena: rows are kept in order, an arena's are those up to the next's first. */
  readonly #firstRows: number[] = [];
  #scratch = Buffer.allocUnsafe(0);
  readonly #rebuilt = Buffer.alloc(LARGEST_STRUCT);
  readonly #rebuiltView = new DataView(this.#rebuilt.buffer, this.#rebuilt.byteOffset, this.#rebuilt.byteLength);

  /**
   * Keeps the records of rows `from` to `to` (their kinds in `kinds`, their offsets in `input` in
   * `offsets`), and overwrites `offsets` of those rows with where each kept record lies in its arena.
   */
  keep(input: Buffer, kinds: Uint8Array, offsets: Uint32Array, from: number, to: number): void {
    if (to <= from) return;
    if (this.#scratch.length < input.length) this.#scratch = Buffer.allocUnsafe(input.length);
    const out = this.#scratch;
    let w = 0;
    for (let row = from; row < to; row++) {
      const o = offsets[row]!;
      const kind = kinds[row]!;
      const kept = Math.min(input.readUInt16LE(o + H.size[0]), STRUCT_SIZE[kind]!);
      offsets[row] = w;
      let pos: number = HEADER_SIZE;
      let derived = 0;
      if (DERIVES[kind] === 1 && kept >= HEADER_SIZE + DERIVED_BYTES) {
        const durationHi = input.readUInt32LE(o + HEADER_SIZE + 4);
        const bytesHi = input.readInt32LE(o + HEADER_SIZE + 12);
        if (durationHi < EXACT_HI && bytesHi < EXACT_HI && bytesHi >= -EXACT_HI) {
          derived = DERIVED;
          pos += DERIVED_BYTES;
        }
      }
      out.writeUInt16LE(kept | derived, w);
      w += 2;
      for (const hole of HOLES[kind]!) {
        if (hole.at >= kept) break;
        w += input.copy(out, w, o + pos, o + hole.at);
        pos = Math.min(kept, hole.at + hole.length);
        if (!hole.text) continue;
        let end = input.indexOf(0, o + hole.at);
        if (end < 0 || end > o + pos) end = o + pos;
        out.writeUInt16LE(end - (o + hole.at), w);
        w += 2;
        w += input.copy(out, w, o + hole.at, end);
      }
      if (pos < kept) w += input.copy(out, w, o + pos, o + kept);
    }
    const exact = Buffer.allocUnsafeSlow(w);
    out.copy(exact, 0, 0, w);
    this.#arenas.push(exact);
    this.#firstRows.push(from);
  }

  /** The arena that holds row `row`'s record. */
  #arenaOf(row: number): Buffer {
    const first = this.#firstRows;
    let lo = 0;
    let hi = first.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (first[mid]! <= row) lo = mid;
      else hi = mid - 1;
    }
    return this.#arenas[lo]!;
  }

  /** Lets go of the space `keep` works in: no more records come. */
  done(): void {
    this.#scratch = Buffer.allocUnsafe(0);
  }

  /** The buffer `rebuild` writes to, and a view of it: the same on every call. */
  get rebuilt(): Buffer {
    return this.#rebuilt;
  }
  get rebuiltView(): DataView {
    return this.#rebuiltView;
  }

  /**
   * Rebuilds row `row`'s record, kept at `at` of its arena, at offset 0 of `rebuilt` (the next call
   * overwrites it: decode it before rebuilding another), with the header fields given, its time
   * as the u32 halves `tsHi` and `tsLo`, and its row's `lead` and `bytes`.
   */
  rebuild(row: number, at: number, kind: EventKind, tsHi: number, tsLo: number, pid: number, tid: number, fd: number, lead: number, bytes: number): void {
    const src = this.#arenaOf(row);
    const dst = this.#rebuilt;
    const dv = this.#rebuiltView;
    const sizeField = src.readUInt16LE(at);
    const kept = sizeField & ~DERIVED;
    let r = at + 2;
    // The typed array's own fill: Buffer#fill goes through a native binding, slow for ~100 bytes.
    ZERO_FILL.call(dst, 0, 0, kept);
    dv.setUint32(H.ts_ns[0], tsLo, LE);
    dv.setUint32(H.ts_ns[0] + 4, tsHi, LE);
    dv.setUint32(H.pid[0], pid, LE);
    dv.setUint32(H.tid[0], tid, LE);
    dv.setUint16(H.kind[0], kind, LE);
    dv.setUint16(H.size[0], kept, LE);
    dv.setInt32(H.fd[0], fd, LE);
    let pos: number = HEADER_SIZE;
    if ((sizeField & DERIVED) !== 0) {
      const leadLo = lead % TWO_32;
      dv.setUint32(HEADER_SIZE, leadLo, LE);
      dv.setUint32(HEADER_SIZE + 4, (lead - leadLo) / TWO_32, LE);
      const bytesHi = Math.floor(bytes / TWO_32);
      dv.setUint32(HEADER_SIZE + 8, bytes - bytesHi * TWO_32, LE);
      dv.setInt32(HEADER_SIZE + 12, bytesHi, LE);
      pos += DERIVED_BYTES;
    }
    for (const hole of HOLES[kind]!) {
      if (hole.at >= kept) break;
      r = copyBytes(src, r, dst, pos, hole.at - pos);
      pos = Math.min(kept, hole.at + hole.length);
      if (!hole.text) continue;
      const length = src.readUInt16LE(r);
      r = copyBytes(src, r + 2, dst, hole.at, length);
    }
    if (pos < kept) copyBytes(src, r, dst, pos, kept - pos);
  }
}
