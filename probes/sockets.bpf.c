// SPDX-License-Identifier: MIT
/*
 * Socket family: TCP I/O, accept, connect and close of traced processes, from the syscall
 * tracepoints (the only socket hooks this kernel loads: no kprobes, fentry is EPERM).
 *
 * The app's I/O on a bound fd (its request's connection, a pg connection during a query) is
 * tagged with the request here; its reads on an unbound fd are stashed for request_start
 * (app_usdt.bpf.c), its sends on an unbound fd are not wanted (no request, or not sampled).
 * nginx's and PostgreSQL's I/O is emitted untagged, with the 4-tuple user space joins on.
 */
#include "fd.bpf.h"

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

static __always_inline void remember_call(__u32 tid, struct sock_call *call)
{
	if (bpf_map_update_elem(&sock_calls, &tid, call, BPF_ANY))
		count_drop(DROP_INFLIGHT_FULL);
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
	fi = resolve_fd(tgid, fd);
	if (!fi || !fi->is_tcp)
		return 0;
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
	};

	if (!st) {
		bpf_map_update_elem(&recv_stash, key, &fresh, BPF_ANY);
		return;
	}
	st->end_ns = now;
	st->duration_ns += duration;
	st->bytes += bytes;
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
	e->_pad = 0;
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

/* Runs in the sender's context (for loopback, the peer's syscall): keyed by sock, and only
 * sockets a traced process has used are in the map. */
SEC("tp/sock/sk_data_ready")
int on_data_ready(struct trace_event_raw_sk_data_ready *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	__u64 *arrival = bpf_map_lookup_elem(&sk_arrival, &sk);

	if (arrival && !*arrival)
		*arrival = bpf_ktime_get_ns();
	return 0;
}
