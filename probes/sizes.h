/* SPDX-License-Identifier: MIT */
/* Every map and buffer size, in one place. Included by BPF and user-space code. */
#ifndef REQTRACE_SIZES_H
#define REQTRACE_SIZES_H

/* Ring buffer shared by every family: 16 MiB holds ~100k socket records, about a second of a
 * saturated lab, so the reader's poll never lets it fill under normal load. */
#define RINGBUF_BYTES (16u << 20)
/* Wake the reader only once this much is pending; otherwise the poll timeout collects it. */
#define RINGBUF_WAKEUP_BYTES (1u << 20)
/* Reader poll timeout, milliseconds: the worst-case delivery delay with batched wakeups, a second
 * (live enough for the metrics). A wakeup costs the loader 100-300 µs of CPU on a VM whatever it
 * then reads, so the reader wakes once a timeout, or when RINGBUF_WAKEUP_BYTES are pending; while
 * sampling, when few records come, once in RINGBUF_POLL_SAMPLING_MS. The end of a --duration, the
 * app's exit and the parent's wake it at once whatever the timeout. */
#define RINGBUF_POLL_MS 1000
#define RINGBUF_POLL_SAMPLING_MS 5000

#define MAX_TRACED_PROCS 4096   /* tgids: app, nginx master + workers, postmaster + backends */
#define MAX_BINDINGS 16384      /* (tgid, fd) → request: inbound sockets, pg sockets, files */
#define MAX_RECV_STASH 8192     /* unbound socket reads waiting for request_start (syscall hooks) */
#define MAX_FD_CACHE 16384      /* (tgid, fd) → file pointer, socket, 4-tuple (LRU) */
#define MAX_SK_ARRIVAL 16384    /* sock pointer → first data-ready time (syscall hooks) */
#define MAX_INFLIGHT 8192       /* threads inside a traced syscall, per family */

#define MAX_NGINX_PIDS 64       /* --nginx-pid may be given this often */

#define MAX_RUNQ_THREADS 16384  /* tid → runnable since, for traced threads (raw_tp sched) */
#define MAX_PG_BACKENDS 512     /* PostgreSQL processes with the USDT probes attached at once */
#define MAX_PG_PROBE_SITES 128  /* PostgreSQL USDT sites attached per backend (~25 used) */
#define MAX_LAB_PORTS 64        /* listening ports of traced processes (arrivals, retransmits) */
#define LAB_PORT_ROLE_WORDS 8192 /* lab_port_roles: 65536 ports, a role byte each, 8 a word */
#define LAB_FAST_PORTS 8        /* lab ports the socket hooks compare in registers (sockets.bpf.c) */
#define MAX_NGINX_BINDINGS 8192 /* nginx (tgid, fd) → request, while sampling (LRU) */
#define MAX_SOCKS 32768         /* TCP sockets of traced processes (syscall hooks' caches) */
#define BIND_SLOTS 1024         /* the app's socket bindings, by fd (a power of two) */
#define MAX_NEW_BINDS 4096      /* sockets the app's probes named that their hooks have not seen since */
#define MAX_DECISIONS 16384     /* app connections' sampling decisions, read by the proxy's side */
#define TAIL_KEEP_BYTES (64u << 20) /* the loader's hold on provisional records (tail keeping) */
#define MAX_CONN_PENDING 4096   /* connections of the lab between SYN and established (conn) */
#define MAX_INFLIGHT_IO 4096    /* block requests, faults, reclaims, syscalls, packets in progress */

#endif /* REQTRACE_SIZES_H */
