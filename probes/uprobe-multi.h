/* SPDX-License-Identifier: MIT */
/*
 * uprobe_multi links (Linux 6.6): one link attaches a program at many sites of a binary. libbpf
 * 1.1 predates them, so the attach type is a number here and the link is made by a raw
 * bpf(BPF_LINK_CREATE) with the attributes of uapi/linux/bpf.h.
 */
#ifndef REQTRACE_UPROBE_MULTI_H
#define REQTRACE_UPROBE_MULTI_H

#include <linux/types.h>

#define ATTACH_UPROBE_MULTI 48

/*
 * One link of program `prog_fd` over `cnt` sites of `path` (file offsets, semaphore offsets or 0,
 * a BPF cookie each), for every process that runs it (no pid filter). The link's fd, or a
 * negative errno.
 */
int uprobe_multi_link(int prog_fd, const char *path, const unsigned long *offsets, const unsigned long *ref_ctr_offsets,
		      const __u64 *cookies, __u32 cnt);

#endif /* REQTRACE_UPROBE_MULTI_H */
