/* SPDX-License-Identifier: MIT */
/*
 * Maps shared by every family, and the helpers every handler uses. Each family's .bpf.c
 * includes this file, so each skeleton has its own copy of the maps; the loader creates them
 * once (core family) and makes every later skeleton reuse those fds before load.
 */
#ifndef REQTRACE_MAPS_BPF_H
#define REQTRACE_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "events.h"
#include "maps.h"
#include "sizes.h"

#define E2BIG 7

/* (tgid, fd): how fds are named in every per-process map. */
struct fd_key {
	__u32 tgid;
	__s32 fd;
};

enum bind_kind {
	BIND_INBOUND = 1, /* the request's own connection (request_start .. request_end) */
	BIND_DB = 2,      /* a pg connection for one query (db_query_start .. db_query_end) */
	BIND_FILE = 3,    /* a file opened for the request (file_open .. file_close) */
};

struct binding {
	__u8 request_id[16];
	__u32 kind; /* enum bind_kind */
	__u32 tentative; /* followed only provisionally (tail keeping) */
	__u64 start_ns;
	__u64 inode; /* BIND_FILE only */
};

/*
 * Socket reads the app made on an fd no request owned yet: the request bytes themselves, read
 * before the app could fire request_start. Merged into one record, emitted tagged by
 * request_start on the same fd (or dropped there when the request is not sampled).
 */
struct recv_stash {
	__u64 end_ns;      /* exit of the last read */
	__u64 duration_ns; /* summed over the reads */
	__s64 bytes;       /* summed */
	__u64 arrival_ns;  /* first data-ready seen before the first read, 0 if unknown */
	__u32 syscall_nr;
	__u32 tid;
	__u32 calls;
	__u32 _pad;
};

/* What an open fd is, resolved once from the task's fd table and re-checked by file pointer. */
struct fd_info {
	__u64 file;      /* struct file *, to notice the fd number being reused */
	__u64 sk;        /* struct sock *, 0 unless a TCP socket */
	__u64 inode;
	__u32 is_tcp;
	__u32 _pad;
	struct tuple tuple;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RINGBUF_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* tgid → enum proc_role. Filled by the loader, extended at fork by the core family. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_TRACED_PROCS);
	__type(key, __u32);
	__type(value, __u32);
} traced SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_BINDINGS);
	__type(key, struct fd_key);
	__type(value, struct binding);
} req_by_fd SEC(".maps");

/* A hash, not an LRU: an entry pushed out would be request bytes lost without a trace. Entries go
 * at their flush or the fd's close; a full map is counted (sockets_full). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_RECV_STASH);
	__type(key, struct fd_key);
	__type(value, struct recv_stash);
} recv_stash SEC(".maps");

/* A cache: an entry pushed out is resolved again from the fd table, nothing is lost. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_FD_CACHE);
	__type(key, struct fd_key);
	__type(value, struct fd_info);
} fd_cache SEC(".maps");

/* sock pointer → first sk_data_ready since the owner's last read (0: none pending). Keyed by
 * sock because sk_data_ready runs in the sender's context. Syscall hooks only; a hash, emptied
 * at close (inet_sock_set_state), so no arrival is pushed out unseen. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_SK_ARRIVAL);
	__type(key, __u64);
	__type(value, __u64);
} sk_arrival SEC(".maps");

/* The role (enum proc_role) of the traced process listening on each port, a byte a port (byte
 * port % 8 of word port / 8; 0: no lab process listens there), filled by the loader at start: an
 * array, so a test is one inlined load on the hottest paths, and what a socket is can be read off
 * its ports, which sit in its first, hot cache line, before its storage is looked at. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LAB_PORT_ROLE_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} lab_port_roles SEC(".maps");

/* The lowest and highest port in lab_port_roles. A port outside them (a connection's ephemeral
 * end) is no lab process's, known without reading its word of the roles, which nothing else reads
 * and so is a cache miss on nearly every hook that asks (~90–130 ns a socket hook here). */
struct lab_port_span {
	__u16 lo;
	__u16 hi;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lab_port_span);
} lab_port_span SEC(".maps");

static __always_inline __u32 port_role(__u16 port)
{
	__u32 zero = 0, word = port >> 3;
	struct lab_port_span *span = bpf_map_lookup_elem(&lab_port_span, &zero);
	__u64 *roles;

	if (!span || port < span->lo || port > span->hi)
		return 0;
	roles = bpf_map_lookup_elem(&lab_port_roles, &word);
	return roles ? (*roles >> ((port & 7) * 8)) & 0xff : 0;
}

static __always_inline int is_lab_port(__u16 port)
{
	return port_role(port) != 0;
}

/* The role of each thread of a traced process (enum proc_role), in its task storage: one
 * pointer read from any hook that runs in a task's context, where a `traced` lookup would hash.
 * Given at attach by the core family's iterator and at fork by its fork handler. */
struct lab_task {
	__u32 role;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lab_task);
} lab_tasks SEC(".maps");

/* The current thread's runqueue wait so far (schedstat run_delay), ns; 0 where the kernel keeps
 * none (CONFIG_SCHED_INFO off). */
static __always_inline __u64 thread_run_delay(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

	if (!bpf_core_field_exists(t->sched_info.run_delay))
		return 0;
	return BPF_CORE_READ(t, sched_info.run_delay);
}

/* The role of the task the hook runs in; 0: not the lab's. */
static __always_inline __u32 current_role(void)
{
	struct lab_task *t = bpf_task_storage_get(&lab_tasks, bpf_get_current_task_btf(), 0, 0);

	return t ? t->role : 0;
}

/*
 * A PostgreSQL backend's current request (the id in the last statement it parsed, zero: none)
 * and its socket read not yet attributed to one. Written by the postgres family, read by the
 * sockets family, and only while sampling: a backend reads a statement before it parses it, so
 * its reads wait here until the statement's id says whether they are wanted.
 */
struct pg_current {
	__u8 request_id[16];
	__s32 stash_fd; /* -1: no read waiting in recv_stash */
	__u32 _pad;
};

/* An entry pushed out leaves its backend's records emitted, as without sampling: none lost. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_PG_BACKENDS);
	__type(key, __u32);
	__type(value, struct pg_current);
} pg_current SEC(".maps");

/* How many sampled requests the app is serving (app_usdt: request_start/end), and since when
 * that has been above zero. While sampling, the hooks that keep only what sampled requests need
 * (sched, blockio, nginx's upstream arrivals) look at nothing while it is zero. */
struct active_gate {
	__s64 count;
	__u64 opened_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct active_gate);
} sampled_active SEC(".maps");

/* Head sampling: a request is followed when the first 32 bits of its id are below this.
 * 1 << 32 follows every request. Set by the loader from --sample. */
const volatile __u64 targ_sample_threshold = 1ull << 32;

/* Tail keeping (--keep-slower-than): while sampling, requests outside the sample are followed
 * provisionally on the app's side, their records marked EV_TENTATIVE for the loader to keep or
 * drop at their end. */
const volatile __u32 targ_keep = 0;

/* The one slot of a one-slot counter map (an array of one __s64); NULL never in practice. */
#define counter_slot(map)                                                   \
	({                                                                  \
		__u32 __zero = 0;                                           \
		(__s64 *)bpf_map_lookup_elem(&(map), &__zero);              \
	})

/* Below 1, records of requests known to be unsampled are not emitted at all. */
static __always_inline int sampling(void)
{
	return targ_sample_threshold < (1ull << 32);
}

/* Sampling, and the app serves no sampled request now (sampled_active is zero). */
static __always_inline int no_sampled_request(void)
{
	__u32 zero = 0;
	struct active_gate *g;

	if (!sampling())
		return 0;
	g = bpf_map_lookup_elem(&sampled_active, &zero);
	return g && g->count <= 0;
}

static __always_inline int keeping(void)
{
	return targ_keep && sampling();
}

enum follow {
	FOLLOW_NO = 0,
	FOLLOW_YES = 1,       /* in the head sample */
	FOLLOW_TENTATIVE = 2, /* outside it, followed while tail keeping */
};

static __always_inline __u16 kind_of(__u16 kind, int tentative)
{
	return tentative ? kind | EV_TENTATIVE : kind;
}

static __always_inline void count_drop(__u32 counter)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &counter);

	if (n)
		*n += 1;
}

static __always_inline __u32 traced_role(__u32 tgid)
{
	__u32 *role = bpf_map_lookup_elem(&traced, &tgid);

	return role ? *role : 0;
}

static __always_inline void *reserve_event(__u32 size)
{
	void *rec = bpf_ringbuf_reserve(&events, size, 0);

	if (!rec)
		count_drop(DROP_RINGBUF);
	return rec;
}

/* A wakeup per record costs microseconds on the producer; wake only when a batch is pending
 * and let the reader's poll timeout collect the rest. */
static __always_inline void submit_event(void *rec)
{
	__u64 pending = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(rec, pending >= RINGBUF_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP
							       : BPF_RB_NO_WAKEUP);
}

static __always_inline void fill_header(struct event_header *h, __u16 kind, __u16 size,
					__s32 fd, __u64 pid_tgid, __u64 ts_ns)
{
	h->ts_ns = ts_ns;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->kind = kind;
	h->size = size;
	h->fd = fd;
}

static __always_inline void copy_id(__u8 dst[16], const __u8 src[16])
{
	__builtin_memcpy(dst, src, 16);
}

static __always_inline void zero_id(__u8 dst[16])
{
	__builtin_memset(dst, 0, 16);
}

/* Word compares: clang turns a byte loop into a memcmp call the BPF target cannot resolve. */
static __always_inline int same_id(const __u8 a[16], const __u8 b[16])
{
	__u64 a0, a1, b0, b1;

	__builtin_memcpy(&a0, a, 8);
	__builtin_memcpy(&a1, a + 8, 8);
	__builtin_memcpy(&b0, b, 8);
	__builtin_memcpy(&b1, b + 8, 8);
	return a0 == b0 && a1 == b1;
}

static __always_inline int is_zero_id(const __u8 id[16])
{
	__u64 w0, w1;

	__builtin_memcpy(&w0, id, 8);
	__builtin_memcpy(&w1, id + 8, 8);
	return !(w0 | w1);
}

/* The same rule tracer/ applies: the id's first 32 bits (big-endian) below the threshold. */
static __always_inline int sampled_head(__u32 head)
{
	return head < targ_sample_threshold;
}

/* The id's first 32 bits, big-endian: what sampling decides by. */
static __always_inline __u32 id_head(const __u8 id[16])
{
	return ((__u32)id[0] << 24) | ((__u32)id[1] << 16) | ((__u32)id[2] << 8) | id[3];
}

static __always_inline int request_sampled(const __u8 id[16])
{
	return sampled_head(id_head(id));
}

/* The request id from a probe's two id words (its first and last 16 hex digits as numbers),
 * which the addon parses from the id string it also passes. */
static __always_inline void id_of(__u64 hi, __u64 lo, __u8 id[16])
{
	hi = __builtin_bswap64(hi);
	lo = __builtin_bswap64(lo);
	__builtin_memcpy(id, &hi, 8);
	__builtin_memcpy(id + 8, &lo, 8);
}

/* How the request with these id words is followed (enum follow), its id in `id`. */
static __always_inline int follow_id_words(__u64 hi, __u64 lo, __u8 id[16])
{
	id_of(hi, lo, id);
	if (sampled_head(hi >> 32))
		return FOLLOW_YES;
	return keeping() ? FOLLOW_TENTATIVE : FOLLOW_NO;
}

/* Wanted: sampled, or belonging to no known request (kept, as the unattributable work is). */
static __always_inline int id_wanted(const __u8 id[16])
{
	return is_zero_id(id) || request_sampled(id);
}

/* The reads stashed for (tgid, fd), emitted as one receive record tagged with `id` (NULL:
 * untagged) when `emit`, then forgotten either way. */
static __always_inline void flush_recv_stash(__u32 tgid, __s32 fd, const __u8 *id, int emit)
{
	struct fd_key key = { .tgid = tgid, .fd = fd };
	struct recv_stash *st = bpf_map_lookup_elem(&recv_stash, &key);
	struct fd_info *fi;
	struct ev_sock_io *e;

	if (!st)
		return;
	if (!emit)
		goto out;
	e = reserve_event(sizeof(*e));
	if (!e)
		goto out;
	fill_header(&e->h, EV_SOCK_RECV, sizeof(*e), fd, ((__u64)tgid << 32) | st->tid, st->end_ns);
	if (id)
		copy_id(e->h.request_id, id);
	else
		zero_id(e->h.request_id);
	e->duration_ns = st->duration_ns;
	e->bytes = st->bytes;
	e->arrival_ns = st->arrival_ns;
	e->syscall_nr = st->syscall_nr;
	e->syscalls = st->calls;
	fi = bpf_map_lookup_elem(&fd_cache, &key);
	if (fi)
		e->tuple = fi->tuple;
	else
		__builtin_memset(&e->tuple, 0, sizeof(e->tuple));
	submit_event(e);
out:
	bpf_map_delete_elem(&recv_stash, &key);
}

#endif /* REQTRACE_MAPS_BPF_H */
