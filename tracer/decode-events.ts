/**
 * Decodes the loader's binary records (probes/events.h) into TraceEvents. Pure and streaming-safe:
 * a record cut at the end of the input is handed back as `remainder` to prepend to the next
 * chunk; unknown kinds and short records are skipped by their size field, with a warning.
 */
import { EventKind, type TraceEvent, type Tuple } from './event-types.ts';
import { EVENT_LAYOUT, HEADER_SIZE, KIND_STRUCT } from './event-layout.ts';

export interface DecodeResult {
  readonly events: TraceEvent[];
  /** One line each: skipped records, corruption. */
  readonly warnings: string[];
  /** Bytes of an incomplete last record: prepend them to the next chunk. */
  readonly remainder: Buffer;
  /** A record's size field was impossible: nothing after it can be framed. */
  readonly corrupt: boolean;
}

export interface DecodeOptions {
  /** Stream position of the input's first byte, for warnings (default 0). */
  readonly streamOffset?: number;
  /**
   * Where decoded events are appended (default: a new array, returned as `events`). Lets a
   * reader that decodes chunk by chunk collect every chunk's events in one array.
   */
  readonly into?: TraceEvent[];
}

const H = EVENT_LAYOUT.event_header.fields;
const T = EVENT_LAYOUT.tuple.fields;
const AF_INET6 = 10;
/** Larger than any record the loader writes; a size past it means lost framing. */
export const MAX_RECORD_BYTES = 4096;
const MAX_RECORD = MAX_RECORD_BYTES;
const LE = true;

/*
 * Speed notes (bench/decode-throughput.ts): every record carries a request id, and formatting
 * 16 bytes as hex costs more than the rest of a small record; so do a 4-tuple's two addresses.
 * Both repeat (~44 records per request, a few dozen connections per capture), so each is kept in
 * a small direct-mapped cache keyed on the raw bytes, read as 32-bit words through a DataView
 * (which V8 compiles to plain loads; Buffer's read* methods validate their arguments per call).
 * The caches only hold strings and frozen Tuples derived from bytes, so decoding stays pure.
 */

const ID_SLOTS = 1024;
const idWords = new Int32Array(ID_SLOTS * 4);
const idStrings: string[] = new Array<string>(ID_SLOTS).fill('');

function requestIdAt(buf: Buffer, dv: DataView, o: number): string {
  const w0 = dv.getInt32(o, LE);
  const w1 = dv.getInt32(o + 4, LE);
  const w2 = dv.getInt32(o + 8, LE);
  const w3 = dv.getInt32(o + 12, LE);
  if ((w0 | w1 | w2 | w3) === 0) return '';
  // Random hex ids: any word's low bits spread well. Two ways per set, so two requests in
  // flight that hash alike do not evict each other.
  const slot = (w0 ^ w3) & (ID_SLOTS - 1);
  let k = slot * 4;
  if (idWords[k] === w0 && idWords[k + 1] === w1 && idWords[k + 2] === w2 && idWords[k + 3] === w3) return idStrings[slot]!;
  const alt = slot ^ 1;
  const ka = alt * 4;
  if (idWords[ka] === w0 && idWords[ka + 1] === w1 && idWords[ka + 2] === w2 && idWords[ka + 3] === w3) return idStrings[alt]!;
  idWords.copyWithin(ka, k, k + 4);
  idStrings[alt] = idStrings[slot]!;
  const s = buf.toString('hex', o, o + 16);
  idWords[k++] = w0;
  idWords[k++] = w1;
  idWords[k++] = w2;
  idWords[k] = w3;
  idStrings[slot] = s;
  return s;
}

/*
 * Many 64-bit fields hold small values (byte counts, zero arrival times and pg details, row
 * counts); BigInts are immutable, so those share preallocated ones instead of adding a heap
 * object per field for the garbage collector to copy.
 */
const SMALL_BIGINTS = 4096;
const smallBigints: bigint[] = Array.from({ length: SMALL_BIGINTS }, (_, i) => BigInt(i));

function u64(dv: DataView, o: number): bigint {
  const lo = dv.getUint32(o, LE);
  return lo < SMALL_BIGINTS && dv.getUint32(o + 4, LE) === 0 ? smallBigints[lo]! : dv.getBigUint64(o, LE);
}

function s64(dv: DataView, o: number): bigint {
  const lo = dv.getUint32(o, LE);
  return lo < SMALL_BIGINTS && dv.getUint32(o + 4, LE) === 0 ? smallBigints[lo]! : dv.getBigInt64(o, LE);
}

/** A NUL-terminated string in a fixed-size field. */
function cString(buf: Buffer, o: number, len: number): string {
  const limit = o + len;
  let end = buf.indexOf(0, o);
  if (end < 0 || end > limit) end = limit;
  return end === o ? '' : buf.toString('utf8', o, end);
}

const ipv4 = (dv: DataView, o: number): string => `${dv.getUint8(o)}.${dv.getUint8(o + 1)}.${dv.getUint8(o + 2)}.${dv.getUint8(o + 3)}`;

function isV4Mapped(dv: DataView, o: number): boolean {
  return dv.getUint32(o, LE) === 0 && dv.getUint32(o + 4, LE) === 0 && dv.getUint32(o + 8) === 0xffff;
}

/** RFC 5952 text: lowercase, longest zero run (of two or more groups) as '::'. */
function ipv6(dv: DataView, o: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(dv.getUint16(o + 2 * i));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * IPv4 and IPv4-mapped IPv6 addresses decode as family 'ipv4' (dotted), so the two ends of a
 * loopback connection compare equal whichever socket family each side used. An all-zero tuple
 * (the kernel could not tell) decodes as 0.0.0.0 with ports 0.
 */
function readTuple(dv: DataView, o: number): Tuple {
  const family = dv.getUint16(o + T.family[0], LE);
  const s = o + T.saddr[0];
  const d = o + T.daddr[0];
  const mapped = family !== AF_INET6 || (isV4Mapped(dv, s) && isV4Mapped(dv, d));
  return {
    localAddress: mapped ? ipv4(dv, s + 12) : ipv6(dv, s),
    localPort: dv.getUint16(o + T.sport[0], LE),
    remoteAddress: mapped ? ipv4(dv, d + 12) : ipv6(dv, d),
    remotePort: dv.getUint16(o + T.dport[0], LE),
    family: mapped ? 'ipv4' : 'ipv6',
  };
}

const TUPLE_WORDS = EVENT_LAYOUT.tuple.size / 4;
const TUPLE_SLOTS = 1024;
const tupleWords = new Int32Array(TUPLE_SLOTS * TUPLE_WORDS);
const tupleValues: Array<Tuple | undefined> = new Array<Tuple | undefined>(TUPLE_SLOTS).fill(undefined);
const tupleKey = new Int32Array(TUPLE_WORDS);

/** The frozen Tuple for the 40 bytes at `o`, shared by every record with the same bytes. */
function tuple(dv: DataView, o: number): Tuple {
  let h = 0;
  for (let i = 0; i < TUPLE_WORDS; i++) {
    const w = dv.getInt32(o + 4 * i, LE);
    tupleKey[i] = w;
    h = Math.imul(h ^ w, 0x9e3779b1);
  }
  // murmur3's finalizer: the words differ mostly in the port halves, which the loop alone
  // leaves clustered.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  const slot = h & (TUPLE_SLOTS - 1);
  if (tupleAt(slot)) return tupleValues[slot]!;
  // Two ways per set: two busy connections that hash alike do not evict each other.
  const alt = slot ^ 1;
  if (tupleAt(alt)) return tupleValues[alt]!;
  tupleWords.copyWithin(alt * TUPLE_WORDS, slot * TUPLE_WORDS, (slot + 1) * TUPLE_WORDS);
  tupleValues[alt] = tupleValues[slot];
  const t = Object.freeze(readTuple(dv, o));
  tupleWords.set(tupleKey, slot * TUPLE_WORDS);
  tupleValues[slot] = t;
  return t;
}

/** Whether cache slot `slot` holds the tuple in `tupleKey`. */
function tupleAt(slot: number): boolean {
  if (tupleValues[slot] === undefined) return false;
  const k = slot * TUPLE_WORDS;
  for (let i = 0; i < TUPLE_WORDS; i++) if (tupleWords[k + i] !== tupleKey[i]) return false;
  return true;
}

// Offsets as plain numbers, read once: the decode loop then touches no layout objects.
const L = EVENT_LAYOUT;
const TS = H.ts_ns[0];
const RID = H.request_id[0];
const PID = H.pid[0];
const TID = H.tid[0];
const KIND = H.kind[0];
const SIZE = H.size[0];
const FD = H.fd[0];
const [RS_METHOD, RS_METHOD_LEN] = L.ev_request_start.fields.method;
const [RS_PATH, RS_PATH_LEN] = L.ev_request_start.fields.path;
const RE_STATUS = L.ev_request_end.fields.status[0];
const RE_DUR = L.ev_request_end.fields.duration_us[0];
const [QS_QUERY, QS_QUERY_LEN] = L.ev_db_query_start.fields.query;
const QE_DUR = L.ev_db_query_end.fields.duration_us[0];
const QE_ROWS = L.ev_db_query_end.fields.rows[0];
const [CACHE_KEY, CACHE_KEY_LEN] = L.ev_cache.fields.key;
const [FO_PATH, FO_PATH_LEN] = L.ev_file_open.fields.path;
const SIO_DUR = L.ev_sock_io.fields.duration_ns[0];
const SIO_BYTES = L.ev_sock_io.fields.bytes[0];
const SIO_ARRIVAL = L.ev_sock_io.fields.arrival_ns[0];
const SIO_NR = L.ev_sock_io.fields.syscall_nr[0];
const SIO_TUPLE = L.ev_sock_io.fields.tuple[0];
const FIO_DUR = L.ev_file_io.fields.duration_ns[0];
const FIO_BYTES = L.ev_file_io.fields.bytes[0];
const FIO_INODE = L.ev_file_io.fields.inode[0];
const FIO_NR = L.ev_file_io.fields.syscall_nr[0];
const SC_DUR = L.ev_sock_conn.fields.duration_ns[0];
const SC_RET = L.ev_sock_conn.fields.ret[0];
const SC_TUPLE = L.ev_sock_conn.fields.tuple[0];
const RT_STATE = L.ev_tcp_retransmit.fields.state[0];
const RT_TUPLE = L.ev_tcp_retransmit.fields.tuple[0];
const RQ_DELAY = L.ev_runq_delay.fields.delay_ns[0];
const [PROC_CHILD] = L.ev_proc.fields.child_pid;
const [PROC_COMM, PROC_COMM_LEN] = L.ev_proc.fields.comm;
const PG_DUR = L.ev_pg_phase.fields.duration_ns[0];
const PG_PHASE = L.ev_pg_phase.fields.phase[0];
const PG_D0 = L.ev_pg_phase.fields.detail0[0];
const PG_D1 = L.ev_pg_phase.fields.detail1[0];

type PgPhaseValue = Extract<TraceEvent, { kind: typeof EventKind.PgPhase }>['phase'];

/*
 * Each case builds its whole object literal (no spread of a shared header object): one hidden
 * class per kind keeps the loop fast (a spread made it ~50x slower).
 */
function decodeOne(buf: Buffer, dv: DataView, o: number, kind: EventKind): TraceEvent {
  const tsNs = dv.getBigUint64(o + TS, LE);
  const requestId = requestIdAt(buf, dv, o + RID);
  const pid = dv.getUint32(o + PID, LE);
  const tid = dv.getUint32(o + TID, LE);
  const fd = dv.getInt32(o + FD, LE);
  switch (kind) {
    case EventKind.RequestStart:
      return {
        tsNs,
        requestId,
        pid,
        tid,
        fd,
        kind,
        method: cString(buf, o + RS_METHOD, RS_METHOD_LEN),
        path: cString(buf, o + RS_PATH, RS_PATH_LEN),
      };
    case EventKind.RequestEnd:
      return { tsNs, requestId, pid, tid, fd, kind, status: dv.getUint32(o + RE_STATUS, LE), durationUs: u64(dv, o + RE_DUR) };
    case EventKind.DbQueryStart:
      return { tsNs, requestId, pid, tid, fd, kind, query: cString(buf, o + QS_QUERY, QS_QUERY_LEN) };
    case EventKind.DbQueryEnd:
      return { tsNs, requestId, pid, tid, fd, kind, durationUs: u64(dv, o + QE_DUR), rows: u64(dv, o + QE_ROWS) };
    case EventKind.CacheHit:
    case EventKind.CacheMiss:
      return { tsNs, requestId, pid, tid, fd, kind, key: cString(buf, o + CACHE_KEY, CACHE_KEY_LEN) };
    case EventKind.FileOpen:
      return { tsNs, requestId, pid, tid, fd, kind, path: cString(buf, o + FO_PATH, FO_PATH_LEN) };
    case EventKind.FileClose:
      return { tsNs, requestId, pid, tid, fd, kind };
    case EventKind.SockRecv:
    case EventKind.SockSend:
      return {
        tsNs,
        requestId,
        pid,
        tid,
        fd,
        kind,
        durationNs: dv.getBigUint64(o + SIO_DUR, LE),
        bytes: s64(dv, o + SIO_BYTES),
        arrivalNs: u64(dv, o + SIO_ARRIVAL),
        syscallNr: dv.getUint32(o + SIO_NR, LE),
        tuple: tuple(dv, o + SIO_TUPLE),
      };
    case EventKind.FileRead:
    case EventKind.FileWrite:
      return {
        tsNs,
        requestId,
        pid,
        tid,
        fd,
        kind,
        durationNs: dv.getBigUint64(o + FIO_DUR, LE),
        bytes: s64(dv, o + FIO_BYTES),
        inode: dv.getBigUint64(o + FIO_INODE, LE),
        syscallNr: dv.getUint32(o + FIO_NR, LE),
      };
    case EventKind.SockAccept:
    case EventKind.SockConnect:
    case EventKind.SockClose:
      return {
        tsNs,
        requestId,
        pid,
        tid,
        fd,
        kind,
        durationNs: dv.getBigUint64(o + SC_DUR, LE),
        ret: s64(dv, o + SC_RET),
        tuple: tuple(dv, o + SC_TUPLE),
      };
    case EventKind.TcpRetransmit:
      return { tsNs, requestId, pid, tid, fd, kind, state: dv.getUint32(o + RT_STATE, LE), tuple: tuple(dv, o + RT_TUPLE) };
    case EventKind.RunqDelay:
      return { tsNs, requestId, pid, tid, fd, kind, delayNs: dv.getBigUint64(o + RQ_DELAY, LE) };
    case EventKind.ProcFork:
    case EventKind.ProcExit:
      return { tsNs, requestId, pid, tid, fd, kind, childPid: dv.getUint32(o + PROC_CHILD, LE), comm: cString(buf, o + PROC_COMM, PROC_COMM_LEN) };
    case EventKind.PgPhase:
      return {
        tsNs,
        requestId,
        pid,
        tid,
        fd,
        kind,
        phase: dv.getUint32(o + PG_PHASE, LE) as PgPhaseValue,
        durationNs: dv.getBigUint64(o + PG_DUR, LE),
        detail0: u64(dv, o + PG_D0),
        detail1: u64(dv, o + PG_D1),
      };
  }
}

/** Struct size per kind number, 0 for a kind this build does not know. */
const EXPECTED_SIZE = new Uint16Array(0x10000);
for (const [kind, struct] of Object.entries(KIND_STRUCT)) EXPECTED_SIZE[Number(kind)] = EVENT_LAYOUT[struct].size;

/**
 * Decodes whole records from `input` (one buffer, or chunks in order). Records longer than this
 * build's struct (a newer loader's appended fields) decode by their known prefix.
 */
export function decodeEvents(input: Buffer | readonly Buffer[], options: DecodeOptions = {}): DecodeResult {
  const buf = Buffer.isBuffer(input) ? input : input.length === 1 ? input[0]! : Buffer.concat(input);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const base = options.streamOffset ?? 0;
  const events: TraceEvent[] = options.into ?? [];
  const warnings: string[] = [];
  const unknown = new Map<number, { count: number; first: number }>();
  const length = buf.length;
  let o = 0;
  let corrupt = false;

  while (length - o >= HEADER_SIZE) {
    const size = dv.getUint16(o + SIZE, LE);
    const kind = dv.getUint16(o + KIND, LE);
    if (size < HEADER_SIZE || size > MAX_RECORD) {
      warnings.push(
        `corrupt record at byte ${base + o}: size ${size} is outside ${HEADER_SIZE}..${MAX_RECORD}; the last ${length - o} bytes are unreadable`,
      );
      corrupt = true;
      o = length;
      break;
    }
    if (length - o < size) break;
    const expected = EXPECTED_SIZE[kind]!;
    if (expected === 0) {
      const seen = unknown.get(kind);
      if (seen) seen.count++;
      else unknown.set(kind, { count: 1, first: base + o });
    } else if (size < expected) {
      warnings.push(`record of kind ${kind} at byte ${base + o} is ${size} bytes, shorter than its ${expected}; skipped`);
    } else {
      events.push(decodeOne(buf, dv, o, kind as EventKind));
    }
    o += size;
  }
  for (const [kind, { count, first }] of unknown) {
    warnings.push(`${count} record(s) of unknown kind ${kind} skipped (first at byte ${first})`);
  }
  return { events, warnings, remainder: corrupt ? Buffer.alloc(0) : buf.subarray(o), corrupt };
}

/** The warning for bytes left over at the end of a stream, or null when there are none. */
export function truncatedTailWarning(remainder: Buffer, streamOffset: number): string | null {
  if (remainder.length === 0) return null;
  const declared = remainder.length >= HEADER_SIZE ? ` of a ${remainder.readUInt16LE(H.size[0])}-byte record` : '';
  return `truncated record at byte ${streamOffset}: ${remainder.length} bytes${declared} at the end of the stream; skipped`;
}
