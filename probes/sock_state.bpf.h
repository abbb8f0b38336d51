/* SPDX-License-Identifier: MIT */
/*
 * Per-socket state for the socket tracepoints (sockets.bpf.c), in the socket's own storage: a hook
 * that sees only the sock (sock_send_length, sock_recv_length, tcp_sendmsg_locked, sk_data_ready)
 * finds whose it is, which request its I/O belongs to and whether that request is wanted by
 * following one pointer; sockets.bpf.c reads a socket's ports first, so a socket it has nothing to
 * follow on costs no storage read at all. The storage
 * goes with the socket, so a reused sock pointer never inherits a state.
 *
 * I/O is collected as runs: consecutive calls in one direction for one request are merged in
 * the state and emitted as one record when the direction or the request changes, at close, or by
 * the loader's drain when tracing stops.
 *
 * Each connection's decision is made once per request where the id is first known: the app's
 * inbound connection at request_start, a pg connection at db_query_start, nginx's upstream
 * connection by the app's decision for the other end of it (conn_decisions), nginx's client
 * connection by the X-Request-ID of the response head it writes. A sampled-out request's later
 * hooks exit after reading the socket's storage; the maps that carry decisions between the app's
 * probes and the hooks (fd_binds, conn_decisions, and the heads nginx's client side waits for)
 * are looked at only while sock_gates counts something in them.
 *
 * The app's probes are uprobes, which cannot reach socket storage: they write each binding into
 * fd_binds by fd, with a version; the socket's next hook applies it (sync_binding). A binding's
 * I/O happens between its probes, so a hook runs between two changes of one socket's binding,
 * and a run is emitted with the binding it was collected under.
 */
#ifndef REQTRACE_SOCK_STATE_BPF_H
#define REQTRACE_SOCK_STATE_BPF_H

#include "fd.bpf.h"
#include "sock_state.h"

#define TCP_LISTEN 10
#define TCP_CLOSE_STATE 7
#define IPPROTO_TCP_NUM 6
#ifndef ENOENT
#define ENOENT 2
#endif
#ifndef EEXIST
#define EEXIST 17
#endif

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sock_state);
} sk_states SEC(".maps");

/* The app's bindings by fd (fd & (BIND_SLOTS - 1)), written in place by its probes. The probes
 * and the socket I/O they bind run on the app's one event-loop thread, one after the other. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BIND_SLOTS);
	__type(key, __u32);
	__type(value, struct sock_bind);
} fd_binds SEC(".maps");

/* A socket the app's probes named for the first time: sk → its fd, until its next hook learns the
 * fd (its state was made before any probe named it). Counted in new_binds_pending, so a hook of a
 * socket whose fd it does not know looks here only while some such socket waits. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_NEW_BINDS);
	__type(key, __u64);
	__type(value, __s32);
} new_binds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} new_binds_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sock_gates);
} sock_gates SEC(".maps");

static __always_inline struct sock_gates *gates(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sock_gates, &zero);
}

/* The data-ready hook runs (set by the sockets family at load): without it no arrival is ever
 * pending, and the hooks leave the arrival fields, on the state's second cache line, alone. */
const volatile __u32 targ_arrivals = 1;

static __always_inline struct sock_bind *fd_bind(__s32 fd)
{
	__u32 slot = (__u32)fd & (BIND_SLOTS - 1);

	return bpf_map_lookup_elem(&fd_binds, &slot);
}

/* The fd the app's probes named `sk` by, when its state does not know it yet; -1: none. Taken
 * once (the entry goes). */
static __always_inline __s32 take_new_bind(__u64 sk)
{
	__s64 *pending = counter_slot(new_binds_pending);
	__s32 *fd, out;

	if (!pending || *pending <= 0)
		return -1;
	fd = bpf_map_lookup_elem(&new_binds, &sk);
	if (!fd)
		return -1;
	out = *fd;
	if (!bpf_map_delete_elem(&new_binds, &sk))
		__sync_fetch_and_add(pending, -1);
	return out;
}

/*
 * How many of the app's pg connections a query holds, or let go of without their socket's hooks
 * having taken that over yet (sock_bind.held). While it is zero and sampling, the hooks of a
 * socket whose remote port is PostgreSQL's stop at the port: no query on it is wanted.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} pg_held SEC(".maps");

/* A pg connection's binding changes hands: counted once while held. */
static __always_inline void hold_pg_bind(struct sock_bind *b, __u64 hold)
{
	__s64 *n;

	if (b->accepted || b->held == hold || !(n = counter_slot(pg_held)))
		return;
	if (__sync_lock_test_and_set(&b->held, hold) != hold)
		__sync_fetch_and_add(n, hold ? 1 : -1);
}

/* The app's inbound connection as seen from its server end: server address and port, client
 * address and port. nginx's upstream socket names the same connection with the ends swapped. */
struct conn_key {
	__u8 server[16];
	__u8 client[16];
	__u16 server_port;
	__u16 client_port;
};

struct conn_decision {
	__u8 request_id[16];
	__u32 wanted;
	__u32 _pad;
};

/* Written by the app's request_start for its inbound connection, read by nginx's side of it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_DECISIONS);
	__type(key, struct conn_key);
	__type(value, struct conn_decision);
} conn_decisions SEC(".maps");

/* A decision for nginx's side of a connection, replacing one it has not consumed; counted in
 * sock_gates.decisions once per entry. */
static __always_inline void put_decision(const struct conn_key *k, const struct conn_decision *d)
{
	struct sock_gates *g = gates();
	long err;

	if (!g)
		return;
	err = bpf_map_update_elem(&conn_decisions, k, d, BPF_EXIST);
	if (err != -ENOENT) {
		if (err)
			count_drop(DROP_DECISIONS_FULL);
		return;
	}
	err = bpf_map_update_elem(&conn_decisions, k, d, BPF_NOEXIST);
	if (!err)
		__sync_fetch_and_add(&g->decisions, 1);
	else if (err != -EEXIST)
		count_drop(DROP_DECISIONS_FULL);
}

/* nginx's side consumes a decision (or its connection ends): 1 when there was one. */
static __always_inline int take_decision(const struct conn_key *k, struct conn_decision *out)
{
	struct sock_gates *g = gates();
	struct conn_decision *d;

	if (!g || *(volatile __s32 *)&g->decisions <= 0)
		return 0;
	d = bpf_map_lookup_elem(&conn_decisions, k);
	if (!d)
		return 0;
	if (out)
		__builtin_memcpy(out, d, sizeof(*out));
	if (!bpf_map_delete_elem(&conn_decisions, k))
		__sync_fetch_and_add(&g->decisions, -1);
	return 1;
}

static __always_inline void conn_key_of(const struct tuple *t, int server_is_local, struct conn_key *k)
{
	if (server_is_local) {
		__builtin_memcpy(k->server, t->saddr, 16);
		__builtin_memcpy(k->client, t->daddr, 16);
		k->server_port = t->sport;
		k->client_port = t->dport;
	} else {
		__builtin_memcpy(k->server, t->daddr, 16);
		__builtin_memcpy(k->client, t->saddr, 16);
		k->server_port = t->dport;
		k->client_port = t->sport;
	}
}

static __always_inline int is_inet_tcp(struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	return (family == AF_INET || family == AF_INET6) &&
	       BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP_NUM;
}

/* Fills a fresh state for `sk` used by `tgid` in `role` (0: nobody yet). */
static __always_inline void init_sock_state(struct sock_state *st, struct sock *sk, __u32 tgid, __u32 role)
{
	st->tgid = tgid;
	st->role = role;
	st->fd = -1;
	read_tuple(sk, &st->tuple);
	st->accepted = is_lab_port(st->tuple.sport);
}

/* A state for `sk`, created empty; NULL (counted) when the kernel has no memory for it. */
static __always_inline struct sock_state *new_sock_state(struct sock *sk)
{
	struct sock_state *st = bpf_sk_storage_get(&sk_states, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);

	if (!st)
		count_drop(DROP_SOCKETS_FULL);
	return st;
}

/*
 * "This process owns this connection" (EV_SOCK_ACCEPT with fd -1): once per PostgreSQL socket,
 * so the assembler knows which backend served a pg connection without PostgreSQL's probes.
 */
static __always_inline void emit_socket_owner(const struct sock_state *st)
{
	struct ev_sock_conn *e = reserve_event(sizeof(*e));

	if (!e)
		return;
	fill_header(&e->h, EV_SOCK_ACCEPT, sizeof(*e), -1, bpf_get_current_pid_tgid(), bpf_ktime_get_ns());
	zero_id(e->h.request_id);
	e->duration_ns = 0;
	e->ret = -1;
	e->tuple = st->tuple;
	submit_event(e);
}

/*
 * The state of a socket the current task uses: found, or made for a socket of a traced process
 * (a socket that is not TCP is marked ignored, so its next hooks stop at the first read). A
 * socket first seen by sk_data_ready (a lab port's new connection, before accept) is claimed by
 * the first traced process that uses it. NULL: not the lab's, or nothing to follow on it.
 */
static __always_inline struct sock_state *sock_of(struct sock *sk)
{
	struct sock_state *st = bpf_sk_storage_get(&sk_states, sk, 0, 0);
	__u32 role;

	if (st && st->tgid)
		return st->role == SOCK_IGNORED ? NULL : st;
	role = current_role();
	if (!role)
		return NULL;
	if (!st) {
		st = new_sock_state(sk);
		if (!st)
			return NULL;
		if (!is_inet_tcp(sk)) {
			st->tgid = bpf_get_current_pid_tgid() >> 32;
			st->role = SOCK_IGNORED;
			return NULL;
		}
	}
	init_sock_state(st, sk, bpf_get_current_pid_tgid() >> 32, role);
	if (role == ROLE_POSTGRES)
		emit_socket_owner(st);
	return st;
}

/* Adds one call to the run in `dir`, starting a new run when the direction changed. */
static __always_inline void run_add(struct sock_state *st, __u32 dir, __u64 start, __u64 end, __s64 bytes,
				    __u32 tid)
{
	if (st->dir != dir || !st->run_calls) {
		st->run_start_ns = start;
		if (targ_arrivals)
			st->run_arrival_ns = dir == DIR_RECV ? st->pending_arrival_ns : 0;
		st->run_bytes = 0;
		st->run_calls = 0;
	}
	st->dir = dir;
	st->run_end_ns = end;
	st->run_bytes += bytes;
	st->run_calls++;
	st->run_tid = tid;
	if (targ_arrivals && dir == DIR_RECV)
		st->pending_arrival_ns = 0;
}

static __always_inline void run_drop(struct sock_state *st)
{
	st->run_calls = 0;
}

/* The record of the run collected in `st`, tagged with `id` (NULL: untagged). */
static __always_inline void fill_sock_io(struct ev_sock_io *e, const struct sock_state *st, const __u8 *id,
					 int tentative)
{
	fill_header(&e->h, kind_of(st->dir == DIR_RECV ? EV_SOCK_RECV : EV_SOCK_SEND, tentative),
		    sizeof(*e), st->fd, ((__u64)st->tgid << 32) | st->run_tid, st->run_end_ns);
	if (id)
		copy_id(e->h.request_id, id);
	else
		zero_id(e->h.request_id);
	e->duration_ns = st->run_end_ns - st->run_start_ns;
	e->bytes = st->run_bytes;
	e->arrival_ns = st->run_arrival_ns;
	e->syscall_nr = 0;
	e->syscalls = st->run_calls;
	e->tuple = st->tuple;
}

/* Emits the run collected so far (tagged with `id`, NULL: untagged) and starts afresh. */
static __always_inline void run_emit(struct sock_state *st, const __u8 *id)
{
	struct ev_sock_io *e;

	if (!st->run_calls)
		return;
	e = reserve_event(sizeof(*e));
	if (e) {
		fill_sock_io(e, st, id, st->tentative);
		submit_event(e);
	}
	st->run_calls = 0;
}

static __always_inline const __u8 *own_id(const struct sock_state *st)
{
	return is_zero_id(st->request_id) ? NULL : st->request_id;
}

/* The run, tagged with the socket's request when it has one. */
static __always_inline void run_emit_own(struct sock_state *st)
{
	run_emit(st, own_id(st));
}

/*
 * Whose the run collected in `st` is, with binding `b` (NULL: none newer) about to take over:
 * 1 when the run is wanted, with its request id in `id` (NULL: untagged). A run goes out under
 * the binding it was collected under; a request's bytes held undecided, under the binding that
 * decides them; nginx's runs no response decided are kept, as without sampling.
 */
static __always_inline int run_owner(const struct sock_state *st, const struct sock_bind *b, const __u8 **id)
{
	*id = NULL;
	if (!st->tgid || !st->run_calls || st->role == ROLE_POSTGRES)
		return 0;
	if (st->decided == SD_WANTED) {
		*id = own_id(st);
		return 1;
	}
	if (st->decided != SD_NONE)
		return 0;
	if (st->role == ROLE_NGINX)
		return 1;
	if (b && b->decided == SD_WANTED && st->accepted && st->dir == DIR_RECV) {
		*id = b->request_id;
		return 1;
	}
	return 0;
}

/* Takes over binding `b`, a newer version than the socket applied: the run so far goes out
 * (run_owner), then the socket follows `b`. */
static __always_inline void apply_binding(struct sock_state *st, struct sock_bind *b)
{
	const __u8 *id;

	if (run_owner(st, b, &id)) {
		if (st->decided != SD_WANTED) {
			st->tentative = b->tentative;
			st->fd = b->fd;
		}
		run_emit(st, id);
	}
	run_drop(st);
	st->bind_ver = b->ver;
	st->fd = b->fd;
	st->tentative = b->tentative;
	st->decided = b->decided;
	copy_id(st->request_id, b->request_id);
	if (!b->accepted) {
		/* A query's response arrives after its binding is taken over, at its first send. */
		if (targ_arrivals)
			st->pending_arrival_ns = 0;
		if (b->decided != SD_WANTED)
			hold_pg_bind(b, 0);
	}
}

/*
 * The app socket's binding, when it changed since the socket's last hook; NULL otherwise. No
 * binding written since the socket last looked (sock_gates.binds, read before the binding: the
 * probes count after they write) means none of its own changed.
 */
static __always_inline struct sock_bind *changed_binding(struct sock_state *st, struct sock *sk)
{
	struct sock_gates *g = gates();
	struct sock_bind *b;
	__s32 fd = st->fd;
	__u32 binds;

	if (!g)
		return NULL;
	binds = *(volatile __u32 *)&g->binds;
	if (binds == st->gate_binds)
		return NULL;
	st->gate_binds = binds;
	if (fd < 0)
		fd = take_new_bind((__u64)sk);
	if (fd < 0)
		return NULL;
	b = fd_bind(fd);
	if (!b || b->sk != (__u64)sk || b->ver == st->bind_ver)
		return NULL;
	return b;
}

/* An app socket takes over what the app's probes bound since its last hook. */
static __always_inline void sync_binding(struct sock_state *st, struct sock *sk)
{
	struct sock_bind *b = changed_binding(st, sk);

	if (b)
		apply_binding(st, b);
}

#endif /* REQTRACE_SOCK_STATE_BPF_H */
