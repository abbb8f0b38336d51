/**
 * One loader record (probes/events.h) as a TraceEvent. The caller frames records and resolves
 * the two fields that repeat across records, the request id and the 4-tuple, once per distinct
 * value (tracer/event-table.ts); everything else is read here, per record.
 */
import { ConnSide, EventKind, KeepReason, OffcpuState, type TraceEvent, type Tuple } from '../shared/event-types.ts';
import { EVENT_LAYOUT } from '../shared/event-layout.ts';

const H = EVENT_LAYOUT.event_header.fields;
const T = EVENT_LAYOUT.tuple.fields;
const AF_INET6 = 10;
const LE = true;

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
export function readTuple(dv: DataView, o: number): Tuple {
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

// Offsets as plain numbers, read once: the decode loop then touches no layout objects.
const L = EVENT_LAYOUT;
const TS = H.ts_ns[0];
const PID = H.pid[0];
const TID = H.tid[0];
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
const RK_REASON = L.ev_request_kept.fields.reason[0];
const RK_COMPLETE = L.ev_request_kept.fields.complete[0];
const RK_THRESHOLD = L.ev_request_kept.fields.threshold_us[0];
const SIO_DUR = L.ev_sock_io.fields.duration_ns[0];
const SIO_BYTES = L.ev_sock_io.fields.bytes[0];
const SIO_ARRIVAL = L.ev_sock_io.fields.arrival_ns[0];
const SIO_NR = L.ev_sock_io.fields.syscall_nr[0];
const SIO_CALLS = L.ev_sock_io.fields.syscalls[0];
const FIO_DUR = L.ev_file_io.fields.duration_ns[0];
const FIO_BYTES = L.ev_file_io.fields.bytes[0];
const FIO_INODE = L.ev_file_io.fields.inode[0];
const FIO_NR = L.ev_file_io.fields.syscall_nr[0];
const SC_DUR = L.ev_sock_conn.fields.duration_ns[0];
const SC_RET = L.ev_sock_conn.fields.ret[0];
const RT_STATE = L.ev_tcp_retransmit.fields.state[0];
const RQ_DELAY = L.ev_runq_delay.fields.delay_ns[0];
const [PROC_CHILD] = L.ev_proc.fields.child_pid;
const [PROC_COMM, PROC_COMM_LEN] = L.ev_proc.fields.comm;
const [SHED_FAMILY, SHED_FAMILY_LEN] = L.ev_tracer_shed.fields.family;
const SHED_FAMILY_PCT = L.ev_tracer_shed.fields.family_pct_x100[0];
const SHED_TOTAL_PCT = L.ev_tracer_shed.fields.total_pct_x100[0];
const SHED_BUDGET_PCT = L.ev_tracer_shed.fields.budget_pct_x100[0];
const PG_DUR = L.ev_pg_phase.fields.duration_ns[0];
const PG_PHASE = L.ev_pg_phase.fields.phase[0];
const PG_D0 = L.ev_pg_phase.fields.detail0[0];
const PG_D1 = L.ev_pg_phase.fields.detail1[0];
const SIZE = H.size[0];
const RS_RUN_DELAY = L.ev_request_start.fields.run_delay_ns[0];
const RE_RUN_DELAY = L.ev_request_end.fields.run_delay_ns[0];
const QS_RUN_DELAY = L.ev_db_query_start.fields.run_delay_ns[0];
const QE_RUN_DELAY = L.ev_db_query_end.fields.run_delay_ns[0];
const PG_RUN_DELAY_START = L.ev_pg_phase.fields.run_delay_start_ns[0];
const PG_RUN_DELAY = L.ev_pg_phase.fields.run_delay_ns[0];

/** A u64 field at `field` that schema-2 records (shorter) do not have: undefined there. */
const grown = (dv: DataView, o: number, field: number): bigint | undefined =>
  dv.getUint16(o + SIZE, LE) >= field + 8 ? u64(dv, o + field) : undefined;

const PW_WAIT = L.ev_pool_wait.fields.wait_ns[0];
const PW_SIZE = L.ev_pool_wait.fields.pool_size[0];
const PW_BUSY = L.ev_pool_wait.fields.busy[0];
const PW_WAITING = L.ev_pool_wait.fields.waiting[0];
const PW_NEW = L.ev_pool_wait.fields.new_connection[0];
const CS_SYN = L.ev_conn_setup.fields.syn_ns[0];
const CS_SIDE = L.ev_conn_setup.fields.side[0];
const CS_RTT = L.ev_conn_setup.fields.rtt_us[0];
const CS_RETRANS = L.ev_conn_setup.fields.retransmits[0];
const CS_ERROR = L.ev_conn_setup.fields.error[0];
const MF_DUR = L.ev_major_fault.fields.duration_ns[0];
const MF_CODE = L.ev_major_fault.fields.error_code[0];
const BIO_DUR = L.ev_block_io.fields.duration_ns[0];
const BIO_QUEUED = L.ev_block_io.fields.queued_ns[0];
const BIO_SECTOR = L.ev_block_io.fields.sector[0];
const BIO_BYTES = L.ev_block_io.fields.bytes[0];
const BIO_DEV = L.ev_block_io.fields.dev[0];
const BIO_OP = L.ev_block_io.fields.op[0];
const BIO_ERROR = L.ev_block_io.fields.error[0];
const OFF_DUR = L.ev_offcpu.fields.duration_ns[0];
const OFF_NR = L.ev_offcpu.fields.syscall_nr[0];
const OFF_STATE = L.ev_offcpu.fields.state[0];
const OFF_FUTEX = L.ev_offcpu.fields.futex_addr[0];
const SS_DUR = L.ev_slow_syscall.fields.duration_ns[0];
const SS_RET = L.ev_slow_syscall.fields.ret[0];
const SS_NR = L.ev_slow_syscall.fields.syscall_nr[0];
const DR_DUR = L.ev_direct_reclaim.fields.duration_ns[0];
const DR_PAGES = L.ev_direct_reclaim.fields.reclaimed[0];
const NX_QUEUED = L.ev_net_xmit.fields.queued_ns[0];
const NX_LEN = L.ev_net_xmit.fields.len[0];
const NX_IFINDEX = L.ev_net_xmit.fields.ifindex[0];
const NX_RC = L.ev_net_xmit.fields.rc[0];

type PgPhaseValue = Extract<TraceEvent, { kind: typeof EventKind.PgPhase }>['phase'];

/** `arrivalNs` of the socket read or write record at `o`, without decoding the rest. */
export function sockIoArrivalNs(dv: DataView, o: number): bigint {
  return u64(dv, o + SIO_ARRIVAL);
}

/*
 * Each case builds its whole object literal (no spread of a shared header object): one hidden
 * class per kind keeps the loop fast (a spread made it ~50x slower).
 */
export function decodeRecord(buf: Buffer, dv: DataView, o: number, kind: EventKind, requestId: string, tuple: Tuple): TraceEvent {
  const tsNs = dv.getBigUint64(o + TS, LE);
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
        runDelayNs: grown(dv, o, RS_RUN_DELAY),
      };
    case EventKind.RequestEnd:
      return {
        tsNs,
        requestId,
        pid,
        tid,
        fd,
        kind,
        status: dv.getUint32(o + RE_STATUS, LE),
        durationUs: u64(dv, o + RE_DUR),
        runDelayNs: grown(dv, o, RE_RUN_DELAY),
      };
    case EventKind.DbQueryStart:
      return { tsNs, requestId, pid, tid, fd, kind, query: cString(buf, o + QS_QUERY, QS_QUERY_LEN), runDelayNs: grown(dv, o, QS_RUN_DELAY) };
    case EventKind.DbQueryEnd:
      return {
        tsNs,
        requestId,
        pid,
        tid,
        fd,
        kind,
        durationUs: u64(dv, o + QE_DUR),
        rows: u64(dv, o + QE_ROWS),
        runDelayNs: grown(dv, o, QE_RUN_DELAY),
      };
    case EventKind.CacheHit:
    case EventKind.CacheMiss:
      return { tsNs, requestId, pid, tid, fd, kind, key: cString(buf, o + CACHE_KEY, CACHE_KEY_LEN) };
    case EventKind.FileOpen:
      return { tsNs, requestId, pid, tid, fd, kind, path: cString(buf, o + FO_PATH, FO_PATH_LEN) };
    case EventKind.FileClose:
      return { tsNs, requestId, pid, tid, fd, kind };
    case EventKind.RequestKept:
      return {
        tsNs,
        requestId,
        pid,
        tid,
        fd,
        kind,
        reason: dv.getUint32(o + RK_REASON, LE) === KeepReason.Error ? KeepReason.Error : KeepReason.Slow,
        complete: dv.getUint32(o + RK_COMPLETE, LE) !== 0,
        thresholdUs: u64(dv, o + RK_THRESHOLD),
      };
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
        // Schema 1 wrote 0 here: one call per record.
        syscalls: Math.max(1, dv.getUint32(o + SIO_CALLS, LE)),
        tuple,
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
        tuple,
      };
    case EventKind.TcpRetransmit:
      return { tsNs, requestId, pid, tid, fd, kind, state: dv.getUint32(o + RT_STATE, LE), tuple };
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
        runDelayStartNs: grown(dv, o, PG_RUN_DELAY_START),
        runDelayNs: grown(dv, o, PG_RUN_DELAY),
      };
    case EventKind.PoolWait:
      return {
        tsNs,
        requestId,
        pid,
        tid,
        fd,
        kind,
        waitNs: u64(dv, o + PW_WAIT),
        poolSize: dv.getUint32(o + PW_SIZE, LE),
        busy: dv.getUint32(o + PW_BUSY, LE),
        waiting: dv.getUint32(o + PW_WAITING, LE),
        newConnection: dv.getUint32(o + PW_NEW, LE) !== 0,
      };
    case EventKind.ConnSetup:
      return {
        tsNs,
        requestId,
        pid,
        tid,
        fd,
        kind,
        synNs: u64(dv, o + CS_SYN),
        side: dv.getUint32(o + CS_SIDE, LE) === ConnSide.Client ? ConnSide.Client : ConnSide.Server,
        rttUs: dv.getUint32(o + CS_RTT, LE),
        retransmits: dv.getUint32(o + CS_RETRANS, LE),
        error: dv.getInt32(o + CS_ERROR, LE),
        tuple,
      };
    case EventKind.ConnAccept:
      return { tsNs, requestId, pid, tid, fd, kind, durationNs: dv.getBigUint64(o + SC_DUR, LE), ret: s64(dv, o + SC_RET), tuple };
    case EventKind.MajorFault:
      return { tsNs, requestId, pid, tid, fd, kind, durationNs: u64(dv, o + MF_DUR), errorCode: dv.getUint32(o + MF_CODE, LE) };
    case EventKind.BlockIo:
      return {
        tsNs,
        requestId,
        pid,
        tid,
        fd,
        kind,
        durationNs: u64(dv, o + BIO_DUR),
        queuedNs: u64(dv, o + BIO_QUEUED),
        sector: u64(dv, o + BIO_SECTOR),
        bytes: dv.getUint32(o + BIO_BYTES, LE),
        dev: dv.getUint32(o + BIO_DEV, LE),
        op: dv.getUint32(o + BIO_OP, LE),
        error: dv.getInt32(o + BIO_ERROR, LE),
      };
    case EventKind.Offcpu: {
      const state = dv.getUint32(o + OFF_STATE, LE);
      return {
        tsNs,
        requestId,
        pid,
        tid,
        fd,
        kind,
        durationNs: u64(dv, o + OFF_DUR),
        syscallNr: dv.getUint32(o + OFF_NR, LE),
        state: state === OffcpuState.Iowait ? OffcpuState.Iowait : state === OffcpuState.Blocked ? OffcpuState.Blocked : OffcpuState.Sleep,
        futexAddr: u64(dv, o + OFF_FUTEX),
      };
    }
    case EventKind.SlowSyscall:
      return { tsNs, requestId, pid, tid, fd, kind, durationNs: u64(dv, o + SS_DUR), ret: s64(dv, o + SS_RET), syscallNr: dv.getUint32(o + SS_NR, LE) };
    case EventKind.DirectReclaim:
      return { tsNs, requestId, pid, tid, fd, kind, durationNs: u64(dv, o + DR_DUR), reclaimed: u64(dv, o + DR_PAGES) };
    case EventKind.NetXmit:
      return {
        tsNs,
        requestId,
        pid,
        tid,
        fd,
        kind,
        queuedNs: u64(dv, o + NX_QUEUED),
        len: dv.getUint32(o + NX_LEN, LE),
        ifindex: dv.getUint32(o + NX_IFINDEX, LE),
        rc: dv.getInt32(o + NX_RC, LE),
        tuple,
      };
    case EventKind.TracerShed:
      return {
        tsNs,
        requestId,
        pid,
        tid,
        fd,
        kind,
        family: cString(buf, o + SHED_FAMILY, SHED_FAMILY_LEN),
        familyPct: dv.getUint32(o + SHED_FAMILY_PCT, LE) / 100,
        totalPct: dv.getUint32(o + SHED_TOTAL_PCT, LE) / 100,
        budgetPct: dv.getUint32(o + SHED_BUDGET_PCT, LE) / 100,
      };
  }
}
