/* SPDX-License-Identifier: MIT */
/* Resolving an fd of the current process to its file, socket and 4-tuple (CO-RE). */
#ifndef REQTRACE_FD_BPF_H
#define REQTRACE_FD_BPF_H

#include "maps.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* A kernel pointer as its BTF type, for direct (fault-safe) field loads instead of a helper call
 * per field. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

static __always_inline struct file *current_fd_file(__s32 fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	struct file *file = NULL;

	if (!fdt || fd < 0 || (__u32)fd >= fdt->max_fds)
		return NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fdt->fd[fd]);
	return file;
}

/* Local = s*, remote = d*; IPv4 as IPv4-mapped IPv6; ports in host order. */
static __always_inline void read_tuple(struct sock *sk, struct tuple *t)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	__builtin_memset(t, 0, sizeof(*t));
	t->family = family;
	t->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		/* BPF_CORE_READ_INTO copies sizeof(*dst): read whole words, then place them. */
		__u32 saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		t->saddr[10] = t->saddr[11] = 0xff;
		t->daddr[10] = t->daddr[11] = 0xff;
		__builtin_memcpy(&t->saddr[12], &saddr, 4);
		__builtin_memcpy(&t->daddr[12], &daddr, 4);
	} else {
		BPF_CORE_READ_INTO(&t->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&t->daddr, sk, __sk_common.skc_v6_daddr);
	}
}

/*
 * What fd `fd` of process `tgid` (the current one) is. Cached per (tgid, fd) and re-validated by
 * the file pointer and inode number, so a reused fd number is noticed without hooking every way
 * an fd can close (dup2, close_range). A new TCP socket is also registered for data-arrival times. NULL when
 * the fd is not open.
 */
static __always_inline struct fd_info *resolve_fd(__u32 tgid, __s32 fd)
{
	struct fd_key key = { .tgid = tgid, .fd = fd };
	struct file *file = current_fd_file(fd);
	struct fd_info *cached, info = {};
	struct socket *sock;
	struct sock *sk;
	__u64 zero = 0;
	__u16 mode;

	if (!file)
		return NULL;
	/* File structs are reused at once (SLAB_TYPESAFE_BY_RCU): a closed fd's number and struct
	 * often come back together for the next socket, so the inode number must match too. */
	info.inode = BPF_CORE_READ(file, f_inode, i_ino);
	cached = bpf_map_lookup_elem(&fd_cache, &key);
	if (cached && cached->file == (__u64)file && cached->inode == info.inode)
		return cached;

	info.file = (__u64)file;
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & S_IFMT) == S_IFSOCK) {
		sock = BPF_CORE_READ(file, private_data);
		sk = BPF_CORE_READ(sock, sk);
		if (sk && BPF_CORE_READ(sock, type) == SOCK_STREAM) {
			__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

			if (family == AF_INET || family == AF_INET6) {
				info.is_tcp = 1;
				info.sk = (__u64)sk;
				read_tuple(sk, &info.tuple);
				if (bpf_map_update_elem(&sk_arrival, &info.sk, &zero, BPF_NOEXIST) == -E2BIG)
					count_drop(DROP_SOCKETS_FULL);
			}
		}
	}
	bpf_map_update_elem(&fd_cache, &key, &info, BPF_ANY);
	return bpf_map_lookup_elem(&fd_cache, &key);
}

/* Re-reads the tuple: a connect()'s local port or an accept()'s peer may be set only now. */
static __always_inline void refresh_tuple(struct fd_info *info)
{
	if (info->sk)
		read_tuple((struct sock *)info->sk, &info->tuple);
}

#endif /* REQTRACE_FD_BPF_H */
