/* SPDX-License-Identifier: MIT */
/*
 * Load-time detection of the hook kind a family can use, for glue code that offers a fallback
 * (tp_btf → raw_tp or tracepoint). The answer comes from loading a two-instruction program of
 * that kind, not from the kernel version: this kernel has BTF and tp_btf yet refuses fentry.
 */
#ifndef REQTRACE_HOOK_DETECT_H
#define REQTRACE_HOOK_DETECT_H

#include <stdbool.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* Whether a tp_btf program on tracepoint `tp` (e.g. "sched_switch") loads here. */
static inline bool tp_btf_loads(const char *tp)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP);
	int btf_id = libbpf_find_vmlinux_btf_id(tp, BPF_TRACE_RAW_TP);
	int fd;

	if (btf_id <= 0)
		return false;
	opts.attach_btf_id = btf_id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "detect_tp_btf", "GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), &opts);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Whether a raw tracepoint program attaches to `tp` (e.g. "sock_send_length") here. */
static inline bool raw_tp_attaches(const char *tp)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "detect_raw_tp", "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);
	int link;

	if (fd < 0)
		return false;
	link = bpf_raw_tracepoint_open(tp, fd);
	if (link >= 0)
		close(link);
	close(fd);
	return link >= 0;
}

/* Whether uprobe_multi links exist (Linux 6.6): one link attaches a program at many sites of
 * one process, and its detach costs one grace period instead of one per site. libbpf 1.1
 * predates the attach type, hence its number. */
static inline bool uprobe_multi_loads(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = 48 /* TRACE_UPROBE_MULTI */);
	int fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "detect_umulti", "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), &opts);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

#endif /* REQTRACE_HOOK_DETECT_H */
