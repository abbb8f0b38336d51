// SPDX-License-Identifier: MIT
/*
 * Test fixture for the tcp family: a tc ingress filter for the loopback device of a private
 * network namespace that drops about a third of the TCP data segments sent to one port, so the
 * sender retransmits them. A retransmission faces the same odds; the loss is random because a
 * retransmitted segment is otherwise indistinguishable here, which is what TCP recovers from.
 * Ingress, not egress: a drop at egress is a local transmit failure that TCP resends as a new
 * transmission, without tcp_retransmit_skb.
 *
 *   tc qdisc add dev lo clsact
 *   tc filter add dev lo ingress bpf direct-action obj tcp-drop-fixture.bpf.o sec tc
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define DROP_PORT 24150

SEC("tc")
int drop_some(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp;
	__u32 payload;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_TCP)
		return TC_ACT_OK;
	tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > end || tcp->dest != bpf_htons(DROP_PORT))
		return TC_ACT_OK;
	payload = bpf_ntohs(ip->tot_len) - ip->ihl * 4 - tcp->doff * 4;
	if (payload == 0 || bpf_get_prandom_u32() % 3)
		return TC_ACT_OK;
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
