/**
 * Encodes a TraceEvent as the loader's binary record (probes/events.h): the inverse of
 * decode-events.ts, for test fixtures and benchmarks.
 */
import { EventKind, type TraceEvent, type Tuple } from '../shared/event-types.ts';
import { EVENT_LAYOUT, KIND_STRUCT, SCHEMA2_SIZE } from '../shared/event-layout.ts';

const L = EVENT_LAYOUT;
const H = L.event_header.fields;

function putString(buf: Buffer, [offset, size]: readonly [number, number], s: string): void {
  // Leaves room for the NUL, as bpf_probe_read_user_str does.
  buf.write(s, offset, size - 1, 'utf8');
}

function ipv6Bytes(address: string): Buffer {
  const out = Buffer.alloc(16);
  const [head = '', tail] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
  return out;
}

function addressBytes(address: string, family: Tuple['family']): Buffer {
  if (family === 'ipv6') return ipv6Bytes(address);
  const out = Buffer.alloc(16);
  out.writeUInt16BE(0xffff, 10);
  address.split('.').forEach((part, i) => (out[12 + i] = Number(part)));
  return out;
}

function putTuple(buf: Buffer, at: number, t: Tuple): void {
  const T = L.tuple.fields;
  addressBytes(t.localAddress, t.family).copy(buf, at + T.saddr[0]);
  addressBytes(t.remoteAddress, t.family).copy(buf, at + T.daddr[0]);
  buf.writeUInt16LE(t.localPort, at + T.sport[0]);
  buf.writeUInt16LE(t.remotePort, at + T.dport[0]);
  buf.writeUInt16LE(t.family === 'ipv4' ? 2 : 10, at + T.family[0]);
}

/** The field schema 3 appended to the record of `e`'s kind (undefined when `e` lacks it), null for the kinds it left alone. */
function grownValue(e: TraceEvent): bigint | undefined | null {
  switch (e.kind) {
    case EventKind.RequestStart:
    case EventKind.RequestEnd:
    case EventKind.DbQueryStart:
    case EventKind.DbQueryEnd:
    case EventKind.PgPhase:
      return e.runDelayNs;
    default:
      return null;
  }
}

/** One record; `size` overrides the header's size field (for malformed-input tests). */
export function encodeEvent(e: TraceEvent, size?: number): Buffer {
  const name = KIND_STRUCT[e.kind];
  const struct = L[name];
  // Without the field schema 3 appended, the record an older loader wrote.
  const older = grownValue(e) === undefined;
  const length = older ? SCHEMA2_SIZE[name]! : struct.size;
  const buf = Buffer.alloc(length);
  buf.writeBigUInt64LE(e.tsNs, H.ts_ns[0]);
  if (e.requestId) Buffer.from(e.requestId, 'hex').copy(buf, H.request_id[0]);
  buf.writeUInt32LE(e.pid, H.pid[0]);
  buf.writeUInt32LE(e.tid, H.tid[0]);
  buf.writeUInt16LE(e.kind, H.kind[0]);
  buf.writeUInt16LE(size ?? length, H.size[0]);
  buf.writeInt32LE(e.fd, H.fd[0]);
  switch (e.kind) {
    case EventKind.RequestStart:
      putString(buf, L.ev_request_start.fields.method, e.method);
      putString(buf, L.ev_request_start.fields.path, e.path);
      if (!older) buf.writeBigUInt64LE(e.runDelayNs ?? 0n, L.ev_request_start.fields.run_delay_ns[0]);
      break;
    case EventKind.RequestEnd:
      buf.writeUInt32LE(e.status, L.ev_request_end.fields.status[0]);
      buf.writeBigUInt64LE(e.durationUs, L.ev_request_end.fields.duration_us[0]);
      if (!older) buf.writeBigUInt64LE(e.runDelayNs ?? 0n, L.ev_request_end.fields.run_delay_ns[0]);
      break;
    case EventKind.DbQueryStart:
      putString(buf, L.ev_db_query_start.fields.query, e.query);
      if (!older) buf.writeBigUInt64LE(e.runDelayNs ?? 0n, L.ev_db_query_start.fields.run_delay_ns[0]);
      break;
    case EventKind.DbQueryEnd:
      buf.writeBigUInt64LE(e.durationUs, L.ev_db_query_end.fields.duration_us[0]);
      buf.writeBigUInt64LE(e.rows, L.ev_db_query_end.fields.rows[0]);
      if (!older) buf.writeBigUInt64LE(e.runDelayNs ?? 0n, L.ev_db_query_end.fields.run_delay_ns[0]);
      break;
    case EventKind.CacheHit:
    case EventKind.CacheMiss:
      putString(buf, L.ev_cache.fields.key, e.key);
      break;
    case EventKind.FileOpen:
      putString(buf, L.ev_file_open.fields.path, e.path);
      break;
    case EventKind.FileClose:
      break;
    case EventKind.RequestKept:
      buf.writeUInt32LE(e.reason, L.ev_request_kept.fields.reason[0]);
      buf.writeUInt32LE(e.complete ? 1 : 0, L.ev_request_kept.fields.complete[0]);
      buf.writeBigUInt64LE(e.thresholdUs, L.ev_request_kept.fields.threshold_us[0]);
      break;
    case EventKind.SockRecv:
    case EventKind.SockSend: {
      const f = L.ev_sock_io.fields;
      buf.writeBigUInt64LE(e.durationNs, f.duration_ns[0]);
      buf.writeBigInt64LE(e.bytes, f.bytes[0]);
      buf.writeBigUInt64LE(e.arrivalNs, f.arrival_ns[0]);
      buf.writeUInt32LE(e.syscallNr, f.syscall_nr[0]);
      buf.writeUInt32LE(e.syscalls, f.syscalls[0]);
      putTuple(buf, f.tuple[0], e.tuple);
      break;
    }
    case EventKind.FileRead:
    case EventKind.FileWrite: {
      const f = L.ev_file_io.fields;
      buf.writeBigUInt64LE(e.durationNs, f.duration_ns[0]);
      buf.writeBigInt64LE(e.bytes, f.bytes[0]);
      buf.writeBigUInt64LE(e.inode, f.inode[0]);
      buf.writeUInt32LE(e.syscallNr, f.syscall_nr[0]);
      break;
    }
    case EventKind.SockAccept:
    case EventKind.SockConnect:
    case EventKind.SockClose: {
      const f = L.ev_sock_conn.fields;
      buf.writeBigUInt64LE(e.durationNs, f.duration_ns[0]);
      buf.writeBigInt64LE(e.ret, f.ret[0]);
      putTuple(buf, f.tuple[0], e.tuple);
      break;
    }
    case EventKind.TcpRetransmit:
      buf.writeUInt32LE(e.state, L.ev_tcp_retransmit.fields.state[0]);
      putTuple(buf, L.ev_tcp_retransmit.fields.tuple[0], e.tuple);
      break;
    case EventKind.RunqDelay:
      buf.writeBigUInt64LE(e.delayNs, L.ev_runq_delay.fields.delay_ns[0]);
      break;
    case EventKind.ProcFork:
    case EventKind.ProcExit:
      buf.writeUInt32LE(e.childPid, L.ev_proc.fields.child_pid[0]);
      putString(buf, L.ev_proc.fields.comm, e.comm);
      break;
    case EventKind.PgPhase: {
      const f = L.ev_pg_phase.fields;
      buf.writeBigUInt64LE(e.durationNs, f.duration_ns[0]);
      buf.writeUInt32LE(e.phase, f.phase[0]);
      buf.writeBigUInt64LE(e.detail0, f.detail0[0]);
      buf.writeBigUInt64LE(e.detail1, f.detail1[0]);
      if (!older) {
        buf.writeBigUInt64LE(e.runDelayStartNs ?? e.runDelayNs ?? 0n, f.run_delay_start_ns[0]);
        buf.writeBigUInt64LE(e.runDelayNs ?? 0n, f.run_delay_ns[0]);
      }
      break;
    }
    case EventKind.PoolWait: {
      const f = L.ev_pool_wait.fields;
      buf.writeBigUInt64LE(e.waitNs, f.wait_ns[0]);
      buf.writeUInt32LE(e.poolSize, f.pool_size[0]);
      buf.writeUInt32LE(e.busy, f.busy[0]);
      buf.writeUInt32LE(e.waiting, f.waiting[0]);
      buf.writeUInt32LE(e.newConnection ? 1 : 0, f.new_connection[0]);
      break;
    }
    case EventKind.ConnSetup: {
      const f = L.ev_conn_setup.fields;
      buf.writeBigUInt64LE(e.synNs, f.syn_ns[0]);
      buf.writeUInt32LE(e.side, f.side[0]);
      buf.writeUInt32LE(e.rttUs, f.rtt_us[0]);
      buf.writeUInt32LE(e.retransmits, f.retransmits[0]);
      buf.writeInt32LE(e.error, f.error[0]);
      putTuple(buf, f.tuple[0], e.tuple);
      break;
    }
    case EventKind.ConnAccept: {
      const f = L.ev_sock_conn.fields;
      buf.writeBigUInt64LE(e.durationNs, f.duration_ns[0]);
      buf.writeBigInt64LE(e.ret, f.ret[0]);
      putTuple(buf, f.tuple[0], e.tuple);
      break;
    }
    case EventKind.MajorFault:
      buf.writeBigUInt64LE(e.durationNs, L.ev_major_fault.fields.duration_ns[0]);
      buf.writeUInt32LE(e.errorCode, L.ev_major_fault.fields.error_code[0]);
      break;
    case EventKind.BlockIo: {
      const f = L.ev_block_io.fields;
      buf.writeBigUInt64LE(e.durationNs, f.duration_ns[0]);
      buf.writeBigUInt64LE(e.queuedNs, f.queued_ns[0]);
      buf.writeBigUInt64LE(e.sector, f.sector[0]);
      buf.writeUInt32LE(e.bytes, f.bytes[0]);
      buf.writeUInt32LE(e.dev, f.dev[0]);
      buf.writeUInt32LE(e.op, f.op[0]);
      buf.writeInt32LE(e.error, f.error[0]);
      break;
    }
    case EventKind.Offcpu: {
      const f = L.ev_offcpu.fields;
      buf.writeBigUInt64LE(e.durationNs, f.duration_ns[0]);
      buf.writeUInt32LE(e.syscallNr, f.syscall_nr[0]);
      buf.writeUInt32LE(e.state, f.state[0]);
      buf.writeBigUInt64LE(e.futexAddr, f.futex_addr[0]);
      break;
    }
    case EventKind.SlowSyscall: {
      const f = L.ev_slow_syscall.fields;
      buf.writeBigUInt64LE(e.durationNs, f.duration_ns[0]);
      buf.writeBigInt64LE(e.ret, f.ret[0]);
      buf.writeUInt32LE(e.syscallNr, f.syscall_nr[0]);
      break;
    }
    case EventKind.DirectReclaim:
      buf.writeBigUInt64LE(e.durationNs, L.ev_direct_reclaim.fields.duration_ns[0]);
      buf.writeBigUInt64LE(e.reclaimed, L.ev_direct_reclaim.fields.reclaimed[0]);
      break;
    case EventKind.NetXmit: {
      const f = L.ev_net_xmit.fields;
      buf.writeBigUInt64LE(e.queuedNs, f.queued_ns[0]);
      buf.writeUInt32LE(e.len, f.len[0]);
      buf.writeUInt32LE(e.ifindex, f.ifindex[0]);
      buf.writeInt32LE(e.rc, f.rc[0]);
      putTuple(buf, f.tuple[0], e.tuple);
      break;
    }
    case EventKind.TracerShed: {
      const f = L.ev_tracer_shed.fields;
      putString(buf, f.family, e.family);
      buf.writeUInt32LE(Math.round(e.familyPct * 100), f.family_pct_x100[0]);
      buf.writeUInt32LE(Math.round(e.totalPct * 100), f.total_pct_x100[0]);
      buf.writeUInt32LE(Math.round(e.budgetPct * 100), f.budget_pct_x100[0]);
      break;
    }
  }
  return buf;
}
