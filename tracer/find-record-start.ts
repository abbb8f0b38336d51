/**
 * Finding the loader's records again after a damaged region of events.bin (a size field that
 * cannot be, bytes overwritten): the next offset where a record plausibly starts. A plausible
 * start has a kind this build knows with exactly that kind's size (or its schema-2 size), a file descriptor of -1 or
 * more, a timestamp near the last good record's, and, where the input holds it, a plausible
 * header right after it. Random bytes pass all of that about once in 2^40 offsets; a header-like
 * pattern inside a real record rarely passes the kind and size together.
 */
import { EVENT_LAYOUT, HEADER_SIZE, KIND_STRUCT, minRecordSizes } from '../shared/event-layout.ts';

const H = EVENT_LAYOUT.event_header.fields;
const TS = H.ts_ns[0];
const KIND = H.kind[0];
const SIZE = H.size[0];
const FD = H.fd[0];
const LE = true;
const TWO_32 = 4294967296;

/** Largest size field of a record after the one found (a newer loader's longer records included). */
const MAX_RECORD_BYTES = 4096;

/**
 * How far, in ns, a record's time may be from the last good record's: records leave the ring
 * buffer in the order they were reserved, within milliseconds of their timestamps, so seconds
 * apart is already generous.
 */
export const RESYNC_WINDOW_NS = 30e9;

const EXPECTED_SIZE = new Uint16Array(0x10000);
for (const [kind, struct] of Object.entries(KIND_STRUCT)) EXPECTED_SIZE[Number(kind)] = EVENT_LAYOUT[struct].size;
const OLDER_SIZE = minRecordSizes();

/** Where a scan ended: a record starts at `at`, or the input ran out from `at` on (keep those bytes for the next chunk). */
export type FoundStart = { readonly found: true; readonly at: number } | { readonly found: false; readonly at: number };

/**
 * The first plausible record start at or after `from`. `refTs` is the last good record's time as
 * ns after the base (`baseHi`/`baseLo`, the base's 32-bit halves), NaN when there is none yet.
 */
export function findRecordStart(dv: DataView, from: number, refTs: number, baseHi: number, baseLo: number): FoundStart {
  const length = dv.byteLength;
  const relTs = (o: number): number => (dv.getUint32(o + TS + 4, LE) - baseHi) * TWO_32 + (dv.getUint32(o + TS, LE) - baseLo);
  for (let p = from; length - p >= HEADER_SIZE; p++) {
    const size = dv.getUint16(p + SIZE, LE);
    const kind = dv.getUint16(p + KIND, LE);
    if (size === 0 || (EXPECTED_SIZE[kind] !== size && OLDER_SIZE[kind] !== size)) continue;
    if (dv.getInt32(p + FD, LE) < -1) continue;
    const ts = relTs(p);
    if (!Number.isNaN(refTs) && Math.abs(ts - refTs) > RESYNC_WINDOW_NS) continue;
    if (length - p < size) return { found: false, at: p };
    const next = p + size;
    if (length - next < HEADER_SIZE) {
      // Without a neighbour to confirm it, a start with nothing to compare its time with must wait.
      if (Number.isNaN(refTs)) return { found: false, at: p };
      return { found: true, at: p };
    }
    const nSize = dv.getUint16(next + SIZE, LE);
    const nExpected = OLDER_SIZE[dv.getUint16(next + KIND, LE)]!;
    if (nSize < HEADER_SIZE || nSize > MAX_RECORD_BYTES || nSize % 8 !== 0) continue;
    if (nExpected !== 0 && (nSize < nExpected || Math.abs(relTs(next) - ts) > RESYNC_WINDOW_NS)) continue;
    return { found: true, at: p };
  }
  return { found: false, at: Math.max(from, length - HEADER_SIZE + 1) };
}
