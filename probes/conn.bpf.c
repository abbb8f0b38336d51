// SPDX-License-Identifier: MIT
/*
 * Conn family: how each connection of the lab was set up, from sock:inet_sock_set_state, which
 * fires only when a TCP socket changes state (a few times per connection, never per byte), and
 * from nginx's accept (a uprobe on ngx_http_init_connection, once per accepted connection).
 *
 *   client connect()  ──SYN──▶  listener        (client: CLOSE → SYN_SENT, current = the caller)
 *                    ◀─SYN-ACK─                 (client: SYN_SENT → ESTABLISHED, softirq)
 *                     ──ACK──▶  child created   (server: SYN_RECV → ESTABLISHED, softirq):
 *                               accept queue    EV_CONN_SETUP (server), SYN time from the client
 *                               nginx accepts   EV_CONN_ACCEPT (uprobe, nginx's context)
 *
 * Client side, for connects of traced processes (the app's pool, nginx's upstream): SYN_SENT →
 * ESTABLISHED (or → CLOSE: refused) is EV_CONN_SETUP (client). A local client's connect to a lab
 * port is remembered by 4-tuple until the server end is established, which gives the handshake
 * as the client started it; a remote client's SYN is not seen (syn_ns 0).
 */
#include "fd.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_CLOSE 7

/* A connect in progress (keyed by its sock: at SYN_SENT the source port may not be chosen yet). */
struct pending_connect {
	__u64 syn_ns;
	__u64 pid_tgid; /* the caller's, 0 when it is not a traced process */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CONN_PENDING);
	__type(key, __u64);
	__type(value, struct pending_connect);
} conn_connects SEC(".maps");

/* A local client's established connection to a lab port, by its 4-tuple as the client sees it,
 * until the server end is established and reads it. */
struct conn_tuple_key {
	__u8 client[16];
	__u8 server[16];
	__u16 client_port;
	__u16 server_port;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CONN_PENDING);
	__type(key, struct conn_tuple_key);
	__type(value, __u64);
} conn_syns SEC(".maps");

static __always_inline int lab_port(__u16 port)
{
	return is_lab_port(port);
}

/* The key of a connection seen from `t`: the client's end is local when `client_is_local`. */
static __always_inline void tuple_key(const struct tuple *t, int client_is_local, struct conn_tuple_key *k)
{
	if (client_is_local) {
		__builtin_memcpy(k->client, t->saddr, 16);
		__builtin_memcpy(k->server, t->daddr, 16);
		k->client_port = t->sport;
		k->server_port = t->dport;
	} else {
		__builtin_memcpy(k->client, t->daddr, 16);
		__builtin_memcpy(k->server, t->saddr, 16);
		k->client_port = t->dport;
		k->server_port = t->sport;
	}
}

static __always_inline void emit_setup(struct sock *sk, const struct tuple *t, __u32 side, __u64 syn_ns,
				       __u64 pid_tgid, __s32 error)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct ev_conn_setup *e = reserve_event(sizeof(*e));

	if (!e)
		return;
	fill_header(&e->h, EV_CONN_SETUP, sizeof(*e), -1, pid_tgid, bpf_ktime_get_ns());
	zero_id(e->h.request_id);
	e->syn_ns = syn_ns;
	e->side = side;
	/* srtt_us holds 8 times the smoothed RTT in µs. */
	e->rtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	e->retransmits = BPF_CORE_READ(tp, total_retrans);
	e->error = error;
	e->tuple = *t;
	submit_event(e);
}

/* A connect starts: remembered when a traced process makes it or it goes to a lab port. */
static __always_inline void on_syn_sent(__u64 sk)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct pending_connect p = { .syn_ns = bpf_ktime_get_ns() };
	__u16 dport = __builtin_bswap16(BPF_CORE_READ((struct sock *)sk, __sk_common.skc_dport));

	if (traced_role(pid_tgid >> 32))
		p.pid_tgid = pid_tgid;
	else if (!lab_port(dport))
		return;
	if (bpf_map_update_elem(&conn_connects, &sk, &p, BPF_ANY))
		count_drop(DROP_CONN_FULL);
}

/* A connect ends: established (SYN-ACK in) or failed (back to CLOSE). */
static __always_inline void on_connect_done(__u64 sk, int established)
{
	struct pending_connect *p = bpf_map_lookup_elem(&conn_connects, &sk);
	struct conn_tuple_key k;
	struct tuple t;
	__u64 syn_ns;

	if (!p)
		return;
	syn_ns = p->syn_ns;
	read_tuple((struct sock *)sk, &t);
	if (p->pid_tgid)
		emit_setup((struct sock *)sk, &t, CONN_CLIENT, syn_ns, p->pid_tgid,
			   established ? 0 : -(__s32)BPF_CORE_READ((struct sock *)sk, sk_err));
	bpf_map_delete_elem(&conn_connects, &sk);
	if (!established || !lab_port(t.dport))
		return;
	tuple_key(&t, 1, &k);
	if (bpf_map_update_elem(&conn_syns, &k, &syn_ns, BPF_ANY))
		count_drop(DROP_CONN_FULL);
}

/* The server end of a connection to a lab port is established: it joins the accept queue. */
static __always_inline void on_accept_queued(__u64 sk)
{
	struct conn_tuple_key k;
	struct tuple t;
	__u64 *syn, syn_ns = 0;

	read_tuple((struct sock *)sk, &t);
	if (!lab_port(t.sport))
		return;
	tuple_key(&t, 0, &k);
	syn = bpf_map_lookup_elem(&conn_syns, &k);
	if (syn) {
		syn_ns = *syn;
		bpf_map_delete_elem(&conn_syns, &k);
	}
	emit_setup((struct sock *)sk, &t, CONN_SERVER, syn_ns, 0, 0);
}

/* A local client's socket closing forgets its SYN if the server end never read it (refused,
 * or the listener is not the lab's after all). */
static __always_inline void on_close(__u64 sk)
{
	struct conn_tuple_key k;
	struct tuple t;

	bpf_map_delete_elem(&conn_connects, &sk);
	read_tuple((struct sock *)sk, &t);
	if (!lab_port(t.dport))
		return;
	tuple_key(&t, 1, &k);
	bpf_map_delete_elem(&conn_syns, &k);
}

static __always_inline int on_state(__u64 sk, int oldstate, int newstate)
{
	if (newstate == TCP_SYN_SENT)
		on_syn_sent(sk);
	else if (oldstate == TCP_SYN_SENT)
		on_connect_done(sk, newstate == TCP_ESTABLISHED);
	else if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED)
		on_accept_queued(sk);
	else if (newstate == TCP_CLOSE)
		on_close(sk);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(btf_state, const struct sock *sk, int oldstate, int newstate)
{
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	return on_state((__u64)sk, oldstate, newstate);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(raw_state, const struct sock *sk, int oldstate, int newstate)
{
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	return on_state((__u64)sk, oldstate, newstate);
}

/*
 * nginx hands each connection it accepted to ngx_http_init_connection(ngx_connection_t *c), in
 * the accepting worker, microseconds after accept4(). `fd` is the fourth pointer-sized member
 * of ngx_connection_t (after data, read, write) in every nginx release since 0.x.
 */
#define NGX_CONNECTION_FD_OFFSET 24

SEC("uprobe")
int BPF_KPROBE(nginx_accepted, void *c)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ev_sock_conn *e;
	struct socket *sock;
	struct file *file;
	struct sock *sk;
	__s32 fd;

	if (traced_role(pid_tgid >> 32) != ROLE_NGINX)
		return 0;
	if (bpf_probe_read_user(&fd, sizeof(fd), (char *)c + NGX_CONNECTION_FD_OFFSET))
		return 0;
	file = current_fd_file(fd);
	if (!file || (BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, EV_CONN_ACCEPT, sizeof(*e), fd, pid_tgid, bpf_ktime_get_ns());
	zero_id(e->h.request_id);
	e->duration_ns = 0;
	e->ret = fd;
	read_tuple(sk, &e->tuple);
	submit_event(e);
	return 0;
}
