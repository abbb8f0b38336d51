/**
 * Byte layout of probes/events.h, mirrored for the decoder. `make -C probes layout` prints the
 * same shape from the C side (sizes and `[offset, size]` per field, bytes), and
 * event-layout.test.ts fails when the two differ.
 */
import { EventKind } from './event-types.ts';

export interface StructLayout {
  /** sizeof(struct), bytes. */
  readonly size: number;
  /** field → [offset, size] in bytes, from the start of the record. */
  readonly fields: Readonly<Record<string, readonly [number, number]>>;
}

export const EVENT_LAYOUT = {
  event_header: {
    size: 40,
    fields: { ts_ns: [0, 8], request_id: [8, 16], pid: [24, 4], tid: [28, 4], kind: [32, 2], size: [34, 2], fd: [36, 4] },
  },
  tuple: { size: 40, fields: { saddr: [0, 16], daddr: [16, 16], sport: [32, 2], dport: [34, 2], family: [36, 2] } },
  ev_request_start: { size: 176, fields: { method: [40, 8], path: [48, 120], run_delay_ns: [168, 8] } },
  ev_request_end: { size: 64, fields: { status: [40, 4], duration_us: [48, 8], run_delay_ns: [56, 8] } },
  ev_db_query_start: { size: 304, fields: { query: [40, 256], run_delay_ns: [296, 8] } },
  ev_db_query_end: { size: 64, fields: { duration_us: [40, 8], rows: [48, 8], run_delay_ns: [56, 8] } },
  ev_cache: { size: 104, fields: { key: [40, 64] } },
  ev_file_open: { size: 168, fields: { path: [40, 128] } },
  ev_request_kept: { size: 56, fields: { reason: [40, 4], complete: [44, 4], threshold_us: [48, 8] } },
  ev_sock_io: {
    size: 112,
    fields: { duration_ns: [40, 8], bytes: [48, 8], arrival_ns: [56, 8], syscall_nr: [64, 4], syscalls: [68, 4], tuple: [72, 40] },
  },
  ev_file_io: { size: 72, fields: { duration_ns: [40, 8], bytes: [48, 8], inode: [56, 8], syscall_nr: [64, 4] } },
  ev_sock_conn: { size: 96, fields: { duration_ns: [40, 8], ret: [48, 8], tuple: [56, 40] } },
  ev_tcp_retransmit: { size: 88, fields: { state: [40, 4], tuple: [48, 40] } },
  ev_runq_delay: { size: 48, fields: { delay_ns: [40, 8] } },
  ev_proc: { size: 64, fields: { child_pid: [40, 4], comm: [48, 16] } },
  ev_tracer_shed: { size: 72, fields: { family: [40, 16], family_pct_x100: [56, 4], total_pct_x100: [60, 4], budget_pct_x100: [64, 4] } },
  ev_pg_phase: { size: 88, fields: { duration_ns: [40, 8], phase: [48, 4], detail0: [56, 8], detail1: [64, 8], run_delay_start_ns: [72, 8], run_delay_ns: [80, 8] } },
  ev_pool_wait: { size: 64, fields: { wait_ns: [40, 8], pool_size: [48, 4], busy: [52, 4], waiting: [56, 4], new_connection: [60, 4] } },
  ev_conn_setup: {
    size: 104,
    fields: { syn_ns: [40, 8], side: [48, 4], rtt_us: [52, 4], retransmits: [56, 4], error: [60, 4], tuple: [64, 40] },
  },
  ev_major_fault: { size: 56, fields: { duration_ns: [40, 8], error_code: [48, 4] } },
  ev_block_io: {
    size: 80,
    fields: { duration_ns: [40, 8], queued_ns: [48, 8], sector: [56, 8], bytes: [64, 4], dev: [68, 4], op: [72, 4], error: [76, 4] },
  },
  ev_offcpu: { size: 64, fields: { duration_ns: [40, 8], syscall_nr: [48, 4], state: [52, 4], futex_addr: [56, 8] } },
  ev_slow_syscall: { size: 64, fields: { duration_ns: [40, 8], ret: [48, 8], syscall_nr: [56, 4] } },
  ev_direct_reclaim: { size: 56, fields: { duration_ns: [40, 8], reclaimed: [48, 8] } },
  ev_net_xmit: { size: 104, fields: { queued_ns: [40, 8], len: [48, 4], ifindex: [52, 4], rc: [56, 4], tuple: [64, 40] } },
} as const satisfies Record<string, StructLayout>;

export type StructName = keyof typeof EVENT_LAYOUT;

/** Which struct each kind's record is. */
export const KIND_STRUCT: Readonly<Record<EventKind, StructName>> = {
  [EventKind.RequestStart]: 'ev_request_start',
  [EventKind.RequestEnd]: 'ev_request_end',
  [EventKind.DbQueryStart]: 'ev_db_query_start',
  [EventKind.DbQueryEnd]: 'ev_db_query_end',
  [EventKind.CacheHit]: 'ev_cache',
  [EventKind.CacheMiss]: 'ev_cache',
  [EventKind.FileOpen]: 'ev_file_open',
  [EventKind.FileClose]: 'event_header',
  [EventKind.RequestKept]: 'ev_request_kept',
  [EventKind.SockRecv]: 'ev_sock_io',
  [EventKind.SockSend]: 'ev_sock_io',
  [EventKind.FileRead]: 'ev_file_io',
  [EventKind.FileWrite]: 'ev_file_io',
  [EventKind.SockAccept]: 'ev_sock_conn',
  [EventKind.SockConnect]: 'ev_sock_conn',
  [EventKind.SockClose]: 'ev_sock_conn',
  [EventKind.TcpRetransmit]: 'ev_tcp_retransmit',
  [EventKind.RunqDelay]: 'ev_runq_delay',
  [EventKind.ProcFork]: 'ev_proc',
  [EventKind.ProcExit]: 'ev_proc',
  [EventKind.PgPhase]: 'ev_pg_phase',
  [EventKind.TracerShed]: 'ev_tracer_shed',
  [EventKind.PoolWait]: 'ev_pool_wait',
  [EventKind.ConnSetup]: 'ev_conn_setup',
  [EventKind.ConnAccept]: 'ev_sock_conn',
  [EventKind.MajorFault]: 'ev_major_fault',
  [EventKind.BlockIo]: 'ev_block_io',
  [EventKind.Offcpu]: 'ev_offcpu',
  [EventKind.SlowSyscall]: 'ev_slow_syscall',
  [EventKind.DirectReclaim]: 'ev_direct_reclaim',
  [EventKind.NetXmit]: 'ev_net_xmit',
};

/**
 * Records that grew at their end in schema 3 (the firing thread's schedstat run_delay): a
 * capture of an older loader holds them at these sizes, read without the new field.
 */
export const SCHEMA2_SIZE: Partial<Record<StructName, number>> = {
  ev_request_start: 168,
  ev_request_end: 56,
  ev_db_query_start: 296,
  ev_db_query_end: 56,
  ev_pg_phase: 72,
};

/** The smallest record size each kind number may have, 0 for a kind this build does not know. */
export function minRecordSizes(): Uint16Array {
  const out = new Uint16Array(0x10000);
  for (const [kind, struct] of Object.entries(KIND_STRUCT)) out[Number(kind)] = SCHEMA2_SIZE[struct] ?? EVENT_LAYOUT[struct].size;
  return out;
}

/** Size of the fixed header every record starts with, bytes. */
export const HEADER_SIZE = EVENT_LAYOUT.event_header.size;
