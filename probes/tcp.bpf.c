// SPDX-License-Identifier: MIT
/*
 * TCP family: retransmitted segments on the lab's connections.
 *
 * tcp_retransmit_skb mostly runs from the retransmit timer or softirq, where the current task
 * is whoever happened to be on the CPU, so a record names no process (pid 0, fd -1, no request
 * id): tracer/ joins it to the request by 4-tuple. A socket is the lab's when the sockets family
 * knows it (its socket storage, or `sk_arrival` with the syscall hooks) or one of its ports is a
 * port a traced process listens on (`lab_port_roles`, filled by the loader).
 */
#include "sock_state.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

static __always_inline int lab_port_pair(__u16 sport, __u16 dport)
{
	return is_lab_port(sport) || is_lab_port(dport);
}

static __always_inline void emit(struct tuple *t, __u32 state)
{
	struct ev_tcp_retransmit *e = reserve_event(sizeof(*e));

	if (!e)
		return;
	fill_header(&e->h, EV_TCP_RETRANSMIT, sizeof(*e), -1, 0, bpf_ktime_get_ns());
	zero_id(e->h.request_id);
	e->state = state;
	e->_pad = 0;
	__builtin_memcpy(&e->tuple, t, sizeof(*t));
	submit_event(e);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(btf_retransmit, const struct sock *sk)
{
	struct tuple t;

	__u64 key = (__u64)sk;

	read_tuple((struct sock *)sk, &t);
	if (!bpf_sk_storage_get(&sk_states, (struct sock *)sk, 0, 0) && !bpf_map_lookup_elem(&sk_arrival, &key) &&
	    !lab_port_pair(t.sport, t.dport))
		return 0;
	emit(&t, BPF_CORE_READ(sk, __sk_common.skc_state));
	return 0;
}

/* The tracepoint stores IPv4 addresses IPv4-mapped in the v6 fields as well. */
SEC("tracepoint/tcp/tcp_retransmit_skb")
int tp_retransmit(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	struct tuple t = {};

	__u64 key = (__u64)ctx->skaddr;

	t.sport = ctx->sport;
	t.dport = ctx->dport;
	if (!bpf_map_lookup_elem(&sk_arrival, &key) && !lab_port_pair(t.sport, t.dport))
		return 0;
	t.family = ctx->family;
	/* Copied through a helper: the verifier refuses byte loads through a moved ctx pointer. */
	bpf_probe_read_kernel(t.saddr, sizeof(t.saddr), ctx->saddr_v6);
	bpf_probe_read_kernel(t.daddr, sizeof(t.daddr), ctx->daddr_v6);
	emit(&t, ctx->state);
	return 0;
}
