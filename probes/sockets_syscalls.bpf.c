// SPDX-License-Identifier: MIT
/*
 * Socket family, syscall hooks: TCP I/O, accept, connect and close of traced processes, from the
 * syscall tracepoints. The fallback where the socket tracepoints (sockets.bpf.c) do not load:
 * attaching any syscall tracepoint sends every syscall of every task through the slow path.
 *
 * The app's I/O on a bound fd (its request's connection, a pg connection during a query) is
 * tagged with the request here; its reads on an unbound fd are stashed for request_start
 * (app_usdt.bpf.c), its sends on an unbound fd are not wanted (no request, or not sampled).
 * nginx's and PostgreSQL's I/O is emitted untagged, with the 4-tuple user space joins on.
 *
 * While sampling (--sample < 1), nginx's and PostgreSQL's I/O of requests known to be unsampled
 * is not emitted at all (still untagged when it is: user space joins it as before):
 *  - a backend's current request is the one in its last statement (pg_current, from the
 *    postgres family); the read carrying a statement waits in recv_stash until its parse;
 *  - nginx names the request in the head of each connection's own writes (`X-Request-ID: <32
 *    hex>`, lab/nginx/nginx.conf.template): the upstream request binds the upstream fd, the
 *    response header binds the client fd, whose request reads wait in recv_stash until then.
 *    Each side is decided on its own fd: a worker interleaves clients (an upstream connect in
 *    progress lets it read the next client first), so no fd is bound by what the worker did
 *    last. A head that does not parse leaves its fd's records emitted, as at --sample 1.
 */
#include "fd.bpf.h"
#include "request-id.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

enum sock_op {
	SOP_RECV = 1,
	SOP_SEND,
	SOP_ACCEPT,
	SOP_CONNECT,
	SOP_CLOSE,
};

/* A traced thread inside a socket syscall, entry to exit. */
struct sock_call {
	__u64 start_ns;
	__s32 fd;
	__u32 nr;
	__u32 op;
	__u32 role;
	__u64 file;            /* SOP_CLOSE: the fd's file, to forget only its cache entry */
	__u64 sk;              /* SOP_CLOSE */
	__u8 request_id[16];   /* SOP_CLOSE: the binding the close ended */
	struct tuple tuple;    /* SOP_CLOSE: read before the socket is gone */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_INFLIGHT);
	__type(key, __u32);
	__type(value, struct sock_call);
} sock_calls SEC(".maps");

#define TCP_LISTEN 10

/* nginx, while sampling: the request an fd of a worker serves, from the fd's last head write. */
struct nginx_binding {
	__u8 request_id[16];
	__u32 wanted; /* request_sampled() */
	__u32 _pad;
};

/* An entry pushed out leaves its fd's records emitted, as without sampling: none lost. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_NGINX_BINDINGS);
	__type(key, struct fd_key);
	__type(value, struct nginx_binding);
} nginx_req SEC(".maps");

/* The head of an nginx write searched for the id header: an upstream request has it right
 * after the request line, a response after nginx's own and the app's headers (~160 bytes in the
 * lab). Power of two (index masks). */
#define NGX_HEAD_LEN 512
#define NGX_ID_NAME "X-Request-ID: "
#define NGX_ID_NAME_LEN 14
#define NGX_ID_LINE_LEN (NGX_ID_NAME_LEN + 32)

struct nginx_scratch {
	char head[NGX_HEAD_LEN];
	__u8 id[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nginx_scratch);
} nginx_head SEC(".maps");

static __always_inline void remember_call(__u32 tid, struct sock_call *call)
{
	if (bpf_map_update_elem(&sock_calls, &tid, call, BPF_ANY))
		count_drop(DROP_INFLIGHT_FULL);
}

struct iovec_user {
	const void *base;
	__u64 len;
};

/* The first buffer a write hands the kernel: write/sendto's, or writev's first iovec. */
static __always_inline int write_buffer(__u64 nr, __u64 arg1, __u64 arg2, const void **buf,
					__u64 *len)
{
	struct iovec_user iov;

	if (nr == 20) { /* writev: arg1 is the iovec array */
		if (bpf_probe_read_user(&iov, sizeof(iov), (const void *)arg1))
			return -1;
		*buf = iov.base;
		*len = iov.len;
		return 0;
	}
	if (nr == 1 || nr == 44) { /* write, sendto */
		*buf = (const void *)arg1;
		*len = arg2;
		return 0;
	}
	return -1;
}

/*
 * The request id in the head nginx writes on a connection: the first line `X-Request-ID: <32
 * hex>` within the first NGX_HEAD_LEN bytes, left in the scratch's `id`. `response`: the head
 * must be a response's ("HTTP/..."), else it must not be (an upstream request). Only the id is
 * read out. 0 when found. A global function: verified once, not in every program.
 */
struct id_scan {
	struct nginx_scratch *sc;
	__u32 found;
};

/* The id's i-th digit on the line whose id starts at `off` in the head ring. */
#define LINE_ID_DIGIT(i) sc->head[(off + (i)) & (NGX_HEAD_LEN - 1)]

static long find_id_line(__u64 i, struct id_scan *scan)
{
	const char name[] = NGX_ID_NAME;
	struct nginx_scratch *sc = scan->sc;
	__u32 k, off;

	if (sc->head[i & (NGX_HEAD_LEN - 1)] != '\n')
		return 0;
	off = i + 1;
	for (k = 0; k < NGX_ID_NAME_LEN; k++)
		if (sc->head[(off + k) & (NGX_HEAD_LEN - 1)] != name[k])
			return 0;
	off += NGX_ID_NAME_LEN;
	ID_FROM_HEX(LINE_ID_DIGIT, sc->id, return 1);
	scan->found = 1;
	return 1;
}

__noinline int nginx_head_id(__u64 buf, __u64 len, __u32 response)
{
	__u32 zero = 0;
	struct nginx_scratch *sc = bpf_map_lookup_elem(&nginx_head, &zero);
	struct id_scan scan;
	int is_response;

	if (!sc || len < 16 + NGX_ID_LINE_LEN)
		return -1;
	if (len > NGX_HEAD_LEN)
		len = NGX_HEAD_LEN;
	if (bpf_probe_read_user(sc->head, len, (const void *)buf))
		return -1;
	is_response = sc->head[0] == 'H' && sc->head[1] == 'T' && sc->head[2] == 'T' &&
		      sc->head[3] == 'P' && sc->head[4] == '/';
	if (is_response != !!response)
		return -1;
	/* bpf_loop: its callback is verified once, and the verifier goes on with one unknown
	 * offset rather than with each of a loop's exits. A newline at index i needs the whole
	 * id line, i + 1 .. i + NGX_ID_LINE_LEN, inside the bytes read. */
	scan.sc = sc;
	scan.found = 0;
	bpf_loop(len - NGX_ID_LINE_LEN, find_id_line, &scan, 0);
	return scan.found ? 0 : -1;
}

static __always_inline int head_request_id(const void *buf, __u64 len, __u32 response,
					   __u8 id[16])
{
	__u32 zero = 0;
	struct nginx_scratch *sc;

	if (nginx_head_id((__u64)buf, len, response))
		return -1;
	sc = bpf_map_lookup_elem(&nginx_head, &zero);
	if (!sc)
		return -1;
	copy_id(id, sc->id);
	return 0;
}

static __always_inline int on_lab_port(const struct fd_info *fi)
{
	return is_lab_port(fi->tuple.sport);
}

static __always_inline void nginx_bind(struct fd_key *key, const __u8 id[16], __u32 wanted)
{
	struct nginx_binding nb = { .wanted = wanted };

	copy_id(nb.request_id, id);
	if (bpf_map_update_elem(&nginx_req, key, &nb, BPF_ANY))
		count_drop(DROP_BIND_FULL);
}

/*
 * Whether an nginx write on `fd` is wanted. A head naming a request (the upstream request, or
 * the response header on a client connection) binds the fd, and a client fd's held request
 * reads go out with it or not. Other writes (bodies, heads that do not parse) follow the fd's
 * binding.
 */
static __always_inline int nginx_send_wanted(struct trace_event_raw_sys_enter *ctx, __u32 tgid,
					     __s32 fd, const struct fd_info *fi)
{
	struct fd_key key = { .tgid = tgid, .fd = fd };
	__u32 client = on_lab_port(fi);
	struct nginx_binding *nb;
	const void *buf;
	__u64 len;
	__u32 wanted;
	__u8 id[16];
	/* Loaded at fixed offsets: the verifier refuses ctx loads through a computed pointer. The
	 * kernel's context holds the syscall number as an int followed by uninitialized padding
	 * (perf_call_bpf_enter's syscall_tp_t), so only the low 32 bits of `id` are meaningful. */
	__u64 nr = (__u32)ctx->id, arg1 = ctx->args[1], arg2 = ctx->args[2];

	asm volatile("" : "+r"(nr), "+r"(arg1), "+r"(arg2));

	if (write_buffer(nr, arg1, arg2, &buf, &len) || head_request_id(buf, len, client, id)) {
		/* A response that names no request: its request is kept. */
		if (client)
			flush_recv_stash(tgid, fd, NULL, 1);
		nb = bpf_map_lookup_elem(&nginx_req, &key);
		return nb ? nb->wanted : 1;
	}
	wanted = request_sampled(id);
	nginx_bind(&key, id, wanted);
	if (client)
		flush_recv_stash(tgid, fd, NULL, wanted);
	return wanted;
}

static __always_inline int io_enter(struct trace_event_raw_sys_enter *ctx, __s32 fd, __u32 op)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u32 role = traced_role(tgid);
	struct fd_key key = { .tgid = tgid, .fd = fd };
	struct sock_call call = {};
	struct fd_info *fi;

	if (!role)
		return 0;
	if (role == ROLE_APP) {
		struct binding *b = bpf_map_lookup_elem(&req_by_fd, &key);

		if (b ? b->kind == BIND_FILE : op == SOP_SEND)
			return 0;
	}
	if (role == ROLE_POSTGRES && op == SOP_SEND && sampling()) {
		struct pg_current *cur = bpf_map_lookup_elem(&pg_current, &tgid);

		if (cur && !id_wanted(cur->request_id))
			return 0;
	}
	fi = resolve_fd(tgid, fd);
	if (!fi || !fi->is_tcp)
		return 0;
	if (role == ROLE_NGINX && sampling()) {
		if (op == SOP_SEND) {
			if (!nginx_send_wanted(ctx, tgid, fd, fi))
				return 0;
		} else if (!on_lab_port(fi)) {
			struct nginx_binding *nb = bpf_map_lookup_elem(&nginx_req, &key);

			if (nb && !nb->wanted)
				return 0;
		}
	}
	call.start_ns = bpf_ktime_get_ns();
	call.fd = fd;
	call.nr = ctx->id;
	call.op = op;
	call.role = role;
	remember_call((__u32)pid_tgid, &call);
	return 0;
}

static __always_inline void stash_recv(struct fd_key *key, __u64 now, __u64 duration, __s64 bytes,
				       __u64 arrival, __u32 nr, __u32 tid)
{
	struct recv_stash *st = bpf_map_lookup_elem(&recv_stash, key);
	struct recv_stash fresh = {
		.end_ns = now,
		.duration_ns = duration,
		.bytes = bytes,
		.arrival_ns = arrival,
		.syscall_nr = nr,
		.tid = tid,
		.calls = 1,
	};

	if (!st) {
		if (bpf_map_update_elem(&recv_stash, key, &fresh, BPF_ANY))
			count_drop(DROP_SOCKETS_FULL);
		return;
	}
	st->end_ns = now;
	st->duration_ns += duration;
	st->bytes += bytes;
	st->calls++;
	if (!st->arrival_ns)
		st->arrival_ns = arrival;
}

static __always_inline int io_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct sock_call *c = bpf_map_lookup_elem(&sock_calls, &tid);
	struct binding *b = NULL;
	struct fd_info *fi;
	struct ev_sock_io *e;
	struct fd_key key;
	__u64 now, arrival = 0, duration;
	__s64 ret = ctx->ret;
	__u32 op, nr, role;

	if (!c)
		return 0;
	now = bpf_ktime_get_ns();
	duration = now - c->start_ns;
	key.tgid = pid_tgid >> 32;
	key.fd = c->fd;
	op = c->op;
	nr = c->nr;
	role = c->role;
	bpf_map_delete_elem(&sock_calls, &tid);

	fi = bpf_map_lookup_elem(&fd_cache, &key);
	if (op == SOP_RECV && fi && fi->sk) {
		__u64 *a = bpf_map_lookup_elem(&sk_arrival, &fi->sk);

		if (a) {
			arrival = *a;
			*a = 0;
		}
	}
	if (role == ROLE_APP) {
		b = bpf_map_lookup_elem(&req_by_fd, &key);
		if (!b) {
			if (ret > 0)
				stash_recv(&key, now, duration, ret, arrival, nr, tid);
			return 0;
		}
	} else if (op == SOP_RECV && sampling()) {
		if (role == ROLE_POSTGRES) {
			struct pg_current *cur = bpf_map_lookup_elem(&pg_current, &key.tgid);

			if (cur && ret > 0) {
				/* A statement's read: decided at its parse (postgres.bpf.c). An earlier read
				 * that no statement followed goes by the current request. */
				if (cur->stash_fd >= 0)
					flush_recv_stash(key.tgid, cur->stash_fd, NULL,
							 id_wanted(cur->request_id));
				stash_recv(&key, now, duration, ret, arrival, nr, tid);
				cur->stash_fd = key.fd;
				return 0;
			}
			if (cur && !id_wanted(cur->request_id))
				return 0;
		} else if (role == ROLE_NGINX && fi && on_lab_port(fi)) {
			struct nginx_binding *nb = bpf_map_lookup_elem(&nginx_req, &key);

			if (ret > 0) {
				/* A request's bytes: held until its response header names it. */
				if (nb)
					bpf_map_delete_elem(&nginx_req, &key);
				stash_recv(&key, now, duration, ret, arrival, nr, tid);
				return 0;
			}
			if (nb && !nb->wanted)
				return 0;
		}
	}

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, op == SOP_RECV ? EV_SOCK_RECV : EV_SOCK_SEND, sizeof(*e), key.fd,
		    pid_tgid, now);
	if (b)
		copy_id(e->h.request_id, b->request_id);
	else
		zero_id(e->h.request_id);
	e->duration_ns = duration;
	e->bytes = ret;
	e->arrival_ns = arrival;
	e->syscall_nr = nr;
	e->syscalls = 1;
	if (fi)
		e->tuple = fi->tuple;
	else
		__builtin_memset(&e->tuple, 0, sizeof(e->tuple));
	submit_event(e);
	return 0;
}

#define IO_SYSCALL(name, op)                                              \
	SEC("tp/syscalls/sys_enter_" #name)                               \
	int enter_##name(struct trace_event_raw_sys_enter *ctx)           \
	{                                                                 \
		return io_enter(ctx, (__s32)ctx->args[0], op);            \
	}                                                                 \
	SEC("tp/syscalls/sys_exit_" #name)                                \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)             \
	{                                                                 \
		return io_exit(ctx);                                      \
	}

IO_SYSCALL(read, SOP_RECV)
IO_SYSCALL(readv, SOP_RECV)
IO_SYSCALL(recvfrom, SOP_RECV)
IO_SYSCALL(recvmsg, SOP_RECV)
IO_SYSCALL(write, SOP_SEND)
IO_SYSCALL(writev, SOP_SEND)
IO_SYSCALL(sendto, SOP_SEND)
IO_SYSCALL(sendmsg, SOP_SEND)
/* sendfile64(out_fd, in_fd, ...): nginx sends file bodies to the socket in args[0]. */
IO_SYSCALL(sendfile64, SOP_SEND)

/* --- connections ------------------------------------------------------------------------ */

static __always_inline int conn_enter(struct trace_event_raw_sys_enter *ctx, __s32 fd, __u32 op)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 role = traced_role(pid_tgid >> 32);
	struct sock_call call = {};

	if (!role)
		return 0;
	call.start_ns = bpf_ktime_get_ns();
	call.fd = fd;
	call.nr = ctx->id;
	call.op = op;
	call.role = role;
	remember_call((__u32)pid_tgid, &call);
	return 0;
}

static __always_inline int emit_conn(__u16 kind, __u64 pid_tgid, __s32 fd, __u64 now,
				     __u64 duration, __s64 ret, const __u8 *id,
				     const struct tuple *tuple)
{
	struct ev_sock_conn *e = reserve_event(sizeof(*e));

	if (!e)
		return 0;
	fill_header(&e->h, kind, sizeof(*e), fd, pid_tgid, now);
	if (id)
		copy_id(e->h.request_id, id);
	else
		zero_id(e->h.request_id);
	e->duration_ns = duration;
	e->ret = ret;
	e->tuple = *tuple;
	submit_event(e);
	return 0;
}

/* accept: the new fd is the return value; connect: the fd it was called on (ret 0 or
 * -EINPROGRESS, the local port is assigned either way). Failed accepts (EAGAIN) are noise. */
static __always_inline int conn_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct sock_call *c = bpf_map_lookup_elem(&sock_calls, &tid);
	__s64 ret = ctx->ret;
	struct fd_info *fi;
	__u64 now, duration;
	__s32 fd;
	__u32 op;

	if (!c)
		return 0;
	now = bpf_ktime_get_ns();
	duration = now - c->start_ns;
	op = c->op;
	fd = op == SOP_ACCEPT ? (__s32)ret : c->fd;
	bpf_map_delete_elem(&sock_calls, &tid);
	if (op == SOP_ACCEPT && ret < 0)
		return 0;
	fi = resolve_fd(pid_tgid >> 32, fd);
	if (!fi || !fi->is_tcp)
		return 0;
	refresh_tuple(fi);
	return emit_conn(op == SOP_ACCEPT ? EV_SOCK_ACCEPT : EV_SOCK_CONNECT, pid_tgid, fd, now,
			 duration, ret, NULL, &fi->tuple);
}

SEC("tp/syscalls/sys_enter_accept")
int enter_accept(struct trace_event_raw_sys_enter *ctx)
{
	return conn_enter(ctx, -1, SOP_ACCEPT);
}

SEC("tp/syscalls/sys_exit_accept")
int exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return conn_exit(ctx);
}

SEC("tp/syscalls/sys_enter_accept4")
int enter_accept4(struct trace_event_raw_sys_enter *ctx)
{
	return conn_enter(ctx, -1, SOP_ACCEPT);
}

SEC("tp/syscalls/sys_exit_accept4")
int exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return conn_exit(ctx);
}

SEC("tp/syscalls/sys_enter_connect")
int enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	return conn_enter(ctx, (__s32)ctx->args[0], SOP_CONNECT);
}

SEC("tp/syscalls/sys_exit_connect")
int exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	return conn_exit(ctx);
}

/* close: every per-fd entry goes (a later fd with the same number is another file, and the
 * sock pointer will be reused); a TCP socket's close is emitted with the tuple read at entry. */
SEC("tp/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u32 role = traced_role(tgid);
	struct fd_key key = { .tgid = tgid, .fd = (__s32)ctx->args[0] };
	struct sock_call call = {};
	struct binding *b;
	struct fd_info *fi;

	if (!role)
		return 0;
	b = bpf_map_lookup_elem(&req_by_fd, &key);
	if (b) {
		copy_id(call.request_id, b->request_id);
		bpf_map_delete_elem(&req_by_fd, &key);
	}
	if (role == ROLE_NGINX && sampling()) {
		/* A request closed before a response named it is kept. */
		flush_recv_stash(tgid, key.fd, NULL, 1);
		bpf_map_delete_elem(&nginx_req, &key);
	}
	bpf_map_delete_elem(&recv_stash, &key);
	fi = resolve_fd(tgid, key.fd);
	if (!fi)
		return 0;
	if (!fi->is_tcp) {
		bpf_map_delete_elem(&fd_cache, &key);
		return 0;
	}
	call.start_ns = bpf_ktime_get_ns();
	call.fd = key.fd;
	call.nr = ctx->id;
	call.op = SOP_CLOSE;
	call.role = role;
	call.file = fi->file;
	call.sk = fi->sk;
	call.tuple = fi->tuple;
	remember_call((__u32)pid_tgid, &call);
	return 0;
}

SEC("tp/syscalls/sys_exit_close")
int exit_close(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct sock_call *c = bpf_map_lookup_elem(&sock_calls, &tid);
	struct fd_key key = { .tgid = pid_tgid >> 32 };
	struct fd_info *fi;
	__u64 now = bpf_ktime_get_ns();
	int bound;

	if (!c || c->op != SOP_CLOSE)
		return 0;
	key.fd = c->fd;
	fi = bpf_map_lookup_elem(&fd_cache, &key);
	if (fi && fi->file == c->file)
		bpf_map_delete_elem(&fd_cache, &key);
	bpf_map_delete_elem(&sk_arrival, &c->sk);
	bound = !is_zero_id(c->request_id);
	emit_conn(EV_SOCK_CLOSE, pid_tgid, key.fd, now, now - c->start_ns, ctx->ret,
		  bound ? c->request_id : NULL, &c->tuple);
	bpf_map_delete_elem(&sock_calls, &tid);
	return 0;
}

/*
 * Runs in the sender's context (for loopback, the peer's syscall): keyed by sock. Sockets a
 * traced process has used are in the map; so is a connection to a lab port from its first data,
 * which arrives before accept, so a connection's first request has its arrival time too.
 */
SEC("tp/sock/sk_data_ready")
int on_data_ready(struct trace_event_raw_sk_data_ready *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	__u64 *arrival = bpf_map_lookup_elem(&sk_arrival, &sk);
	struct sock *s = (struct sock *)sk;
	__u64 now;
	__u16 port;

	if (arrival) {
		if (!*arrival)
			*arrival = bpf_ktime_get_ns();
		return 0;
	}
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	port = BPF_CORE_READ(s, __sk_common.skc_num);
	if (!is_lab_port(port) ||
	    BPF_CORE_READ(s, __sk_common.skc_state) == TCP_LISTEN)
		return 0;
	now = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&sk_arrival, &sk, &now, BPF_NOEXIST) == -E2BIG)
		count_drop(DROP_SOCKETS_FULL);
	return 0;
}

/* A closed sock's entry goes, whoever closed it: the pointer will be another sock's. */
SEC("tp/sock/inet_sock_set_state")
int on_sock_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;

	if (ctx->newstate == TCP_CLOSE)
		bpf_map_delete_elem(&sk_arrival, &sk);
	return 0;
}
