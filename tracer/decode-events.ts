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
}

const H = EVENT_LAYOUT.event_header.fields;
const T = EVENT_LAYOUT.tuple.fields;
const AF_INET = 2;
const AF_INET6 = 10;
/** Larger than any record the loader writes; a size past it means lost framing. */
const MAX_RECORD = 4096;

function requestIdAt(buf: Buffer, o: number): string {
  if (buf.readUInt32LE(o) === 0 && buf.readUInt32LE(o + 4) === 0 && buf.readUInt32LE(o + 8) === 0 && buf.readUInt32LE(o + 12) === 0) {
    return '';
  }
  return buf.toString('hex', o, o + 16);
}

/** A NUL-terminated string in a fixed-size field. */
function cString(buf: Buffer, o: number, len: number): string {
  let end = o;
  const limit = o + len;
  while (end < limit && buf[end] !== 0) end++;
  return buf.toString('utf8', o, end);
}

const ipv4Cache = new Map<number, string>();

function ipv4(buf: Buffer, o: number): string {
  const key = buf.readUInt32BE(o);
  let s = ipv4Cache.get(key);
  if (s === undefined) {
    s = `${buf[o]}.${buf[o + 1]}.${buf[o + 2]}.${buf[o + 3]}`;
    if (ipv4Cache.size < 4096) ipv4Cache.set(key, s);
  }
  return s;
}

function isV4Mapped(buf: Buffer, o: number): boolean {
  return buf.readUInt32LE(o) === 0 && buf.readUInt32LE(o + 4) === 0 && buf.readUInt32BE(o + 8) === 0xffff;
}

/** RFC 5952 text: lowercase, longest zero run (of two or more groups) as '::'. */
function ipv6(buf: Buffer, o: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(o + 2 * i));
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
function tuple(buf: Buffer, o: number): Tuple {
  // A process talks over few connections: reuse one frozen Tuple per distinct 40 bytes.
  const key = buf.toString('latin1', o, o + TUPLE_SIZE);
  let t = tupleCache.get(key);
  if (t === undefined) {
    t = Object.freeze(readTuple(buf, o));
    if (tupleCache.size >= TUPLE_CACHE_MAX) tupleCache.clear();
    tupleCache.set(key, t);
  }
  return t;
}

function readTuple(buf: Buffer, o: number): Tuple {
  const family = buf.readUInt16LE(o + T.family[0]);
  const s = o + T.saddr[0];
  const d = o + T.daddr[0];
  const mapped = family !== AF_INET6 || (isV4Mapped(buf, s) && isV4Mapped(buf, d));
  return {
    localAddress: mapped ? ipv4(buf, s + 12) : ipv6(buf, s),
    localPort: buf.readUInt16LE(o + T.sport[0]),
    remoteAddress: mapped ? ipv4(buf, d + 12) : ipv6(buf, d),
    remotePort: buf.readUInt16LE(o + T.dport[0]),
    family: mapped ? 'ipv4' : 'ipv6',
  };
}

const TUPLE_SIZE = EVENT_LAYOUT.tuple.size;
const TUPLE_CACHE_MAX = 16_384;
const tupleCache = new Map<string, Tuple>();

// Offsets as plain numbers, read once: the decode loop then touches no layout objects.
const L = EVENT_LAYOUT;
const TS = H.ts_ns[0];
const RID = H.request_id[0];
const PID = H.pid[0];
const TID = H.tid[0];
const FD = H.fd[0];
const RS_METHOD = L.ev_request_start.fields.method;
const RS_PATH = L.ev_request_start.fields.path;
const RE_STATUS = L.ev_request_end.fields.status[0];
const RE_DUR = L.ev_request_end.fields.duration_us[0];
const QS_QUERY = L.ev_db_query_start.fields.query;
const QE_DUR = L.ev_db_query_end.fields.duration_us[0];
const QE_ROWS = L.ev_db_query_end.fields.rows[0];
const CACHE_KEY = L.ev_cache.fields.key;
const FO_PATH = L.ev_file_open.fields.path;
const SIO = L.ev_sock_io.fields;
const FIO = L.ev_file_io.fields;
const SC = L.ev_sock_conn.fields;
const RT = L.ev_tcp_retransmit.fields;
const RQ_DELAY = L.ev_runq_delay.fields.delay_ns[0];
const PROC = L.ev_proc.fields;
const PG = L.ev_pg_phase.fields;

/*
 * Each case builds its whole object literal (no spread of a shared header object): one hidden
 * class per kind keeps the loop fast (a spread made it ~50x slower).
 */
function decodeOne(buf: Buffer, o: number, kind: EventKind): TraceEvent {
  const tsNs = buf.readBigUInt64LE(o + TS);
  const requestId = requestIdAt(buf, o + RID);
  const pid = buf.readUInt32LE(o + PID);
  const tid = buf.readUInt32LE(o + TID);
  const fd = buf.readInt32LE(o + FD);
  switch (kind) {
    case EventKind.RequestStart:
      return { tsNs, requestId, pid, tid, fd, kind, method: cString(buf, o + RS_METHOD[0], RS_METHOD[1]), path: cString(buf, o + RS_PATH[0], RS_PATH[1]) };
    case EventKind.RequestEnd:
      return { tsNs, requestId, pid, tid, fd, kind, status: buf.readUInt32LE(o + RE_STATUS), durationUs: buf.readBigUInt64LE(o + RE_DUR) };
    case EventKind.DbQueryStart:
      return { tsNs, requestId, pid, tid, fd, kind, query: cString(buf, o + QS_QUERY[0], QS_QUERY[1]) };
    case EventKind.DbQueryEnd:
      return { tsNs, requestId, pid, tid, fd, kind, durationUs: buf.readBigUInt64LE(o + QE_DUR), rows: buf.readBigUInt64LE(o + QE_ROWS) };
    case EventKind.CacheHit:
    case EventKind.CacheMiss:
      return { tsNs, requestId, pid, tid, fd, kind, key: cString(buf, o + CACHE_KEY[0], CACHE_KEY[1]) };
    case EventKind.FileOpen:
      return { tsNs, requestId, pid, tid, fd, kind, path: cString(buf, o + FO_PATH[0], FO_PATH[1]) };
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
        durationNs: buf.readBigUInt64LE(o + SIO.duration_ns[0]),
        bytes: buf.readBigInt64LE(o + SIO.bytes[0]),
        arrivalNs: buf.readBigUInt64LE(o + SIO.arrival_ns[0]),
        syscallNr: buf.readUInt32LE(o + SIO.syscall_nr[0]),
        tuple: tuple(buf, o + SIO.tuple[0]),
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
        durationNs: buf.readBigUInt64LE(o + FIO.duration_ns[0]),
        bytes: buf.readBigInt64LE(o + FIO.bytes[0]),
        inode: buf.readBigUInt64LE(o + FIO.inode[0]),
        syscallNr: buf.readUInt32LE(o + FIO.syscall_nr[0]),
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
        durationNs: buf.readBigUInt64LE(o + SC.duration_ns[0]),
        ret: buf.readBigInt64LE(o + SC.ret[0]),
        tuple: tuple(buf, o + SC.tuple[0]),
      };
    case EventKind.TcpRetransmit:
      return { tsNs, requestId, pid, tid, fd, kind, state: buf.readUInt32LE(o + RT.state[0]), tuple: tuple(buf, o + RT.tuple[0]) };
    case EventKind.RunqDelay:
      return { tsNs, requestId, pid, tid, fd, kind, delayNs: buf.readBigUInt64LE(o + RQ_DELAY) };
    case EventKind.ProcFork:
    case EventKind.ProcExit:
      return { tsNs, requestId, pid, tid, fd, kind, childPid: buf.readUInt32LE(o + PROC.child_pid[0]), comm: cString(buf, o + PROC.comm[0], PROC.comm[1]) };
    case EventKind.PgPhase:
      return {
        tsNs,
        requestId,
        pid,
        tid,
        fd,
        kind,
        phase: buf.readUInt32LE(o + PG.phase[0]) as EventKindPhase,
        durationNs: buf.readBigUInt64LE(o + PG.duration_ns[0]),
        detail0: buf.readBigUInt64LE(o + PG.detail0[0]),
        detail1: buf.readBigUInt64LE(o + PG.detail1[0]),
      };
  }
}

type EventKindPhase = Extract<TraceEvent, { kind: typeof EventKind.PgPhase }>['phase'];

const EXPECTED_SIZE = new Map<number, number>(
  Object.entries(KIND_STRUCT).map(([kind, struct]) => [Number(kind), EVENT_LAYOUT[struct].size]),
);

/**
 * Decodes whole records from `input` (one buffer, or chunks in order). Records longer than this
 * build's struct (a newer loader's appended fields) decode by their known prefix.
 */
export function decodeEvents(input: Buffer | readonly Buffer[], options: DecodeOptions = {}): DecodeResult {
  const buf = Buffer.isBuffer(input) ? input : input.length === 1 ? input[0]! : Buffer.concat(input);
  const base = options.streamOffset ?? 0;
  const events: TraceEvent[] = [];
  const warnings: string[] = [];
  const unknown = new Map<number, { count: number; first: number }>();
  let o = 0;
  let corrupt = false;

  while (buf.length - o >= HEADER_SIZE) {
    const size = buf.readUInt16LE(o + H.size[0]);
    const kind = buf.readUInt16LE(o + H.kind[0]);
    if (size < HEADER_SIZE || size > MAX_RECORD) {
      warnings.push(
        `corrupt record at byte ${base + o}: size ${size} is outside ${HEADER_SIZE}..${MAX_RECORD}; the last ${buf.length - o} bytes are unreadable`,
      );
      corrupt = true;
      o = buf.length;
      break;
    }
    if (buf.length - o < size) break;
    const expected = EXPECTED_SIZE.get(kind);
    if (expected === undefined) {
      const seen = unknown.get(kind);
      if (seen) seen.count++;
      else unknown.set(kind, { count: 1, first: base + o });
    } else if (size < expected) {
      warnings.push(`record of kind ${kind} at byte ${base + o} is ${size} bytes, shorter than its ${expected}; skipped`);
    } else {
      events.push(decodeOne(buf, o, kind as EventKind));
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
