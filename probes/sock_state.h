/* SPDX-License-Identifier: MIT */
/*
 * The per-socket state of the socket tracepoints (sock_state.bpf.h), and the bindings the app's
 * probes give its sockets (app_usdt.bpf.c), which the socket hooks take over when they next see
 * the socket.
 */
#ifndef REQTRACE_SOCK_STATE_H
#define REQTRACE_SOCK_STATE_H

#include "events.h"

enum sock_decision {
	SD_NONE = 0,     /* not decided for the request in progress (its bytes are held) */
	SD_WANTED = 1,
	SD_UNWANTED = 2,
};

enum run_dir {
	DIR_NONE = 0,
	DIR_RECV = 1,
	DIR_SEND = 2,
};

/* What a socket is to the hooks; ROLE_* of enum proc_role for the lab's TCP sockets. */
#define SOCK_IGNORED 0xff /* a traced process's socket that is not TCP/IP: nothing to follow */

/* What every hook reads or writes comes first: socket storage data starts 8 bytes into a cache
 * line, so the first 56 bytes are the line a sampled-out request's hooks touch. The second holds
 * what only the data-ready and start hooks feed (arrivals; at --sample 1, starts). */
struct sock_state {
	__u32 tgid;     /* the traced process using it; 0 until one does */
	__u8 role;      /* enum proc_role of that process, or SOCK_IGNORED */
	__u8 accepted;  /* its local port is a lab listening port: the server side of a connection */
	__u8 decided;   /* enum sock_decision, for the request in progress */
	__u8 dir;       /* enum run_dir: the direction of the last call */
	__u8 parsed;    /* nginx client side: this response's head was looked at */
	__u8 tentative; /* the app's binding is followed only provisionally (tail keeping) */
	__u16 _pad0;
	__s32 fd;       /* the app's fd for it, from its probes; -1 when unknown */
	__u32 run_calls;
	__u32 bind_ver; /* the app's: version of its binding applied */
	__u32 run_tid;  /* thread of the run's last call */
	__u32 gate_binds; /* the app's: sock_gates.binds when it last looked at its binding */
	__u64 run_start_ns;
	__u64 run_end_ns;
	__s64 run_bytes;
	__u64 pending_arrival_ns; /* first data-ready since the last receive */
	__u64 run_arrival_ns;
	__u64 send_start_ns;      /* tcp_sendmsg_locked of the send in progress */
	__u64 recv_start_ns;      /* the first copy of the receive in progress */
	__u8 request_id[16]; /* whose run this is (the app's bindings); zero: untagged */
	struct tuple tuple;
};

/*
 * An app socket's binding: which request (inbound connection) or query (pg connection) the
 * socket on fd `fd` serves now. Kept by fd and written by the app's probes, which cannot reach
 * the socket tracepoints' socket storage; `ver` counts the changes, so a hook compares one number.
 */
struct sock_bind {
	__u64 sk;            /* the struct sock on the fd when the probe named it */
	__u8 request_id[16]; /* zero once unbound */
	__u32 ver;
	__s32 fd;
	__u8 decided;        /* SD_WANTED while bound, SD_UNWANTED after */
	__u8 tentative;
	__u8 accepted;       /* an inbound connection (its local port is a lab port) */
	__u8 _pad0;
	__u32 _pad1;
	__u64 held;          /* a pg connection: bound to a query, or unbound and not yet taken
				over by its socket (counted in pg_held) */
	struct tuple tuple;  /* read once, when the app first named the socket */
};

/*
 * Counts the socket hooks read before the maps they stand for, so that while sampling a request
 * outside the sample costs them no lookup there: one cache line, written only for sampled
 * requests. The loader prints them at the end (a count left above zero is a gate left open).
 */
struct sock_gates {
	__u32 binds;        /* bindings the app's probes have written (bind_sock), ever */
	__s32 decisions;    /* entries in conn_decisions */
	__s64 heads;        /* responses nginx's upstream side found wanted whose head its client
			       side has not written yet (wanted_heads) */
};

#endif /* REQTRACE_SOCK_STATE_H */
