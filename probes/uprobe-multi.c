// SPDX-License-Identifier: MIT
/* uprobe_multi links by a raw bpf(BPF_LINK_CREATE) (uprobe-multi.h). */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include "uprobe-multi.h"

/* The link_create attributes of a uprobe_multi link, as uapi/linux/bpf.h (Linux 6.6) lays them out. */
struct link_create_uprobe_multi {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 multi_flags;
	__u32 pid;
	__u32 _pad;
};

int uprobe_multi_link(int prog_fd, const char *path, const unsigned long *offsets, const unsigned long *ref_ctr_offsets,
		      const __u64 *cookies, __u32 cnt)
{
	struct link_create_uprobe_multi attr = {
		.prog_fd = prog_fd,
		.attach_type = ATTACH_UPROBE_MULTI,
		.path = (__u64)(unsigned long)path,
		.offsets = (__u64)(unsigned long)offsets,
		.ref_ctr_offsets = (__u64)(unsigned long)ref_ctr_offsets,
		.cookies = (__u64)(unsigned long)cookies,
		.cnt = cnt,
		.pid = 0,
	};
	int fd = syscall(SYS_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));

	return fd < 0 ? -errno : fd;
}
