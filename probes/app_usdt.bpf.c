// SPDX-License-Identifier: MIT
/*
 * The app's USDT probes (provider `reqtrace`, in the addon). Each probe emits its record and
 * keeps the bindings current: request_start/end bind the inbound connection, db_query_start/end
 * the pg connection for one query, file_open/close a file; (tgid, fd) in req_by_fd, and with the
 * socket tracepoints (targ_sock_hooks) the socket's own state too (sock_state.bpf.h).
 *
 * The sampling decision is made here, once per request: request_start decides its inbound
 * connection and, while sampling, tells nginx's end of it through conn_decisions (consumed there
 * once; no entry means not sampled). A request outside the sample emits a bare request_start and
 * its request_end and binds nothing: its inbound socket's held bytes go when the response starts
 * (sockets.bpf.c), and its other probes stop after reading the id's first 8 hex digits. While
 * tail keeping, such a request is followed all the same on the app's side, its records marked
 * EV_TENTATIVE (the loader keeps them if the request ends slow or failed).
 */
#include "sock_state.bpf.h"
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u32 targ_app_tgid = 0;
/* The sockets family runs on the socket tracepoints: sockets are bound by their struct sock. */
const volatile __u32 targ_sock_hooks = 0;

static __always_inline void bind_fd(__u32 tgid, __s32 fd, const __u8 id[16], __u32 kind,
				    __u64 now, __u64 inode, __u64 sk, int tentative)
{
	struct fd_key key = { .tgid = tgid, .fd = fd };
	struct binding b = { .kind = kind, .tentative = tentative, .start_ns = now, .inode = inode, .sk = sk };

	copy_id(b.request_id, id);
	if (bpf_map_update_elem(&req_by_fd, &key, &b, BPF_ANY))
		count_drop(DROP_BIND_FULL);
}

/* Unbinds only this request's binding: a stale probe must not unbind the fd's next owner.
 * Returns the socket the binding named (0: none). */
static __always_inline __u64 unbind_fd(__u32 tgid, __s32 fd, const __u8 id[16])
{
	struct fd_key key = { .tgid = tgid, .fd = fd };
	struct binding *b = bpf_map_lookup_elem(&req_by_fd, &key);
	__u64 sk;

	if (!b || !same_id(b->request_id, id))
		return 0;
	sk = b->sk;
	bpf_map_delete_elem(&req_by_fd, &key);
	return sk;
}

static __always_inline void count_active(__s64 delta)
{
	__u32 zero = 0;
	struct active_gate *g = bpf_map_lookup_elem(&sampled_active, &zero);

	if (!g)
		return;
	if (__sync_fetch_and_add(&g->count, delta) <= 0 && delta > 0)
		g->opened_ns = bpf_ktime_get_ns();
	/* A request_end without its start (attached mid-request) must not go below zero for long:
	 * the next start corrects it. */
	if (g->count < 0)
		g->count = 0;
}

/* "fd `fd` holds this connection": emitted when the app's probes first name a socket's fd. */
static __always_inline void emit_fd_bound(struct sock_state *st, __u64 pid_tgid, __u64 now)
{
	struct ev_sock_conn *e = reserve_event(sizeof(*e));

	if (!e)
		return;
	fill_header(&e->h, EV_SOCK_ACCEPT, sizeof(*e), st->fd, pid_tgid, now);
	zero_id(e->h.request_id);
	e->duration_ns = 0;
	e->ret = st->fd;
	e->tuple = st->tuple;
	submit_event(e);
}

/* The state of the app's socket on `fd`, resolved through its fd table once per binding. */
static __always_inline struct sock_state *app_sock(__u32 tgid, __s32 fd, __u64 pid_tgid, __u64 now, __u64 *sk)
{
	struct fd_info *fi = resolve_fd(tgid, fd);
	struct sock_state *st;

	*sk = 0;
	if (!fi || !fi->sk)
		return NULL;
	st = sock_of(fi->sk, tgid);
	if (!st)
		return NULL;
	*sk = fi->sk;
	if (st->fd != fd) {
		st->fd = fd;
		if (st->accepted)
			emit_fd_bound(st, pid_tgid, now);
	}
	return st;
}

/* A followed request's inbound socket: the held request bytes go out tagged, and for a sampled
 * one nginx's end of the connection learns the request is wanted. */
static __always_inline __u64 bind_inbound(__u32 tgid, __s32 fd, const __u8 id[16], int tentative,
					  __u64 pid_tgid, __u64 now)
{
	__u64 sk;
	struct sock_state *st = app_sock(tgid, fd, pid_tgid, now, &sk);

	if (!st)
		return 0;
	copy_id(st->request_id, id);
	st->decided = SD_WANTED;
	st->tentative = tentative;
	if (st->dir == DIR_RECV)
		run_emit_own(st);
	if (sampling() && !tentative) {
		struct conn_key k;
		struct conn_decision d = { .wanted = 1 };

		copy_id(d.request_id, id);
		conn_key_of(&st->tuple, 1, &k);
		if (bpf_map_update_elem(&conn_decisions, &k, &d, BPF_ANY))
			count_drop(DROP_DECISIONS_FULL);
	}
	return sk;
}

/* The end of a binding: its socket's run goes out tagged, and nothing more is wanted on it. */
static __always_inline void end_sock_binding(__u64 sk, const __u8 id[16])
{
	struct sock_state *st;

	if (!sk)
		return;
	st = bpf_map_lookup_elem(&sk_state, &sk);
	if (!st || !same_id(st->request_id, id))
		return;
	if (st->decided == SD_WANTED)
		run_emit_own(st);
	run_drop(st);
	zero_id(st->request_id);
	st->decided = SD_UNWANTED;
	st->tentative = 0;
}

SEC("usdt")
int BPF_USDT(request_start, const char *id_str, const char *method, const char *path, int fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u64 now = bpf_ktime_get_ns();
	struct fd_key key = { .tgid = tgid, .fd = fd };
	struct ev_request_start *e;
	__u64 sk = 0;
	__u8 id[16];
	int follow;

	if (tgid != targ_app_tgid)
		return 0;
	follow = read_request_id(id_str, id) ? FOLLOW_NO : follow_id(id);
	if (targ_sock_hooks && follow)
		sk = bind_inbound(tgid, fd, id, follow == FOLLOW_TENTATIVE, pid_tgid, now);
	if (follow) {
		if (sampling())
			count_active(1);
		bind_fd(tgid, fd, id, BIND_INBOUND, now, 0, sk, follow == FOLLOW_TENTATIVE);
		if (!targ_sock_hooks)
			flush_recv_stash(tgid, fd, id, 1);
	} else if (!targ_sock_hooks) {
		bpf_map_delete_elem(&recv_stash, &key);
	}

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	/* Zeroed: a string's tail past its NUL would otherwise be an older record's bytes. */
	__builtin_memset(e, 0, sizeof(*e));
	fill_header(&e->h, kind_of(EV_REQUEST_START, follow == FOLLOW_TENTATIVE), sizeof(*e), fd, pid_tgid, now);
	copy_id(e->h.request_id, id);
	/* Outside the sample only the id and times are kept: the access log names the route. */
	if (follow) {
		bpf_probe_read_user_str(e->method, sizeof(e->method), method);
		bpf_probe_read_user_str(e->path, sizeof(e->path), path);
	}
	submit_event(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(request_end, const char *id_str, int status, __u64 duration_us, int fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct ev_request_end *e;
	__u8 id[16];
	int follow;

	if (tgid != targ_app_tgid)
		return 0;
	follow = read_request_id(id_str, id) ? FOLLOW_NO : follow_id(id);
	if (follow) {
		__u64 sk = unbind_fd(tgid, fd, id);

		if (targ_sock_hooks)
			end_sock_binding(sk, id);
		if (sampling())
			count_active(-1);
	}

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, kind_of(EV_REQUEST_END, follow == FOLLOW_TENTATIVE), sizeof(*e), fd, pid_tgid, bpf_ktime_get_ns());
	copy_id(e->h.request_id, id);
	e->status = status;
	e->_pad = 0;
	e->duration_us = duration_us;
	submit_event(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(db_query_start, const char *id_str, const char *query, int fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u64 now, sk = 0;
	struct ev_db_query_start *e;
	__u8 id[16];
	int follow;

	if (tgid != targ_app_tgid || !(follow = probe_follow(id_str, id)))
		return 0;
	now = bpf_ktime_get_ns();
	if (targ_sock_hooks) {
		struct sock_state *st = app_sock(tgid, fd, pid_tgid, now, &sk);

		if (st) {
			if (st->decided == SD_WANTED)
				run_emit_own(st);
			run_drop(st);
			copy_id(st->request_id, id);
			st->decided = SD_WANTED;
			st->tentative = follow == FOLLOW_TENTATIVE;
		}
	}
	bind_fd(tgid, fd, id, BIND_DB, now, 0, sk, follow == FOLLOW_TENTATIVE);

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_header(&e->h, kind_of(EV_DB_QUERY_START, follow == FOLLOW_TENTATIVE), sizeof(*e), fd, pid_tgid, now);
	copy_id(e->h.request_id, id);
	bpf_probe_read_user_str(e->query, sizeof(e->query), query);
	submit_event(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(db_query_end, const char *id_str, __u64 duration_us, __u64 rows, int fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct ev_db_query_end *e;
	__u64 sk;
	__u8 id[16];
	int follow;

	if (tgid != targ_app_tgid || !(follow = probe_follow(id_str, id)))
		return 0;
	sk = unbind_fd(tgid, fd, id);
	if (targ_sock_hooks)
		end_sock_binding(sk, id);

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, kind_of(EV_DB_QUERY_END, follow == FOLLOW_TENTATIVE), sizeof(*e), fd, pid_tgid, bpf_ktime_get_ns());
	copy_id(e->h.request_id, id);
	e->duration_us = duration_us;
	e->rows = rows;
	submit_event(e);
	return 0;
}

static __always_inline int emit_cache(__u16 kind, const char *id_str, const char *key)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ev_cache *e;
	__u8 id[16];
	int follow;

	if ((__u32)(pid_tgid >> 32) != targ_app_tgid || !(follow = probe_follow(id_str, id)))
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_header(&e->h, kind_of(kind, follow == FOLLOW_TENTATIVE), sizeof(*e), -1, pid_tgid, bpf_ktime_get_ns());
	copy_id(e->h.request_id, id);
	bpf_probe_read_user_str(e->key, sizeof(e->key), key);
	submit_event(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(cache_hit, const char *id_str, const char *key)
{
	return emit_cache(EV_CACHE_HIT, id_str, key);
}

SEC("usdt")
int BPF_USDT(cache_miss, const char *id_str, const char *key)
{
	return emit_cache(EV_CACHE_MISS, id_str, key);
}

SEC("usdt")
int BPF_USDT(file_open, const char *id_str, int fd, const char *path)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u64 now;
	struct ev_file_open *e;
	struct fd_info *fi;
	__u8 id[16];
	int follow;

	if (tgid != targ_app_tgid || !(follow = probe_follow(id_str, id)))
		return 0;
	now = bpf_ktime_get_ns();
	fi = resolve_fd(tgid, fd);
	bind_fd(tgid, fd, id, BIND_FILE, now, fi ? fi->inode : 0, 0, follow == FOLLOW_TENTATIVE);

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_header(&e->h, kind_of(EV_FILE_OPEN, follow == FOLLOW_TENTATIVE), sizeof(*e), fd, pid_tgid, now);
	copy_id(e->h.request_id, id);
	bpf_probe_read_user_str(e->path, sizeof(e->path), path);
	submit_event(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(file_close, const char *id_str, int fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct event_header *e;
	__u8 id[16];
	int follow;

	if (tgid != targ_app_tgid || !(follow = probe_follow(id_str, id)))
		return 0;
	unbind_fd(tgid, fd, id);

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(e, kind_of(EV_FILE_CLOSE, follow == FOLLOW_TENTATIVE), sizeof(*e), fd, pid_tgid, bpf_ktime_get_ns());
	copy_id(e->request_id, id);
	submit_event(e);
	return 0;
}
