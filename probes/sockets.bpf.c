// SPDX-License-Identifier: MIT
/*
 * Socket family: TCP I/O of traced processes from the socket tracepoints, which fire only for
 * socket sends and receives (sock_send_length, sock_recv_length: ends, with the sock;
 * tcp_sendmsg_locked: a TCP send's start; skb_copy_datagram_iovec: a receive's first copy), data
 * arrival (sk_data_ready: at --sample 1, or with --arrivals) and the end of a connection
 * (inet_sock_set_state). No syscall tracepoint, so no task is sent through the
 * syscall slow path. Per-socket state and the decisions: sock_state.bpf.h.
 *
 * Who is what:
 *  - the app's inbound connection (accepted on its port): the request's bytes, held until
 *    request_start decides; the response; tagged with the request (app_usdt.bpf.c binds);
 *  - the app's pg connections: I/O only while a sampled query holds them, tagged;
 *  - nginx's client connection (accepted on its port): the request bytes held until the
 *    response head names the request (read only while a response its upstream side found
 *    wanted waits for its head); nginx's upstream connection: its request head held until
 *    the response starts, by when the app has decided that connection (conn_decisions);
 *    untagged, joined by 4-tuple in user space;
 *  - PostgreSQL's sockets: nothing (the app's side of each round trip is what the trees use)
 *    beyond one owner record each.
 * Before any storage is read, a socket's ports say whether a hook has anything to do
 * (idle_socket): a backend's end and a client of the proxy outside the lab never, the app's pg
 * connections only while a query holds one (or, sampling, a sampled one), data reaching nginx's
 * upstream side only while the app serves a sampled request.
 *
 * tp_btf only: the state lives in socket storage, which needs the typed sock (where tp_btf does
 * not load, neither does the core family, and sockets.c falls back to the syscall hooks).
 */
#include "sock_state.bpf.h"
#include "request-id.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* The head of an nginx response searched for the id header (~160 bytes in the lab). */
#define NGX_HEAD_LEN 512
#define NGX_ID_NAME "X-Request-ID: "
#define NGX_ID_NAME_LEN 14
#define ITER_UBUF_TYPE 0
#define ITER_IOVEC_TYPE 1

struct head_scratch {
	char head[NGX_HEAD_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct head_scratch);
} ngx_scratch SEC(".maps");

struct head_scan {
	struct head_scratch *sc;
	__u32 len;
	__u32 found;
	__u32 head; /* the id's first 32 bits */
};

/* The id's i-th digit on the line starting at `pos` in the head ring. */
#define HEAD_ID_DIGIT(i) h[(pos + NGX_ID_NAME_LEN + (i)) & (NGX_HEAD_LEN - 1)]

/* One 8-byte word of the head: each newline in it starts a line that may be the id's. */
static long scan_word(__u64 i, struct head_scan *s)
{
	const char name[] = NGX_ID_NAME;
	const char *h = s->sc->head;
	__u32 base = (i * 8) & (NGX_HEAD_LEN - 8);
	__u64 w, x, t;

	__builtin_memcpy(&w, h + base, 8);
	x = w ^ 0x0a0a0a0a0a0a0a0aull;
	/* A set top bit marks a candidate zero byte of x (a newline); a borrow can mark the byte
	 * above a real one too, so each candidate is checked. */
	t = (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
	if (!t)
		return 0;
#pragma unroll
	for (int k = 0; k < 8; k++) {
		__u32 pos = base + k + 1, head = 0;
		int j, ok = 1;

		if (!(t & (0x80ull << (k * 8))) || h[(pos - 1) & (NGX_HEAD_LEN - 1)] != '\n')
			continue;
		if (pos + NGX_ID_NAME_LEN + 8 > s->len)
			return 1;
#pragma unroll
		for (j = 0; j < NGX_ID_NAME_LEN; j++)
			if (h[(pos + j) & (NGX_HEAD_LEN - 1)] != name[j])
				ok = 0;
		if (!ok)
			continue;
		ID_HEAD_FROM_HEX(HEAD_ID_DIGIT, head, return 1);
		s->head = head;
		s->found = 1;
		return 1;
	}
	return 0;
}

/*
 * The first 32 bits of the request id in the `X-Request-ID: ` line of a response head nginx is
 * sending, read from the send's user buffer. 0 when found. A global function: verified once.
 */
__noinline int nginx_response_head(__u64 buf, __u32 len, __u32 *head)
{
	__u32 zero = 0;
	struct head_scratch *sc = bpf_map_lookup_elem(&ngx_scratch, &zero);
	struct head_scan scan = {};

	if (!sc || !head || len < 16)
		return -1;
	if (len > NGX_HEAD_LEN)
		len = NGX_HEAD_LEN;
	if (bpf_probe_read_user(sc->head, len & (NGX_HEAD_LEN - 1) ?: NGX_HEAD_LEN, (const void *)buf))
		return -1;
	if (sc->head[0] != 'H' || sc->head[1] != 'T' || sc->head[2] != 'T' || sc->head[3] != 'P')
		return -1;
	scan.sc = sc;
	scan.len = len;
	bpf_loop((len + 7) / 8, scan_word, &scan, 0);
	if (!scan.found)
		return -1;
	*head = scan.head;
	return 0;
}

/*
 * nginx adds X-Request-ID last (`add_header ... always`, lab/nginx/nginx.conf.template), so in the
 * lab the head's last 64 bytes are `\nX-Request-ID: <32 hex>\r\n\r\n` preceded by one byte of
 * the line before: read and checked in place. 0 when that is what they hold.
 */
#define NGX_TAIL_LEN 64
#define NGX_TAIL_LINE (NGX_TAIL_LEN - 4 - 32 - NGX_ID_NAME_LEN - 1)
/* The id's i-th digit in the head's last bytes, t[]. */
#define TAIL_ID_DIGIT(i) t[NGX_TAIL_LINE + 1 + NGX_ID_NAME_LEN + (i)]

__noinline int nginx_head_tail(__u64 buf, __u64 size, __u32 *head)
{
	const char name[] = NGX_ID_NAME;
	char t[NGX_TAIL_LEN];
	__u32 h = 0;
	int i;

	if (!head || size < NGX_TAIL_LEN || bpf_probe_read_user(t, sizeof(t), (const void *)(buf + size - NGX_TAIL_LEN)))
		return -1;
	if (t[NGX_TAIL_LINE] != '\n' || t[60] != '\r' || t[61] != '\n' || t[62] != '\r' || t[63] != '\n')
		return -1;
#pragma unroll
	for (i = 0; i < NGX_ID_NAME_LEN; i++)
		if (t[NGX_TAIL_LINE + 1 + i] != name[i])
			return -1;
	ID_HEAD_FROM_HEX(TAIL_ID_DIGIT, h, return -1);
	*head = h;
	return 0;
}

/* The user buffer a TCP send starts with: a single buffer, or the first iovec; its whole size. */
static __always_inline int send_buffer(const struct msghdr *msg, __u64 *buf, __u64 *len)
{
	__u8 type = BPF_CORE_READ(msg, msg_iter.iter_type);
	__u64 off = BPF_CORE_READ(msg, msg_iter.iov_offset);
	__u64 base, size;

	if (type == ITER_UBUF_TYPE) {
		base = (__u64)BPF_CORE_READ(msg, msg_iter.ubuf);
		size = BPF_CORE_READ(msg, msg_iter.count);
	} else if (type == ITER_IOVEC_TYPE) {
		const struct iovec *iov = BPF_CORE_READ(msg, msg_iter.__iov);

		base = (__u64)BPF_CORE_READ(iov, iov_base);
		size = BPF_CORE_READ(iov, iov_len);
	} else {
		return -1;
	}
	if (off >= size)
		return -1;
	*buf = base + off;
	*len = size - off;
	return 0;
}

/*
 * The user buffer an nginx send syscall started with, from the task's syscall registers (its
 * head is the first buffer nginx writes: write, writev, sendto, sendmsg). What the send-start hook
 * reads from the msghdr, for the send's end, so that hook need not run while sampling.
 */
#if defined(__TARGET_ARCH_x86)
#define NR_WRITE 1
#define NR_WRITEV 20
#define NR_SENDTO 44
#define NR_SENDMSG 46

static __always_inline int syscall_send_buffer(__u64 *buf, __u64 *len)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	long nr = BPF_CORE_READ(regs, orig_ax);
	__u64 arg2 = BPF_CORE_READ(regs, si);
	const struct iovec *iov;

	if (nr == NR_WRITE || nr == NR_SENDTO) {
		*buf = arg2;
		*len = BPF_CORE_READ(regs, dx);
		return 0;
	}
	if (nr == NR_WRITEV) {
		iov = (const struct iovec *)arg2;
	} else if (nr == NR_SENDMSG) {
		const struct user_msghdr *m = (const struct user_msghdr *)arg2;

		if (bpf_probe_read_user(&iov, sizeof(iov), &m->msg_iov))
			return -1;
	} else {
		return -1;
	}
	if (bpf_probe_read_user(buf, sizeof(*buf), &iov->iov_base) ||
	    bpf_probe_read_user(len, sizeof(*len), &iov->iov_len))
		return -1;
	return 0;
}
#else
static __always_inline int syscall_send_buffer(__u64 *buf, __u64 *len)
{
	return -1;
}
#endif

/* The request id's first 32 bits from an nginx response head at buf; 0 when found. */
static __always_inline int response_head_id(__u64 buf, __u64 len, __u32 *head)
{
	if (!nginx_head_tail(buf, len, head))
		return 0;
	return nginx_response_head(buf, len > NGX_HEAD_LEN ? NGX_HEAD_LEN : len, head);
}

/* The app's probes decide (the usdt family is loaded): no decision for a connection means its
 * request was not sampled. Without them every request is kept, as without sampling. */
const volatile __u32 targ_app_decides = 0;

/*
 * The responses nginx's upstream side found wanted (by the app's decision), by their id's first
 * 32 bits, until nginx's client side writes their head. While there is none (sock_gates.heads),
 * a head nginx writes is a response to a request outside the sample and is not read. One whose
 * head is never written (its client gone in between) keeps heads read, as before the gate.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_DECISIONS);
	__type(key, __u32);
	__type(value, __u64);
} wanted_heads SEC(".maps");

static __always_inline void expect_head(const __u8 id[16])
{
	struct sock_gates *g = gates();
	__u32 head = id_head(id);
	__u64 one = 1, *n;

	if (!g)
		return;
	n = bpf_map_lookup_elem(&wanted_heads, &head);
	if (n)
		__sync_fetch_and_add(n, 1);
	else if (bpf_map_update_elem(&wanted_heads, &head, &one, BPF_NOEXIST))
		return; /* full: no gate holds the head back, so it is read as before */
	__sync_fetch_and_add(&g->heads, 1);
}

/* A head nginx wrote was one its upstream side expected: the gate closes behind it. */
static __always_inline void head_written(__u32 head)
{
	struct sock_gates *g = gates();
	__u64 *n;

	if (!g || !(n = bpf_map_lookup_elem(&wanted_heads, &head)))
		return;
	if (__sync_fetch_and_add(n, -1) == 1)
		bpf_map_delete_elem(&wanted_heads, &head);
	__sync_fetch_and_add(&g->heads, -1);
}

/* No response nginx's upstream side found wanted waits for its head: the next head is unwanted. */
static __always_inline int no_head_expected(void)
{
	struct sock_gates *g;

	return targ_app_decides && (g = gates()) && *(volatile __s64 *)&g->heads <= 0;
}

/* nginx's client side decides by the id in the response head it writes (once per response). */
static __always_inline void decide_by_head(struct sock_state *st, __u64 buf, __u64 len)
{
	__u32 head;

	st->parsed = 1;
	if (response_head_id(buf, len, &head)) {
		st->decided = SD_WANTED;
		return;
	}
	st->decided = sampled_head(head) ? SD_WANTED : SD_UNWANTED;
	if (st->decided == SD_UNWANTED)
		run_drop(st);
	else
		head_written(head);
}

/* The head of a response no wanted one waits for: unwanted, unread. */
static __always_inline void head_unwanted(struct sock_state *st)
{
	st->parsed = 1;
	st->decided = SD_UNWANTED;
	run_drop(st);
}

static __always_inline int head_undecided(const struct sock_state *st)
{
	return st->role == ROLE_NGINX && st->accepted && st->decided == SD_NONE && !st->parsed;
}

/* Set by the loader while sampling on x86: nginx's response head is read at the send's end,
 * from the syscall's arguments, and the send-start hook is not attached. */
const volatile __u32 targ_heads_at_end = 0;

/* nginx's upstream side: the app's decision for the other end of this connection, taken once. */
static __always_inline __u8 upstream_decision(const struct sock_state *st)
{
	struct conn_decision d;
	struct conn_key k;

	if (!targ_app_decides)
		return SD_WANTED;
	conn_key_of(&st->tuple, 0, &k);
	if (!take_decision(&k, &d))
		return SD_UNWANTED;
	expect_head(d.request_id);
	return SD_WANTED;
}

/* A benchmark's floor (--sockets-floor): the programs stop at entry (FLOOR_DISPATCH), once the
 * ports have said whether the socket is the lab's (FLOOR_PORTS), or once the send or receive has
 * found its socket's state and the app's binding (FLOOR_STATE), and record no I/O. */
enum floor { FLOOR_OFF = 0, FLOOR_DISPATCH = 1, FLOOR_PORTS = 2, FLOOR_STATE = 3 };
const volatile __u32 targ_floor = FLOOR_OFF;

/* The benchmark's floor stops the program at `step` or before it. */
static __always_inline int floor_stops_at(enum floor step)
{
	return targ_floor != FLOOR_OFF && targ_floor <= step;
}

/* --- the app ------------------------------------------------------------------------------ */

static __always_inline void app_recv(struct sock_state *st, __u64 start, __u64 now, __s64 bytes, __u32 tid)
{
	if (!st->accepted) {
		/* A pg connection: only a sampled query's result is wanted. */
		if (st->decided != SD_WANTED) {
			st->dir = DIR_RECV;
			return;
		}
		if (st->dir == DIR_SEND)
			run_emit_own(st);
		run_add(st, DIR_RECV, start, now, bytes, tid);
		return;
	}
	if (st->dir == DIR_SEND) {
		/* The next request's bytes (HTTP/1.1 sends it only after the whole response). */
		if (st->decided == SD_WANTED)
			run_emit_own(st);
		run_drop(st);
		st->decided = SD_NONE;
		zero_id(st->request_id);
	} else if (st->decided == SD_UNWANTED) {
		st->dir = DIR_RECV;
		return;
	}
	run_add(st, DIR_RECV, start, now, bytes, tid);
}

static __always_inline void app_send(struct sock_state *st, __u64 start, __u64 now, __s64 bytes, __u32 tid)
{
	if (st->decided != SD_WANTED) {
		/* A response to no request a probe announced (attached mid-request), or unsampled. */
		if (st->accepted && st->decided == SD_NONE) {
			run_drop(st);
			st->decided = SD_UNWANTED;
		}
		st->dir = DIR_SEND;
		return;
	}
	if (st->dir == DIR_RECV)
		run_emit_own(st);
	run_add(st, DIR_SEND, start, now, bytes, tid);
}

/* --- nginx -------------------------------------------------------------------------------- */

static __always_inline void nginx_recv(struct sock_state *st, __u64 start, __u64 now, __s64 bytes, __u32 tid)
{
	if (st->accepted) {
		if (st->dir != DIR_RECV) {
			/* A client's next request: the previous response is complete. */
			if (st->decided == SD_WANTED)
				run_emit(st, NULL);
			run_drop(st);
			st->decided = sampling() ? SD_NONE : SD_WANTED;
			st->parsed = 0;
		}
		run_add(st, DIR_RECV, start, now, bytes, tid);
		return;
	}
	if (st->dir == DIR_SEND) {
		/* The response begins: the app has read the request and decided it by now. */
		if (st->decided == SD_NONE)
			st->decided = upstream_decision(st);
		if (st->decided == SD_WANTED)
			run_emit(st, NULL);
		run_drop(st);
	}
	if (st->decided == SD_UNWANTED) {
		st->dir = DIR_RECV;
		return;
	}
	run_add(st, DIR_RECV, start, now, bytes, tid);
}

static __always_inline void nginx_send(struct sock_state *st, __u64 start, __u64 now, __s64 bytes, __u32 tid)
{
	if (st->accepted) {
		/* A head that named no request keeps its request, as without sampling. */
		if (st->decided == SD_NONE)
			st->decided = SD_WANTED;
	} else if (st->dir != DIR_SEND) {
		/* The next request's head on the upstream connection. */
		if (st->decided == SD_WANTED)
			run_emit(st, NULL);
		run_drop(st);
		st->decided = sampling() ? SD_NONE : SD_WANTED;
	}
	if (st->decided == SD_UNWANTED) {
		st->dir = DIR_SEND;
		return;
	}
	if (st->accepted && st->dir == DIR_RECV)
		run_emit(st, NULL);
	run_add(st, DIR_SEND, start, now, bytes, tid);
}

/* --- the hooks ---------------------------------------------------------------------------- */

/*
 * The lab's listening ports and their roles (lab_port_roles holds them too), set at open and
 * compared as constants: a lookup of a connection's ephemeral end in lab_port_roles reads a word
 * nothing else reads, a cache miss on nearly every hook (~90–130 ns a run here). With more ports than
 * fit, the roles are looked up.
 */
const volatile __u16 targ_lab_ports[LAB_FAST_PORTS] = {};
const volatile __u8 targ_lab_roles[LAB_FAST_PORTS] = {};
const volatile __u32 targ_lab_port_count = LAB_FAST_PORTS + 1;

static __always_inline __u32 sock_port_role(__u16 port)
{
	if (targ_lab_port_count > LAB_FAST_PORTS)
		return port_role(port);
#pragma unroll
	for (int i = 0; i < LAB_FAST_PORTS; i++) {
		if (i >= targ_lab_port_count)
			break;
		if (port == targ_lab_ports[i])
			return targ_lab_roles[i];
	}
	return 0;
}

/*
 * What a socket's ports say before its storage is read (they sit in its first cache line, which
 * the hook's caller has just used): the lab process listening on its local port (the socket is
 * that process's server end) or on its remote one (a client of that process).
 */
enum port_class {
	PC_OTHER = 0,
	PC_PG_SERVER,    /* a backend's end: nothing to follow once its owner is known */
	PC_PROXY_CLIENT, /* a client of the proxy, which no lab process is: nothing to follow */
	PC_PG_CLIENT,    /* a connection to PostgreSQL: followed while a query holds one */
	PC_APP_CLIENT,   /* a connection to the app (nginx's upstream side) */
};

static __always_inline int port_class(const struct sock *sk)
{
	__u32 local = sock_port_role(sk->__sk_common.skc_num), remote;

	if (local == ROLE_POSTGRES)
		return PC_PG_SERVER;
	if (local)
		return PC_OTHER;
	remote = sock_port_role(__builtin_bswap16(sk->__sk_common.skc_dport));
	if (remote == ROLE_NGINX)
		return PC_PROXY_CLIENT;
	if (remote == ROLE_APP)
		return PC_APP_CLIENT;
	return remote == ROLE_POSTGRES ? PC_PG_CLIENT : PC_OTHER;
}

/* No query holds a pg connection while sampling: none of their I/O is wanted. */
static __always_inline int pg_idle(void)
{
	__s64 *n;

	return sampling() && (n = counter_slot(pg_held)) && *n <= 0;
}

/* The app serves no sampled request while sampling (the usdt family counts them). */
static __always_inline int app_idle(void)
{
	return targ_app_decides && no_sampled_request();
}

enum hook_kind {
	HK_RECV,
	HK_BACKEND_RECV, /* a receive, where a backend's socket without a state still wants one */
	HK_SEND,
	HK_DATA_READY,
};

/*
 * 1 when a hook has nothing to do for `sk`, read off its ports. A backend's receive is looked at
 * until its socket has a state (made with the owner record, sock_of). Data reaching nginx's
 * upstream side arrives in the app's send of a response: one to an unsampled request while the
 * app serves no sampled one.
 */
static __always_inline int idle_socket(const struct sock *sk, enum hook_kind hook)
{
	switch (port_class(sk)) {
	case PC_PG_SERVER:
		return hook != HK_BACKEND_RECV || sk->sk_bpf_storage;
	case PC_PROXY_CLIENT:
		return 1;
	case PC_PG_CLIENT:
		return pg_idle();
	case PC_APP_CLIENT:
		return hook == HK_DATA_READY && app_idle();
	}
	return 0;
}

/* The app's sockets take over what its probes bound since their last hook. */
static __always_inline struct sock_state *traced_sock(struct sock *sk)
{
	struct sock_state *st = sock_of(sk);

	if (st && st->role == ROLE_APP)
		sync_binding(st, sk);
	return st;
}

static __always_inline int on_recv(struct sock *sk, int ret)
{
	__u64 pid_tgid;
	struct sock_state *st;
	__u64 now, start;

	if (floor_stops_at(FLOOR_DISPATCH) || ret <= 0 || idle_socket(sk, HK_BACKEND_RECV) || floor_stops_at(FLOOR_PORTS))
		return 0;
	st = traced_sock(sk);
	if (floor_stops_at(FLOOR_STATE))
		return 0;
	if (!st || st->role == ROLE_POSTGRES)
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	/* While sampling no receive's start is taken (the copy hook is not attached). */
	start = 0;
	if (!sampling()) {
		start = st->recv_start_ns;
		st->recv_start_ns = 0;
	}
	now = bpf_ktime_get_ns();
	if (!start || start > now)
		start = now;
	if (st->role == ROLE_APP)
		app_recv(st, start, now, ret, (__u32)pid_tgid);
	else if (st->role == ROLE_NGINX)
		nginx_recv(st, start, now, ret, (__u32)pid_tgid);
	/* Taken by the run, or not wanted: a later run must not start from it. */
	if (targ_arrivals)
		st->pending_arrival_ns = 0;
	return 0;
}

/* A receive copies its first bytes: its start (an unwanted socket too: its next read may be a
 * new request's). */
static __always_inline int on_recv_copy(struct sock *sk)
{
	struct sock_state *st;

	if (floor_stops_at(FLOOR_DISPATCH) || !sk || idle_socket(sk, HK_RECV) || floor_stops_at(FLOOR_STATE))
		return 0;
	st = bpf_sk_storage_get(&sk_states, sk, 0, 0);
	if (st && st->tgid && !st->recv_start_ns && st->role != ROLE_POSTGRES && st->role != SOCK_IGNORED)
		st->recv_start_ns = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int on_send(struct sock *sk, int ret)
{
	struct sock_state *st;
	__u64 pid_tgid, now, start;

	if (floor_stops_at(FLOOR_DISPATCH) || idle_socket(sk, HK_SEND) || floor_stops_at(FLOOR_PORTS))
		return 0;
	st = traced_sock(sk);
	if (!st || floor_stops_at(FLOOR_STATE))
		return 0;
	/* While sampling the send-start hook takes no start (it reads nginx's heads, if attached). */
	start = 0;
	if (!sampling()) {
		start = st->send_start_ns;
		st->send_start_ns = 0;
	}
	if (ret <= 0 || st->role == ROLE_POSTGRES)
		return 0;
	if (targ_heads_at_end && head_undecided(st)) {
		__u64 buf, len;

		if (no_head_expected())
			head_unwanted(st);
		else if (syscall_send_buffer(&buf, &len))
			st->decided = SD_WANTED;
		else
			decide_by_head(st, buf, len);
	}
	pid_tgid = bpf_get_current_pid_tgid();
	now = bpf_ktime_get_ns();
	if (!start || start > now)
		start = now;
	if (st->role == ROLE_APP)
		app_send(st, start, now, ret, (__u32)pid_tgid);
	else if (st->role == ROLE_NGINX)
		nginx_send(st, start, now, ret, (__u32)pid_tgid);
	return 0;
}

/*
 * A TCP send begins (first loop of tcp_sendmsg_locked). Attached at --sample 1, for the sends'
 * start times, or while sampling where the send's end cannot read nginx's response head
 * (targ_heads_at_end unset): then only that head is read here.
 */
static __always_inline int on_send_start(struct sock *sk, const struct msghdr *msg)
{
	struct sock_state *st;
	__u64 buf, len;

	if (floor_stops_at(FLOOR_DISPATCH) || idle_socket(sk, HK_SEND) || floor_stops_at(FLOOR_STATE))
		return 0;
	if (!sampling()) {
		st = traced_sock(sk);
		if (st && st->role != ROLE_POSTGRES && st->decided != SD_UNWANTED && !st->send_start_ns)
			st->send_start_ns = bpf_ktime_get_ns();
		return 0;
	}
	/* nginx's client side: the response's first send after the request was read. */
	st = bpf_sk_storage_get(&sk_states, sk, 0, 0);
	if (!st || !head_undecided(st))
		return 0;
	if (no_head_expected()) {
		head_unwanted(st);
		return 0;
	}
	if (send_buffer(msg, &buf, &len)) {
		st->parsed = 1;
		st->decided = SD_WANTED;
		return 0;
	}
	decide_by_head(st, buf, len);
	return 0;
}

/*
 * Runs in the sender's context (for loopback, the peer's syscall). A socket not known yet but on
 * a lab port is a new connection whose first data arrives before accept: its state starts here,
 * unclaimed, so the first request has its arrival time too.
 */
static __always_inline int on_data_ready(struct sock *sk)
{
	struct sock_state *st;

	if (floor_stops_at(FLOOR_DISPATCH) || idle_socket(sk, HK_DATA_READY) || floor_stops_at(FLOOR_STATE))
		return 0;
	st = bpf_sk_storage_get(&sk_states, sk, 0, 0);
	if (st) {
		if (!st->pending_arrival_ns && st->role != ROLE_POSTGRES)
			st->pending_arrival_ns = bpf_ktime_get_ns();
		return 0;
	}
	if (!sock_port_role(BPF_CORE_READ(sk, __sk_common.skc_num)) ||
	    BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_LISTEN || !is_inet_tcp(sk))
		return 0;
	st = new_sock_state(sk);
	if (st && !st->tgid)
		st->pending_arrival_ns = bpf_ktime_get_ns();
	return 0;
}

/* The end of a connection: what it collected goes out, with a close record, and its state with it. */
static __always_inline int on_state(struct sock *sk, int newstate)
{
	struct sock_state *st;
	struct ev_sock_conn *e;
	const __u8 *id;

	if (newstate != TCP_CLOSE_STATE)
		return 0;
	st = bpf_sk_storage_get(&sk_states, sk, 0, 0);
	if (!st)
		return 0;
	if (st->tgid && st->role != ROLE_POSTGRES && st->role != SOCK_IGNORED) {
		if (st->role == ROLE_APP)
			sync_binding(st, sk);
		if (run_owner(st, NULL, &id))
			run_emit(st, id);
		e = reserve_event(sizeof(*e));
		if (e) {
			fill_header(&e->h, kind_of(EV_SOCK_CLOSE, st->tentative && st->decided == SD_WANTED), sizeof(*e),
				    st->fd, ((__u64)st->tgid << 32) | st->run_tid, bpf_ktime_get_ns());
			if (st->role == ROLE_APP && st->accepted && st->decided == SD_WANTED)
				copy_id(e->h.request_id, st->request_id);
			else
				zero_id(e->h.request_id);
			e->duration_ns = 0;
			e->ret = 0;
			e->tuple = st->tuple;
			submit_event(e);
		}
	}
	if (st->role == ROLE_APP && st->accepted) {
		struct conn_key k;

		conn_key_of(&st->tuple, 1, &k);
		take_decision(&k, NULL);
	} else if (st->role == ROLE_APP && st->fd >= 0) {
		struct sock_bind *b = fd_bind(st->fd);

		/* A pg connection closed while a query held it. */
		if (b && b->sk == (__u64)sk)
			hold_pg_bind(b, 0);
	}
	bpf_sk_storage_delete(&sk_states, sk);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(btf_recv, struct sock *sk, int ret, int flags)
{
	return on_recv(sk, ret);
}

SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(btf_recv_copy, const struct sk_buff *skb, int len)
{
	return on_recv_copy(skb->sk);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(btf_send, struct sock *sk, int ret, int flags)
{
	return on_send(sk, ret);
}

SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(btf_send_start, const struct sock *sk, const struct msghdr *msg)
{
	return on_send_start((struct sock *)sk, msg);
}

SEC("tp_btf/sk_data_ready")
int BPF_PROG(btf_data_ready, const struct sock *sk)
{
	return on_data_ready((struct sock *)sk);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(btf_state, const struct sock *sk, int oldstate, int newstate)
{
	return on_state((struct sock *)sk, newstate);
}

/*
 * When tracing stops (after every hook detached), the loader walks the TCP sockets with this
 * iterator (the socket-storage iterator is refused here): each socket's run still collected (a
 * keep-alive connection's last response, a request no response followed yet) is written as a
 * record, under the binding it was collected under.
 */
SEC("iter/tcp")
int drain_runs(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct sock_bind *b = NULL;
	struct sock_state *st;
	struct ev_sock_io e;
	struct tcp_sock *tp;
	const __u8 *id;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	st = bpf_sk_storage_get(&sk_states, (struct sock *)tp, 0, 0);
	if (!st)
		return 0;
	if (st->role == ROLE_APP)
		b = changed_binding(st, (struct sock *)tp);
	if (!run_owner(st, b, &id))
		return 0;
	fill_sock_io(&e, st, id, b && st->decided != SD_WANTED ? b->tentative : st->tentative);
	if (b && st->decided != SD_WANTED)
		e.h.fd = b->fd;
	bpf_seq_write(ctx->meta->seq, &e, sizeof(e));
	return 0;
}
