/* SPDX-License-Identifier: MIT */
/*
 * The one event schema: records the BPF programs submit through the ring buffer, that the
 * loader writes unchanged to stdout, and that tracer/event-layout.ts decodes.
 *
 * Rules: fixed-width fields, explicit padding, no bool/long/packed; kind numbers are never
 * renumbered or reused; a new field goes into a new kind or at the end of a payload with the
 * capture version bumped. `make -C probes layout` prints every size and offset; a test compares
 * that output with the TS layout.
 */
#ifndef REQTRACE_EVENTS_H
#define REQTRACE_EVENTS_H

#define REQTRACE_SCHEMA_VERSION 3

#define METHOD_LEN 8
#define PATH_LEN 120
#define QUERY_LEN 256
#define KEY_LEN 64
#define FILE_PATH_LEN 128
#define COMM_LEN 16

enum event_kind {
	/* The app's USDT probes (probes/app_usdt.bpf.c). */
	EV_REQUEST_START = 1,
	EV_REQUEST_END = 2,
	EV_DB_QUERY_START = 3,
	EV_DB_QUERY_END = 4,
	EV_CACHE_HIT = 5,
	EV_CACHE_MISS = 6,
	EV_FILE_OPEN = 7,
	EV_FILE_CLOSE = 8,
	/* Written by the loader, not BPF: a request outside the head sample kept by the tail rule
	 * (--keep-slower-than), just before its records. */
	EV_REQUEST_KEPT = 9,

	/* Kernel socket and file hooks (probes/sockets.bpf.c, probes/files.bpf.c). */
	EV_SOCK_RECV = 20,
	EV_SOCK_SEND = 21,
	EV_FILE_READ = 22,
	EV_FILE_WRITE = 23,
	EV_SOCK_ACCEPT = 24,
	EV_SOCK_CONNECT = 25,
	EV_SOCK_CLOSE = 26,
	EV_TCP_RETRANSMIT = 27,

	/* Scheduler and processes (probes/sched.bpf.c). */
	EV_RUNQ_DELAY = 30,
	EV_PROC_FORK = 31,
	EV_PROC_EXIT = 32,

	/* PostgreSQL's own USDT probes, per backend pid (probes/postgres.bpf.c). */
	EV_PG_PHASE = 40,

	/* Written by the loader: its overhead guard detached a family (--cpu-budget). */
	EV_TRACER_SHED = 50,
};

/*
 * Set in `kind` on the records of a request followed only provisionally (tail keeping, while
 * sampling): the loader holds them until the request's end says whether it is kept, then writes
 * them without the bit, or drops them. Never in a capture.
 */
#define EV_TENTATIVE 0x8000

/* EV_PG_PHASE's `phase`. */
enum pg_phase {
	PG_QUERY = 1,       /* query__start .. query__done (simple protocol) */
	PG_PARSE = 2,       /* query__parse__start .. done (extended protocol carries the SQL here) */
	PG_REWRITE = 3,
	PG_PLAN = 4,
	PG_EXECUTE = 5,
	PG_LOCK_WAIT = 6,   /* lock__wait__start .. done; detail0 = lock tag field 1, detail1 = mode */
	PG_BUFFER_READ = 7, /* buffer__read__start .. done where the block missed shared buffers
			       (only with the loader's --pg-buffers); detail0 = relation file node
			       (pg_class.relfilenode, the oid until the table is rewritten),
			       detail1 = block number */
	PG_SMGR_READ = 8,   /* smgr__md__read__start .. done; detail0 = bytes read,
			       detail1 = relation file node */
	PG_SMGR_WRITE = 9,  /* smgr__md__write__start .. done; detail0 = bytes written,
			       detail1 = relation file node */
	PG_TXN_COMMIT = 10, /* transaction__commit (instant, duration 0); detail0 = local xid */
};

/*
 * Every record starts with this header. Times are CLOCK_MONOTONIC nanoseconds
 * (bpf_ktime_get_ns); for an interval, ts_ns is its end and the payload's duration_ns its length.
 * request_id is the 32-hex-digit request id as 16 bytes, all zero when the event belongs to no
 * known request (for example nginx's socket I/O, joined later by 4-tuple).
 */
struct event_header {
	__u64 ts_ns;
	__u8 request_id[16];
	__u32 pid; /* tgid */
	__u32 tid;
	__u16 kind;
	__u16 size; /* of the whole record, header included */
	__s32 fd;   /* -1 when the event has none */
};

/* IPv4 addresses are stored as IPv4-mapped IPv6 (::ffff:a.b.c.d). Ports in host order. */
struct tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u16 family; /* AF_INET or AF_INET6 */
	__u16 _pad;
};

/*
 * run_delay_ns (schema 3 on): the firing thread's runqueue wait so far (schedstat run_delay, ns),
 * 0 where the kernel keeps none. Between two records of one thread, its difference is how long the
 * thread waited for a CPU in between, with no scheduler hook attached.
 */
struct ev_request_start {
	struct event_header h;
	char method[METHOD_LEN];
	char path[PATH_LEN];
	__u64 run_delay_ns;
};

struct ev_request_end {
	struct event_header h;
	__u32 status;
	__u32 _pad;
	__u64 duration_us;
	__u64 run_delay_ns;
};

/* EV_REQUEST_KEPT's `reason`. */
enum keep_reason {
	KEEP_SLOW = 1,  /* the app's duration reached the threshold */
	KEEP_ERROR = 2, /* a 5xx status */
};

struct ev_request_kept {
	struct event_header h;
	__u32 reason;        /* enum keep_reason */
	__u32 complete;      /* 0: some of its records did not fit the loader's buffer */
	__u64 threshold_us;
};

struct ev_db_query_start {
	struct event_header h;
	char query[QUERY_LEN];
	__u64 run_delay_ns;
};

struct ev_db_query_end {
	struct event_header h;
	__u64 duration_us;
	__u64 rows;
	__u64 run_delay_ns;
};

/* EV_CACHE_HIT and EV_CACHE_MISS. */
struct ev_cache {
	struct event_header h;
	char key[KEY_LEN];
};

/* EV_FILE_OPEN; EV_FILE_CLOSE is a bare header. */
struct ev_file_open {
	struct event_header h;
	char path[FILE_PATH_LEN];
};

/*
 * EV_SOCK_RECV and EV_SOCK_SEND: a run of socket I/O in one direction on one socket for one
 * request, `syscalls` calls merged (with the syscall hooks often one call; schema 1 wrote 0 there,
 * meaning one). ts_ns is the end of the last call, duration_ns back to the start of the first
 * (a receive's start is its first call's end when the hook sees only ends).
 */
struct ev_sock_io {
	struct event_header h;
	__u64 duration_ns;
	__s64 bytes;        /* summed; a single call's -errno when it failed */
	__u64 arrival_ns;   /* recv: first sk_data_ready since the previous read, 0 if unknown */
	__u32 syscall_nr;   /* the syscall, 0 when the socket tracepoints saw it */
	__u32 syscalls;
	struct tuple tuple; /* local = s*, remote = d* */
};

/* EV_FILE_READ and EV_FILE_WRITE. */
struct ev_file_io {
	struct event_header h;
	__u64 duration_ns;
	__s64 bytes;
	__u64 inode;
	__u32 syscall_nr;
	__u32 _pad;
};

/* EV_SOCK_ACCEPT, EV_SOCK_CONNECT and EV_SOCK_CLOSE: the fd's 4-tuple, cached while it is open. */
struct ev_sock_conn {
	struct event_header h;
	__u64 duration_ns;
	__s64 ret;
	struct tuple tuple;
};

/* Runs from timers and softirqs, in no process's context: pid, tid 0, fd -1, no request id;
 * joined to requests by 4-tuple. */
struct ev_tcp_retransmit {
	struct event_header h;
	__u32 state;
	__u32 _pad;
	struct tuple tuple;
};

/* A thread of a traced process waited this long on a runqueue before running (ts_ns: when it
 * got the CPU). Only waits of at least the sched family's floor (100 us) are recorded, and while
 * sampling only those of a process serving a sampled request; no request id: tracer/
 * attributes them to requests by time overlap. */
struct ev_runq_delay {
	struct event_header h;
	__u64 delay_ns;
};

/* EV_PROC_FORK (pid = parent, child_pid = new process) and EV_PROC_EXIT (pid = the process
 * that exited, child_pid 0). comm: the child's at fork, the process's at exit. */
struct ev_proc {
	struct event_header h;
	__u32 child_pid;
	__u32 _pad;
	char comm[COMM_LEN];
};

/* EV_TRACER_SHED: from ts_ns on, `family` recorded nothing more. Shares in hundredths of a % of
 * the traced processes' CPU without tracing, over the second before. pid: the loader's. */
struct ev_tracer_shed {
	struct event_header h;
	char family[16];
	__u32 family_pct_x100;
	__u32 total_pct_x100;
	__u32 budget_pct_x100;
	__u32 _pad;
};

/* run_delay_start_ns, run_delay_ns (schema 3 on): the backend's schedstat run_delay when the
 * phase started and when it ended, as on the app's records. */
struct ev_pg_phase {
	struct event_header h;
	__u64 duration_ns;
	__u32 phase;
	__u32 _pad;
	__u64 detail0;
	__u64 detail1;
	__u64 run_delay_start_ns;
	__u64 run_delay_ns;
};

#endif /* REQTRACE_EVENTS_H */
