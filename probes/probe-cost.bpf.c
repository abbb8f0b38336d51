// SPDX-License-Identifier: MIT
/* probe-cost: programs that do nothing, so what a run costs is what the hook itself costs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("usdt")
int BPF_USDT(empty_usdt, long n)
{
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(empty_tp, struct sock *sk, int ret, int flags)
{
	return 0;
}
