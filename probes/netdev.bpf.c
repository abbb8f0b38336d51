// SPDX-License-Identifier: MIT
/*
 * Netdev family (opt-in): the send path's last step for packets of the lab's TCP connections,
 * from the device layer (net:net_dev_queue, the packet handed to the device and its qdisc) to
 * the driver taking it (net:net_dev_xmit). Both fire for every packet the machine sends, hence
 * opt-in. Only packets with payload are timed (pure ACKs carry no one's bytes). A connection is
 * the lab's when one of its ports is a lab listening port (`lab_port_roles`):
 * nginx's clients, nginx → app, the app → PostgreSQL. The queue time shows where a qdisc holds
 * packets (a shaped veth link); on loopback, which has none, it is ~0.
 */
#include "fd.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct xmit_start {
	__u64 queued_ns;
	__u64 pid_tgid; /* the sender's when a traced process queued it (not a softirq's ACK) */
	struct tuple tuple; /* read here: a driver may orphan the packet before net_dev_xmit (lo does) */
};

/* skb → when it was queued. A hash (an entry pushed out would lose its record); entries go at
 * xmit, and a packet the qdisc drops leaves one that the next use of its skb overwrites. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_INFLIGHT_IO);
	__type(key, __u64);
	__type(value, struct xmit_start);
} net_queued SEC(".maps");

static __always_inline int lab_sock(struct sock *sk)
{
	__u16 sport, dport;

	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return is_lab_port(sport) || is_lab_port(dport);
}

/* TCP payload bytes of a packet at the device layer (its headers are all in place by now). */
static __always_inline __u32 tcp_payload(struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head), *data = BPF_CORE_READ(skb, data);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	__u32 len = BPF_CORE_READ(skb, len), hdrs;
	__u8 doff;

	if (bpf_probe_read_kernel(&doff, 1, head + th + 12))
		return len;
	hdrs = (__u32)(head + th - data) + (doff >> 4) * 4;
	return len > hdrs ? len - hdrs : 0;
}

static __always_inline int on_queue(struct sk_buff *skb)
{
	__u64 key = (__u64)skb, pid_tgid = bpf_get_current_pid_tgid();
	struct sock *sk = BPF_CORE_READ(skb, sk);
	struct xmit_start s = { .queued_ns = bpf_ktime_get_ns() };

	/* Pure ACKs carry no one's bytes: only packets with payload are timed. */
	if (!lab_sock(sk) || !tcp_payload(skb))
		return 0;
	if (traced_role(pid_tgid >> 32))
		s.pid_tgid = pid_tgid;
	read_tuple(sk, &s.tuple);
	if (bpf_map_update_elem(&net_queued, &key, &s, BPF_ANY))
		count_drop(DROP_NETDEV_FULL);
	return 0;
}

static __always_inline int on_xmit(struct sk_buff *skb, int rc, struct net_device *dev, unsigned int len)
{
	__u64 key = (__u64)skb;
	struct xmit_start *s = bpf_map_lookup_elem(&net_queued, &key);
	struct ev_net_xmit *e;

	if (!s)
		return 0;
	e = reserve_event(sizeof(*e));
	if (e) {
		fill_header(&e->h, EV_NET_XMIT, sizeof(*e), -1, s->pid_tgid, bpf_ktime_get_ns());
		zero_id(e->h.request_id);
		e->queued_ns = s->queued_ns;
		e->len = len;
		e->ifindex = BPF_CORE_READ(dev, ifindex);
		e->rc = rc;
		e->_pad = 0;
		e->tuple = s->tuple;
		submit_event(e);
	}
	bpf_map_delete_elem(&net_queued, &key);
	return 0;
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(btf_queue, struct sk_buff *skb)
{
	return on_queue(skb);
}

SEC("tp_btf/net_dev_xmit")
int BPF_PROG(btf_xmit, struct sk_buff *skb, int rc, struct net_device *dev, unsigned int len)
{
	return on_xmit(skb, rc, dev, len);
}

SEC("raw_tp/net_dev_queue")
int BPF_PROG(raw_queue, struct sk_buff *skb)
{
	return on_queue(skb);
}

SEC("raw_tp/net_dev_xmit")
int BPF_PROG(raw_xmit, struct sk_buff *skb, int rc, struct net_device *dev, unsigned int len)
{
	return on_xmit(skb, rc, dev, len);
}
