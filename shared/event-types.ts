/**
 * Decoded events: the TypeScript view of probes/events.h. Times stay nanosecond `bigint`s on
 * the CLOCK_MONOTONIC base until an exporter converts them once, at the edge.
 */

/** Kind numbers from probes/events.h. Never renumbered. */
/** REQTRACE_SCHEMA_VERSION of probes/events.h: the record layout this decoder reads. */
export const EVENT_SCHEMA_VERSION = 3;

export const EventKind = {
  RequestStart: 1,
  RequestEnd: 2,
  DbQueryStart: 3,
  DbQueryEnd: 4,
  CacheHit: 5,
  CacheMiss: 6,
  FileOpen: 7,
  FileClose: 8,
  RequestKept: 9,
  SockRecv: 20,
  SockSend: 21,
  FileRead: 22,
  FileWrite: 23,
  SockAccept: 24,
  SockConnect: 25,
  SockClose: 26,
  TcpRetransmit: 27,
  RunqDelay: 30,
  ProcFork: 31,
  ProcExit: 32,
  PgPhase: 40,
  TracerShed: 50,
  PoolWait: 60,
  ConnSetup: 61,
  ConnAccept: 62,
  MajorFault: 63,
  BlockIo: 64,
  Offcpu: 65,
  SlowSyscall: 66,
  DirectReclaim: 67,
  NetXmit: 68,
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

/** `reason` of a RequestKept event, from probes/events.h `enum keep_reason`. */
export const KeepReason = {
  Slow: 1,
  Error: 2,
} as const;
export type KeepReason = (typeof KeepReason)[keyof typeof KeepReason];

/** `phase` of a PgPhase event, from probes/events.h `enum pg_phase`. */
export const PgPhase = {
  Query: 1,
  Parse: 2,
  Rewrite: 3,
  Plan: 4,
  Execute: 5,
  LockWait: 6,
  BufferRead: 7,
  SmgrRead: 8,
  SmgrWrite: 9,
  TxnCommit: 10,
} as const;
export type PgPhase = (typeof PgPhase)[keyof typeof PgPhase];

/** `side` of a ConnSetup event, from probes/events.h `enum conn_side`. */
export const ConnSide = {
  Server: 1,
  Client: 2,
} as const;
export type ConnSide = (typeof ConnSide)[keyof typeof ConnSide];

/** `state` of an Offcpu event, from probes/events.h `enum offcpu_state`. */
export const OffcpuState = {
  Sleep: 1,
  Blocked: 2,
  Iowait: 3,
} as const;
export type OffcpuState = (typeof OffcpuState)[keyof typeof OffcpuState];

/** Offcpu `syscallNr` when the thread slept outside a syscall (OFFCPU_NO_SYSCALL). */
export const NO_SYSCALL = 0xffffffff;

/** Fields every event has. */
export interface EventHeader {
  /** End of the event (CLOCK_MONOTONIC ns). */
  readonly tsNs: bigint;
  /** 32 lowercase hex digits, or '' when the kernel could not tag the event with a request. */
  readonly requestId: string;
  readonly pid: number;
  readonly tid: number;
  /** -1 when the event has no fd. */
  readonly fd: number;
}

/** A socket's endpoints; addresses as printed by `ss` (IPv4 dotted, IPv6 bracket-free). */
export interface Tuple {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** On the app's request and query records and PostgreSQL's phases (schema 3 on). */
export interface ThreadRunDelay {
  /**
   * The firing thread's runqueue wait so far (schedstat run_delay), ns; 0n where the kernel keeps
   * none, undefined in older captures. Between two records of one thread, the difference is how
   * long it waited for a CPU in between.
   */
  readonly runDelayNs?: bigint | undefined;
}

export type TraceEvent =
  | (EventHeader & ThreadRunDelay & { readonly kind: typeof EventKind.RequestStart; readonly method: string; readonly path: string })
  | (EventHeader & ThreadRunDelay & { readonly kind: typeof EventKind.RequestEnd; readonly status: number; readonly durationUs: bigint })
  | (EventHeader & ThreadRunDelay & { readonly kind: typeof EventKind.DbQueryStart; readonly query: string })
  | (EventHeader & ThreadRunDelay & { readonly kind: typeof EventKind.DbQueryEnd; readonly durationUs: bigint; readonly rows: bigint })
  | (EventHeader & { readonly kind: typeof EventKind.CacheHit | typeof EventKind.CacheMiss; readonly key: string })
  | (EventHeader & { readonly kind: typeof EventKind.FileOpen; readonly path: string })
  | (EventHeader & { readonly kind: typeof EventKind.FileClose })
  | (EventHeader & {
      readonly kind: typeof EventKind.RequestKept;
      /** Why a request outside the head sample was kept (tail keeping). */
      readonly reason: KeepReason;
      /** False when some of its records did not fit the loader's hold. */
      readonly complete: boolean;
      readonly thresholdUs: bigint;
    })
  | (EventHeader & {
      readonly kind: typeof EventKind.SockRecv | typeof EventKind.SockSend;
      readonly durationNs: bigint;
      readonly bytes: bigint;
      /** recv only: when the data became readable (first sk_data_ready), 0n if unknown. */
      readonly arrivalNs: bigint;
      /** The syscall, 0 when the socket tracepoints (not the syscall ones) saw the I/O. */
      readonly syscallNr: number;
      /** Calls merged into this record (a run in one direction), at least 1. */
      readonly syscalls: number;
      readonly tuple: Tuple;
    })
  | (EventHeader & {
      readonly kind: typeof EventKind.FileRead | typeof EventKind.FileWrite;
      readonly durationNs: bigint;
      readonly bytes: bigint;
      readonly inode: bigint;
      readonly syscallNr: number;
    })
  | (EventHeader & {
      readonly kind: typeof EventKind.SockAccept | typeof EventKind.SockConnect | typeof EventKind.SockClose;
      readonly durationNs: bigint;
      readonly ret: bigint;
      readonly tuple: Tuple;
    })
  | (EventHeader & { readonly kind: typeof EventKind.TcpRetransmit; readonly state: number; readonly tuple: Tuple })
  | (EventHeader & { readonly kind: typeof EventKind.RunqDelay; readonly delayNs: bigint })
  | (EventHeader & {
      readonly kind: typeof EventKind.ProcFork | typeof EventKind.ProcExit;
      readonly childPid: number;
      readonly comm: string;
    })
  | (EventHeader & {
      readonly kind: typeof EventKind.TracerShed;
      /** The family the overhead guard detached at tsNs (--cpu-budget): nothing of it after. */
      readonly family: string;
      /** Its share and tracing's total, % of the traced processes' CPU without tracing, and the budget. */
      readonly familyPct: number;
      readonly totalPct: number;
      readonly budgetPct: number;
    })
  | (EventHeader &
      ThreadRunDelay & {
      readonly kind: typeof EventKind.PgPhase;
      readonly phase: PgPhase;
      readonly durationNs: bigint;
      readonly detail0: bigint;
      readonly detail1: bigint;
      /** The backend's schedstat run_delay when the phase started (schema 3 on; runDelayNs: when it ended). */
      readonly runDelayStartNs?: bigint | undefined;
    })
  | (EventHeader & {
      /** A request waited for a pool connection; tsNs: it got one, fd: that connection. */
      readonly kind: typeof EventKind.PoolWait;
      readonly waitNs: bigint;
      /** The pool's maximum, the connections checked out and the requests queued when it asked. */
      readonly poolSize: number;
      readonly busy: number;
      readonly waiting: number;
      /** The pool opened a new connection for it: the wait holds its setup. */
      readonly newConnection: boolean;
    })
  | (EventHeader & {
      /** A TCP handshake completed (or a connect failed); tsNs: established. */
      readonly kind: typeof EventKind.ConnSetup;
      /** The client's SYN left, 0n when not seen. */
      readonly synNs: bigint;
      readonly side: ConnSide;
      readonly rttUs: number;
      readonly retransmits: number;
      /** 0, or the connect's -errno. */
      readonly error: number;
      readonly tuple: Tuple;
    })
  | (EventHeader & {
      /** A process (pid, fd) took the connection from its listener's accept queue at tsNs. */
      readonly kind: typeof EventKind.ConnAccept;
      readonly durationNs: bigint;
      readonly ret: bigint;
      readonly tuple: Tuple;
    })
  | (EventHeader & { readonly kind: typeof EventKind.MajorFault; readonly durationNs: bigint; readonly errorCode: number })
  | (EventHeader & {
      /** A block request the thread (pid, tid) queued; tsNs: completion. */
      readonly kind: typeof EventKind.BlockIo;
      /** Issued → complete. */
      readonly durationNs: bigint;
      /** Inserted → issued, 0n when issued at once. */
      readonly queuedNs: bigint;
      readonly sector: bigint;
      readonly bytes: number;
      readonly dev: number;
      /** 0 read, 1 write, 2 flush, 3 discard. */
      readonly op: number;
      readonly error: number;
    })
  | (EventHeader & {
      /** The thread was off CPU (not runnable) until tsNs; durationNs includes its runqueue wait after waking. */
      readonly kind: typeof EventKind.Offcpu;
      readonly durationNs: bigint;
      /** The syscall it slept in, NO_SYSCALL when none. */
      readonly syscallNr: number;
      readonly state: OffcpuState;
      /** futex: the futex word's address, else 0n. */
      readonly futexAddr: bigint;
    })
  | (EventHeader & { readonly kind: typeof EventKind.SlowSyscall; readonly durationNs: bigint; readonly ret: bigint; readonly syscallNr: number })
  | (EventHeader & { readonly kind: typeof EventKind.DirectReclaim; readonly durationNs: bigint; readonly reclaimed: bigint })
  | (EventHeader & {
      /** A packet of a lab socket left through a device at tsNs. */
      readonly kind: typeof EventKind.NetXmit;
      /** Handed to the device layer (its qdisc), 0n when not seen. */
      readonly queuedNs: bigint;
      readonly len: number;
      readonly ifindex: number;
      readonly rc: number;
      readonly tuple: Tuple;
    });

export type EventOf<K extends EventKind> = Extract<TraceEvent, { kind: K }>;
