/* SPDX-License-Identifier: MIT */
/*
 * Per-socket state for the socket tracepoints (sockets.bpf.c) and the app's probes that bind a
 * socket to a request (app_usdt.bpf.c): keyed by the struct sock, so a hook that sees only the
 * sock (sock_send_length, sock_recv_length, tcp_sendmsg_locked, sk_data_ready) finds in one
 * lookup whose it is, which request its I/O belongs to, and whether that request is wanted.
 *
 * I/O is collected as runs: consecutive calls in one direction for one request are merged in
 * the map value and emitted as one record when the direction or the request changes, when the
 * app's probes end the binding, at close, or by the loader when it stops.
 *
 * Each connection's decision is made once per request where the id is first known: the app's
 * inbound connection at request_start, a pg connection at db_query_start, nginx's upstream
 * connection by the app's decision for the other end of it (conn_decisions), nginx's client
 * connection by the X-Request-ID of the response head it writes. A sampled-out request's later
 * hooks exit after the one lookup.
 */
#ifndef REQTRACE_SOCK_STATE_BPF_H
#define REQTRACE_SOCK_STATE_BPF_H

#include "fd.bpf.h"
#include "sock_state.h"

#define TCP_LISTEN 10
#define TCP_CLOSE_STATE 7
#define IPPROTO_TCP_NUM 6

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct sock_state);
} sk_state SEC(".maps");

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

static __always_inline int is_lab_port(__u16 port)
{
	return bpf_map_lookup_elem(&lab_ports, &port) != NULL;
}

/* A fresh state for a TCP socket; NULL (counted) when the map is full. */
static __always_inline struct sock_state *new_sock_state(__u64 sk, __u32 tgid, __u32 role, __u64 arrival)
{
	struct sock_state fresh = {
		.tgid = tgid,
		.role = role,
		.fd = -1,
		.pending_arrival_ns = arrival,
	};

	read_tuple((struct sock *)sk, &fresh.tuple);
	fresh.accepted = is_lab_port(fresh.tuple.sport);
	if (bpf_map_update_elem(&sk_state, &sk, &fresh, BPF_NOEXIST) == -E2BIG)
		count_drop(DROP_SOCKETS_FULL);
	return bpf_map_lookup_elem(&sk_state, &sk);
}

static __always_inline int is_inet_tcp(struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	return (family == AF_INET || family == AF_INET6) &&
	       BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP_NUM;
}

/*
 * The state of a socket the current process uses: found, or created for a TCP socket of a
 * traced process. A socket first seen by sk_data_ready (a lab port's new connection, before
 * accept) is claimed by the first traced process that uses it. NULL: not ours.
 */
static __always_inline struct sock_state *sock_of(__u64 sk, __u32 tgid)
{
	struct sock_state *st = bpf_map_lookup_elem(&sk_state, &sk);
	__u32 role;

	if (st && st->tgid)
		return st;
	role = traced_role(tgid);
	if (!role)
		return NULL;
	if (st) {
		st->tgid = tgid;
		st->role = role;
		read_tuple((struct sock *)sk, &st->tuple);
		st->accepted = is_lab_port(st->tuple.sport);
		return st;
	}
	if (!is_inet_tcp((struct sock *)sk))
		return NULL;
	return new_sock_state(sk, tgid, role, 0);
}

/* Adds one call to the run in `dir`, starting a new run when the direction changed. */
static __always_inline void run_add(struct sock_state *st, __u32 dir, __u64 start, __u64 end, __s64 bytes,
				    __u32 tid)
{
	if (st->dir != dir || !st->run_calls) {
		st->run_start_ns = start;
		st->run_arrival_ns = dir == DIR_RECV ? st->pending_arrival_ns : 0;
		st->run_bytes = 0;
		st->run_calls = 0;
	}
	st->dir = dir;
	st->run_end_ns = end;
	st->run_bytes += bytes;
	st->run_calls++;
	st->run_tid = tid;
	if (dir == DIR_RECV)
		st->pending_arrival_ns = 0;
}

static __always_inline void run_drop(struct sock_state *st)
{
	st->run_calls = 0;
}

/* Emits the run collected so far (tagged with `id`, NULL: untagged) and starts afresh. */
static __always_inline void run_emit(struct sock_state *st, const __u8 *id)
{
	struct ev_sock_io *e;

	if (!st->run_calls)
		return;
	e = reserve_event(sizeof(*e));
	if (e) {
		fill_header(&e->h, kind_of(st->dir == DIR_RECV ? EV_SOCK_RECV : EV_SOCK_SEND, st->tentative),
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
		submit_event(e);
	}
	st->run_calls = 0;
}

/* The run, tagged with the socket's request when it has one. */
static __always_inline void run_emit_own(struct sock_state *st)
{
	run_emit(st, is_zero_id(st->request_id) ? NULL : st->request_id);
}

#endif /* REQTRACE_SOCK_STATE_BPF_H */
