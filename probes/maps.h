/* SPDX-License-Identifier: MIT */
/*
 * What crosses between the loader and the BPF side through the shared maps (maps.bpf.h): the
 * role of a traced process and the drop counters. Counter numbers may be added, never reused.
 */
#ifndef REQTRACE_MAPS_H
#define REQTRACE_MAPS_H

/* Value of the `traced` map (key: tgid). */
enum proc_role {
	ROLE_APP = 1,      /* the Express app: fires the USDT probes, socket and file I/O tagged */
	ROLE_NGINX = 2,    /* the proxy: socket I/O emitted untagged, joined by 4-tuple later */
	ROLE_POSTGRES = 3, /* postmaster and backends: socket I/O untagged */
};

/* Index into the per-CPU `drops` array. */
enum drop_counter {
	DROP_RINGBUF = 0,       /* bpf_ringbuf_reserve failed: the record is lost */
	DROP_BIND_FULL = 1,     /* req_by_fd full: an fd stayed unbound, its I/O untagged */
	DROP_INFLIGHT_FULL = 2, /* a syscall entry could not be remembered: its exit is lost */
	DROP_BAD_REQUEST_ID = 3,/* a probe carried an id that is not 32 lowercase hex: id left zero */
	DROP_TRACED_FULL = 4,   /* a forked child of a traced process could not be followed */
	DROP_SOCKETS_FULL = 5,  /* sockets: the per-socket state map was full: that socket untraced */
	DROP_DECISIONS_FULL = 6,/* sockets: a connection's sampling decision could not be stored: the
				   proxy's records of it kept, as without sampling */
	DROP_PG_STATE_LOST = 7, /* postgres: a phase ended whose backend state was gone (evicted) */
	DROP_RUNQ_LOST = 8,     /* sched: a thread's runnable time could not be stored */
	DROP_FILES_FULL = 9,    /* files: a file syscall's entry could not be remembered */
	DROP_CONN_FULL = 10,    /* conn: a connection's SYN could not be remembered: no handshake time */
	DROP_BLOCKIO_FULL = 11, /* blockio: a queued block request could not be remembered */
	DROP_FAULTS_FULL = 12,  /* faults: a fault's start could not be remembered */
	DROP_OFFCPU_FULL = 13,  /* offcpu: a thread's switch-out could not be remembered */
	DROP_SLOWSYS_FULL = 14, /* slowsys, reclaim: a syscall's or a reclaim's start could not be remembered */
	DROP_NETDEV_FULL = 15,  /* netdev: a queued packet could not be remembered */
	DROP_COUNTERS = 32,     /* array size; room for other families' counters */
};

/* Names the loader prints for each counter, indexed by enum drop_counter. */
#define DROP_COUNTER_NAMES                                                                   \
	{ [DROP_RINGBUF] = "ringbuf", [DROP_BIND_FULL] = "bind_full",                       \
	  [DROP_INFLIGHT_FULL] = "inflight_full", [DROP_BAD_REQUEST_ID] = "bad_request_id", \
	  [DROP_TRACED_FULL] = "traced_full", [DROP_SOCKETS_FULL] = "sockets_full",           \
	  [DROP_DECISIONS_FULL] = "decisions_full", [DROP_PG_STATE_LOST] = "pg_state_lost",     \
	  [DROP_RUNQ_LOST] = "runq_lost", [DROP_FILES_FULL] = "files_full",                   \
	  [DROP_CONN_FULL] = "conn_full", [DROP_BLOCKIO_FULL] = "blockio_full",               \
	  [DROP_FAULTS_FULL] = "faults_full", [DROP_OFFCPU_FULL] = "offcpu_full",             \
	  [DROP_SLOWSYS_FULL] = "slowsys_full", [DROP_NETDEV_FULL] = "netdev_full" }

#endif /* REQTRACE_MAPS_H */
