// SPDX-License-Identifier: MIT
/*
 * One tiny program per hook kind. hook-probe.c loads and attaches them one at a time, triggers
 * each from its own process and reads `hits` to see whether it really ran.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "hook-probe.h"

const volatile __u32 targ_tgid = 0;

__u64 hits[HK_COUNT] = {};

static __always_inline int count_hit(int kind)
{
	if (bpf_get_current_pid_tgid() >> 32 != targ_tgid)
		return 0;
	if (kind >= 0 && kind < HK_COUNT)
		__sync_fetch_and_add(&hits[kind], 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int probe_tracepoint(void *ctx)
{
	return count_hit(HK_TRACEPOINT);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(probe_tp_btf, struct pt_regs *regs, long id)
{
	return count_hit(HK_TP_BTF);
}

SEC("raw_tracepoint/sys_enter")
int probe_raw_tracepoint(struct bpf_raw_tracepoint_args *ctx)
{
	return count_hit(HK_RAW_TRACEPOINT);
}

/* Attached by hook-probe.c to its own hook_probe_target(). */
SEC("uprobe")
int BPF_KPROBE(probe_uprobe)
{
	return count_hit(HK_UPROBE);
}

/* Attached by hook-probe.c to its own reqtrace_hook_probe:ping USDT note. */
SEC("usdt")
int BPF_USDT(probe_usdt, int token)
{
	return count_hit(HK_USDT);
}

/* vfs_read is what the socket and file families would use with fentry/kprobes. */
SEC("fentry/vfs_read")
int BPF_PROG(probe_fentry)
{
	return count_hit(HK_FENTRY);
}

SEC("kprobe/vfs_read")
int BPF_KPROBE(probe_kprobe)
{
	return count_hit(HK_KPROBE);
}

/* Runs in the reader's context, so the tgid filter holds: counts the tasks walked. */
SEC("iter/task")
int probe_iterator(struct bpf_iter__task *ctx)
{
	if (!ctx->task)
		return 0;
	return count_hit(HK_ITERATOR);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
