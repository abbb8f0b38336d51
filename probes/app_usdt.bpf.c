// SPDX-License-Identifier: MIT
/*
 * The app's USDT probes (provider `reqtrace`, in the addon). Each probe emits its record and
 * keeps the bindings current: request_start/end bind the inbound connection, db_query_start/end
 * the pg connection for one query, file_open/close a file. With the socket tracepoints
 * (targ_sock_hooks) a socket is bound by fd and struct sock (fd_binds, taken over by the socket's
 * next hook: sock_state.bpf.h); (tgid, fd) in req_by_fd only for the hooks that read it (the
 * syscall fallback, the files family). Each probe carries the request id twice: as the string
 * (for bpftrace and readers of the notes) and as two 64-bit words, which the handlers use.
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
/* Something reads (tgid, fd) bindings: the syscall hooks (sockets), the files family (files). */
const volatile __u32 targ_bind_sockets = 1;
const volatile __u32 targ_bind_files = 1;

static __always_inline void bind_fd(__u32 tgid, __s32 fd, const __u8 id[16], __u32 kind,
				    __u64 now, __u64 inode, int tentative)
{
	struct fd_key key = { .tgid = tgid, .fd = fd };
	struct binding b = { .kind = kind, .tentative = tentative, .start_ns = now, .inode = inode };

	copy_id(b.request_id, id);
	if (bpf_map_update_elem(&req_by_fd, &key, &b, BPF_ANY))
		count_drop(DROP_BIND_FULL);
}

/* Unbinds only this request's binding: a stale probe must not unbind the fd's next owner. */
static __always_inline void unbind_fd(__u32 tgid, __s32 fd, const __u8 id[16])
{
	struct fd_key key = { .tgid = tgid, .fd = fd };
	struct binding *b = bpf_map_lookup_elem(&req_by_fd, &key);

	if (b && same_id(b->request_id, id))
		bpf_map_delete_elem(&req_by_fd, &key);
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

/* The struct sock of the current process's TCP socket `fd`; 0 when `fd` is not one. */
static __always_inline __u64 fd_sock(__s32 fd)
{
	struct file *file = current_fd_file(fd);
	struct socket *sock;
	struct sock *sk;
	__u16 family;

	if (!file)
		return 0;
	file = bpf_rdonly_cast(file, bpf_core_type_id_kernel(struct file));
	if ((file->f_inode->i_mode & S_IFMT) != S_IFSOCK)
		return 0;
	sock = bpf_rdonly_cast(file->private_data, bpf_core_type_id_kernel(struct socket));
	if (!sock || sock->type != SOCK_STREAM || !sock->sk)
		return 0;
	sk = sock->sk;
	family = sk->__sk_common.skc_family;
	return family == AF_INET || family == AF_INET6 ? (__u64)sk : 0;
}

/* "fd `fd` holds this connection": emitted when the app's probes first name an inbound socket's fd. */
static __always_inline void emit_fd_bound(const struct sock_bind *b, __u64 pid_tgid, __u64 now)
{
	struct ev_sock_conn *e = reserve_event(sizeof(*e));

	if (!e)
		return;
	fill_header(&e->h, EV_SOCK_ACCEPT, sizeof(*e), b->fd, pid_tgid, now);
	zero_id(e->h.request_id);
	e->duration_ns = 0;
	e->ret = b->fd;
	e->tuple = b->tuple;
	submit_event(e);
}

/*
 * Binds the app's socket `sk` (its fd `fd`) to request `id`, or (`id` NULL) ends the binding of
 * request `owner` only. The socket hooks take it over at the socket's next hook. Returns the
 * binding, NULL when nothing was bound.
 */
static __always_inline struct sock_bind *bind_sock(__u64 sk, __s32 fd, const __u8 *id, const __u8 *owner,
						   int tentative, __u64 pid_tgid, __u64 now)
{
	struct sock_bind *b = fd_bind(fd);
	struct sock_gates *g;

	if (!b)
		return NULL;
	if (b->sk != sk || b->fd != fd) {
		__s64 *pending = counter_slot(new_binds_pending);

		/* A socket the probes have not named on this fd before. */
		if (!id)
			return NULL;
		b->sk = sk;
		b->fd = fd;
		read_tuple((struct sock *)sk, &b->tuple);
		b->accepted = is_lab_port(b->tuple.sport);
		if (bpf_map_update_elem(&new_binds, &sk, &fd, BPF_ANY))
			count_drop(DROP_BIND_FULL);
		else if (pending)
			__sync_fetch_and_add(pending, 1);
		if (b->accepted)
			emit_fd_bound(b, pid_tgid, now);
	} else if (!id && !same_id(b->request_id, owner)) {
		return NULL;
	}
	if (id) {
		copy_id(b->request_id, id);
		b->decided = SD_WANTED;
		b->tentative = tentative;
		hold_pg_bind(b, 1);
	} else {
		zero_id(b->request_id);
		b->decided = SD_UNWANTED;
		b->tentative = 0;
	}
	/* Never 0, which a fresh socket state holds: its first binding always differs. */
	b->ver = b->ver + 1 ?: 1;
	if ((g = gates()))
		__sync_fetch_and_add(&g->binds, 1);
	return b;
}

/* A followed request's inbound socket is bound; for a sampled one, nginx's end of the
 * connection learns the request is wanted. */
static __always_inline void bind_inbound(__s32 fd, const __u8 id[16], int tentative, __u64 pid_tgid, __u64 now)
{
	__u64 sk = fd_sock(fd);
	struct conn_decision d = { .wanted = 1 };
	struct sock_bind *b;
	struct conn_key k;

	if (!sk || !(b = bind_sock(sk, fd, id, NULL, tentative, pid_tgid, now)) || !sampling() || tentative)
		return;
	copy_id(d.request_id, id);
	conn_key_of(&b->tuple, 1, &k);
	put_decision(&k, &d);
}

/*
 * The end of a binding: nothing more is wanted on the socket. The binding names its socket, so
 * the fd table is not walked again: were the fd closed and reused since, the binding ended is
 * that of a socket gone, which no later socket on the fd takes over (its sk differs).
 */
static __always_inline void unbind_sock(__s32 fd, const __u8 id[16], __u64 pid_tgid, __u64 now)
{
	struct sock_bind *b = fd_bind(fd);

	if (b && b->fd == fd && b->sk)
		bind_sock(b->sk, fd, NULL, id, 0, pid_tgid, now);
}

SEC("usdt")
int BPF_USDT(request_start, const char *id_str, const char *method, const char *path, int fd, __u64 id_hi,
	     __u64 id_lo)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u64 now = bpf_ktime_get_ns();
	struct ev_request_start *e;
	__u8 id[16];
	int follow;

	if (tgid != targ_app_tgid)
		return 0;
	follow = follow_id_words(id_hi, id_lo, id);
	if (follow) {
		if (targ_sock_hooks)
			bind_inbound(fd, id, follow == FOLLOW_TENTATIVE, pid_tgid, now);
		if (sampling())
			count_active(1);
		if (targ_bind_sockets)
			bind_fd(tgid, fd, id, BIND_INBOUND, now, 0, follow == FOLLOW_TENTATIVE);
		if (!targ_sock_hooks)
			flush_recv_stash(tgid, fd, id, 1);
	} else if (!targ_sock_hooks) {
		struct fd_key key = { .tgid = tgid, .fd = fd };

		bpf_map_delete_elem(&recv_stash, &key);
	}

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, kind_of(EV_REQUEST_START, follow == FOLLOW_TENTATIVE), sizeof(*e), fd, pid_tgid, now);
	copy_id(e->h.request_id, id);
	/* A string's tail past its NUL would otherwise be an older record's bytes. Outside the
	 * sample only the id and times are kept: the access log names the route. */
	__builtin_memset(e->method, 0, sizeof(e->method));
	__builtin_memset(e->path, 0, sizeof(e->path));
	if (follow) {
		bpf_probe_read_user_str(e->method, sizeof(e->method), method);
		bpf_probe_read_user_str(e->path, sizeof(e->path), path);
	}
	e->run_delay_ns = thread_run_delay();
	submit_event(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(request_end, const char *id_str, int status, __u64 duration_us, int fd, __u64 id_hi, __u64 id_lo)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u64 now = bpf_ktime_get_ns();
	struct ev_request_end *e;
	__u8 id[16];
	int follow;

	if (tgid != targ_app_tgid)
		return 0;
	follow = follow_id_words(id_hi, id_lo, id);
	if (follow) {
		if (targ_sock_hooks)
			unbind_sock(fd, id, pid_tgid, now);
		if (targ_bind_sockets)
			unbind_fd(tgid, fd, id);
		if (sampling())
			count_active(-1);
	}

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, kind_of(EV_REQUEST_END, follow == FOLLOW_TENTATIVE), sizeof(*e), fd, pid_tgid, now);
	copy_id(e->h.request_id, id);
	e->status = status;
	e->_pad = 0;
	e->duration_us = duration_us;
	e->run_delay_ns = thread_run_delay();
	submit_event(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(db_query_start, const char *id_str, const char *query, int fd, __u64 id_hi, __u64 id_lo)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct ev_db_query_start *e;
	__u8 id[16];
	__u64 now, sk;
	int follow;

	if (tgid != targ_app_tgid || !(follow = follow_id_words(id_hi, id_lo, id)))
		return 0;
	now = bpf_ktime_get_ns();
	if (targ_sock_hooks && (sk = fd_sock(fd)))
		bind_sock(sk, fd, id, NULL, follow == FOLLOW_TENTATIVE, pid_tgid, now);
	if (targ_bind_sockets)
		bind_fd(tgid, fd, id, BIND_DB, now, 0, follow == FOLLOW_TENTATIVE);

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, kind_of(EV_DB_QUERY_START, follow == FOLLOW_TENTATIVE), sizeof(*e), fd, pid_tgid, now);
	copy_id(e->h.request_id, id);
	__builtin_memset(e->query, 0, sizeof(e->query));
	bpf_probe_read_user_str(e->query, sizeof(e->query), query);
	e->run_delay_ns = thread_run_delay();
	submit_event(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(db_query_end, const char *id_str, __u64 duration_us, __u64 rows, int fd, __u64 id_hi, __u64 id_lo)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u64 now = bpf_ktime_get_ns();
	struct ev_db_query_end *e;
	__u8 id[16];
	int follow;

	if (tgid != targ_app_tgid || !(follow = follow_id_words(id_hi, id_lo, id)))
		return 0;
	if (targ_sock_hooks)
		unbind_sock(fd, id, pid_tgid, now);
	if (targ_bind_sockets)
		unbind_fd(tgid, fd, id);

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, kind_of(EV_DB_QUERY_END, follow == FOLLOW_TENTATIVE), sizeof(*e), fd, pid_tgid, now);
	copy_id(e->h.request_id, id);
	e->duration_us = duration_us;
	e->rows = rows;
	e->run_delay_ns = thread_run_delay();
	submit_event(e);
	return 0;
}

static __always_inline int emit_cache(__u16 kind, const char *key, __u64 id_hi, __u64 id_lo)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ev_cache *e;
	__u8 id[16];
	int follow;

	if ((__u32)(pid_tgid >> 32) != targ_app_tgid || !(follow = follow_id_words(id_hi, id_lo, id)))
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, kind_of(kind, follow == FOLLOW_TENTATIVE), sizeof(*e), -1, pid_tgid, bpf_ktime_get_ns());
	copy_id(e->h.request_id, id);
	__builtin_memset(e->key, 0, sizeof(e->key));
	bpf_probe_read_user_str(e->key, sizeof(e->key), key);
	submit_event(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(cache_hit, const char *id_str, const char *key, __u64 id_hi, __u64 id_lo)
{
	return emit_cache(EV_CACHE_HIT, key, id_hi, id_lo);
}

SEC("usdt")
int BPF_USDT(cache_miss, const char *id_str, const char *key, __u64 id_hi, __u64 id_lo)
{
	return emit_cache(EV_CACHE_MISS, key, id_hi, id_lo);
}

SEC("usdt")
int BPF_USDT(file_open, const char *id_str, int fd, const char *path, __u64 id_hi, __u64 id_lo)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u64 now;
	struct ev_file_open *e;
	__u8 id[16];
	int follow;

	if (tgid != targ_app_tgid || !(follow = follow_id_words(id_hi, id_lo, id)))
		return 0;
	now = bpf_ktime_get_ns();
	if (targ_bind_files) {
		struct fd_info *fi = resolve_fd(tgid, fd);

		bind_fd(tgid, fd, id, BIND_FILE, now, fi ? fi->inode : 0, follow == FOLLOW_TENTATIVE);
	}

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, kind_of(EV_FILE_OPEN, follow == FOLLOW_TENTATIVE), sizeof(*e), fd, pid_tgid, now);
	copy_id(e->h.request_id, id);
	__builtin_memset(e->path, 0, sizeof(e->path));
	bpf_probe_read_user_str(e->path, sizeof(e->path), path);
	submit_event(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(file_close, const char *id_str, int fd, __u64 id_hi, __u64 id_lo)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct event_header *e;
	__u8 id[16];
	int follow;

	if (tgid != targ_app_tgid || !(follow = follow_id_words(id_hi, id_lo, id)))
		return 0;
	if (targ_bind_files)
		unbind_fd(tgid, fd, id);

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(e, kind_of(EV_FILE_CLOSE, follow == FOLLOW_TENTATIVE), sizeof(*e), fd, pid_tgid, bpf_ktime_get_ns());
	copy_id(e->request_id, id);
	submit_event(e);
	return 0;
}
