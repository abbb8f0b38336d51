/* SPDX-License-Identifier: MIT */
/*
 * The one event schema: records the BPF programs submit through the ring buffer, that the
 * loader writes unchanged to stdout, and that shared/event-layout.ts decodes.
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

	/* The app's connection pool (probes/app_pool.bpf.c). */
	EV_POOL_WAIT = 60,
	/* Connection setup on the lab's ports and the app's own connects (probes/conn.bpf.c). */
	EV_CONN_SETUP = 61,
	EV_CONN_ACCEPT = 62,
	/* What else a thread of the lab waited for (probes/<family>.bpf.c, named at each struct). */
	EV_MAJOR_FAULT = 63,
	EV_BLOCK_IO = 64,
	EV_OFFCPU = 65,
	EV_SLOW_SYSCALL = 66,
	EV_DIRECT_RECLAIM = 67,
	EV_NET_XMIT = 68,
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

/* EV_SOCK_ACCEPT, EV_SOCK_CONNECT and EV_SOCK_CLOSE: the fd's 4-tuple, cached while it is open.
 * EV_SOCK_ACCEPT with fd -1: the process (a PostgreSQL backend) owns the connection, fd unknown. */
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

/*
 * EV_POOL_WAIT: a request asked the app's PostgreSQL pool for a connection and got one (the app's
 * pool_wait probe). ts_ns: when it got it; fd: that connection's socket, -1 when unknown.
 */
struct ev_pool_wait {
	struct event_header h;
	__u64 wait_ns;        /* from asking to getting */
	__u32 pool_size;      /* the pool's maximum */
	__u32 busy;           /* connections checked out when it asked */
	__u32 waiting;        /* requests already queued for one when it asked */
	__u32 new_connection; /* 1: the pool opened a new connection for it (the wait holds its setup) */
};

/* EV_CONN_SETUP's `side`. */
enum conn_side {
	CONN_SERVER = 1, /* accepted on a lab listening port (nginx's, the app's, PostgreSQL's) */
	CONN_CLIENT = 2, /* a traced process connected out (the app's pool, nginx's upstream) */
};

/*
 * EV_CONN_SETUP: a TCP handshake of the lab completed or failed (sock:inet_sock_set_state).
 * Server side: ts_ns is when the client's final ACK came in and the connection joined its
 * listener's accept queue; pid 0 (it happens in softirq). Client side: ts_ns is when the SYN-ACK
 * came in (or the attempt failed); pid/tid the process that called connect(). fd -1.
 */
struct ev_conn_setup {
	struct event_header h;
	__u64 syn_ns;        /* the client's SYN left (its connect()), 0 when not seen (a remote client) */
	__u32 side;          /* enum conn_side */
	__u32 rtt_us;        /* smoothed RTT when established: server SYN-ACK → ACK, client SYN → SYN-ACK */
	__u32 retransmits;   /* SYN-ACK (server) or SYN (client) retransmissions */
	__s32 error;         /* 0: established; -ECONNREFUSED etc.: the client's attempt ended in CLOSE */
	struct tuple tuple;  /* local = s*, remote = d* */
};

/*
 * EV_CONN_ACCEPT (struct ev_sock_conn, duration 0, ret = the fd): a process took this connection
 * from its listener's accept queue. pid/tid/fd: the acceptor's.
 */

/* EV_MAJOR_FAULT: a thread of a traced process waited for a page to be read in (probes/faults.bpf.c).
 * ts_ns: the fault's end. */
struct ev_major_fault {
	struct event_header h;
	__u64 duration_ns;
	__u32 error_code; /* the CPU's page-fault error code (bit 1: write, bit 4: instruction fetch) */
	__u32 _pad;
};

/* EV_BLOCK_IO: a block request put in the queue by a thread of a traced process completed
 * (probes/blockio.bpf.c). pid/tid: that thread; ts_ns: completion; fd -1. */
struct ev_block_io {
	struct event_header h;
	__u64 duration_ns; /* issued to the device → complete */
	__u64 queued_ns;   /* inserted → issued (the block layer's queue), 0 when issued at once */
	__u64 sector;
	__u32 bytes;
	__u32 dev;         /* the kernel's dev_t: major << 20 | minor */
	__u32 op;          /* REQ_OP_*: 0 read, 1 write, 2 flush, 3 discard */
	__s32 error;       /* blk_status_t, 0: ok */
};

/* EV_OFFCPU's `state`: how the thread left the CPU. */
enum offcpu_state {
	OFFCPU_SLEEP = 1,     /* interruptible sleep (a wait it asked for: poll, futex, recv) */
	OFFCPU_BLOCKED = 2,   /* uninterruptible, not I/O (a kernel lock, a page being locked) */
	OFFCPU_IOWAIT = 3,    /* uninterruptible waiting for I/O (disk) */
};

/* EV_OFFCPU: a thread of a traced process was off CPU, not runnable, at least the offcpu family's
 * floor (probes/offcpu.bpf.c). ts_ns: back on a CPU; duration_ns includes the runqueue wait after
 * its wakeup (an EV_RUNQ_DELAY ending at the same ts_ns when the sched family saw it). */
struct ev_offcpu {
	struct event_header h;
	__u64 duration_ns;
	__u32 syscall_nr; /* the syscall it slept in, OFFCPU_NO_SYSCALL when none */
	__u32 state;      /* enum offcpu_state */
	__u64 futex_addr; /* syscall futex: the futex word's address (a lock's identity), else 0 */
};

#define OFFCPU_NO_SYSCALL 0xffffffffu

/* EV_SLOW_SYSCALL: a syscall of a traced thread took at least the slowsys family's threshold
 * (probes/slowsys.bpf.c). ts_ns: its exit; fd: its first argument for calls on an fd, else -1. */
struct ev_slow_syscall {
	struct event_header h;
	__u64 duration_ns;
	__s64 ret;
	__u32 syscall_nr;
	__u32 _pad;
};

/* EV_DIRECT_RECLAIM: a thread of a traced process had to free memory itself before its
 * allocation could go on (probes/reclaim.bpf.c). ts_ns: the reclaim's end. */
struct ev_direct_reclaim {
	struct event_header h;
	__u64 duration_ns;
	__u64 reclaimed; /* pages */
};

/* EV_NET_XMIT: a packet of a lab TCP socket left through a network device (probes/netdev.bpf.c).
 * ts_ns: the driver took it (net_dev_xmit); pid: the socket's process when known, else 0; fd -1. */
struct ev_net_xmit {
	struct event_header h;
	__u64 queued_ns;    /* handed to the device layer (net_dev_queue), 0 when not seen */
	__u32 len;          /* bytes on the wire, headers included */
	__u32 ifindex;
	__s32 rc;           /* the driver's return (0: NETDEV_TX_OK) */
	__u32 _pad;
	struct tuple tuple; /* the socket's: local = s*, remote = d* */
};

#endif /* REQTRACE_EVENTS_H */
