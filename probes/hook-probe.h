/* SPDX-License-Identifier: MIT */
/* Hook kinds that hook-probe tries, shared by hook-probe.bpf.c and hook-probe.c. */
#ifndef REQTRACE_HOOK_PROBE_H
#define REQTRACE_HOOK_PROBE_H

enum hook_kind {
	HK_TRACEPOINT,
	HK_TP_BTF,
	HK_RAW_TRACEPOINT,
	HK_UPROBE,
	HK_USDT,
	HK_FENTRY,
	HK_KPROBE,
	HK_ITERATOR,
	HK_COUNT,
};

#endif /* REQTRACE_HOOK_PROBE_H */
