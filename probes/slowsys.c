// SPDX-License-Identifier: MIT
/* Glue for the slowsys family (slowsys.bpf.c): syscalls of the lab's threads over a threshold. */
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include "family.h"
#include "slowsys.h"
#include "tp-pair.h"
#include "slowsys.skel.h"

TP_PAIR_GLUE(slowsys)

/* Waits that are idle time, not slow work. */
static const int skipped[] = {
	SYS_poll, SYS_select, SYS_pause, SYS_nanosleep, SYS_accept, SYS_wait4, SYS_msgrcv,
	SYS_rt_sigtimedwait, SYS_rt_sigsuspend, SYS_futex, SYS_io_getevents, SYS_semtimedop,
	SYS_clock_nanosleep, SYS_epoll_wait, SYS_mq_timedreceive, SYS_waitid, SYS_pselect6,
	SYS_ppoll, SYS_epoll_pwait, SYS_accept4, SYS_io_pgetevents, SYS_io_uring_enter,
	SYS_epoll_pwait2, SYS_futex_waitv, 455 /* futex_wait (6.7) */, SYS_semop,
};

/* Calls on an fd (their first argument): recorded with it, and left out on sockets and pipes. */
static const int on_fd[] = {
	SYS_read, SYS_write, SYS_pread64, SYS_pwrite64, SYS_readv, SYS_writev, SYS_fsync,
	SYS_fdatasync, SYS_ftruncate, SYS_sendto, SYS_recvfrom, SYS_sendmsg, SYS_recvmsg,
	SYS_preadv, SYS_pwritev, SYS_preadv2, SYS_pwritev2, SYS_sync_file_range, SYS_fallocate,
	SYS_getdents64, SYS_flock, SYS_fstat, SYS_lseek,
};

static int fill_nrs(void)
{
	int fd = bpf_map__fd(skel->maps.slowsys_nrs);
	__u8 flag;

	for (size_t i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++) {
		__u32 nr = skipped[i];

		flag = SLOWSYS_SKIP;
		if (nr < SLOWSYS_NRS && bpf_map_update_elem(fd, &nr, &flag, BPF_ANY))
			return -errno;
	}
	for (size_t i = 0; i < sizeof(on_fd) / sizeof(on_fd[0]); i++) {
		__u32 nr = on_fd[i];

		flag = SLOWSYS_FD_FIRST;
		if (nr < SLOWSYS_NRS && bpf_map_update_elem(fd, &nr, &flag, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int slowsys_load(const struct env *env)
{
	struct bpf_program *btf[] = { skel->progs.btf_enter, skel->progs.btf_exit };
	struct bpf_program *raw[] = { skel->progs.raw_enter, skel->progs.raw_exit };
	int err;

	skel->rodata->targ_slow_ns = env->slow_syscall_ns;
	use_tp_btf = choose_tp_pair("sys_enter", btf, raw, 2);
	bpf_program__set_autoload(skel->progs.raw_task_exit, !use_tp_btf);
	err = slowsys_bpf__load(skel);
	if (!err && (err = fill_nrs()))
		fprintf(stderr, "reqtrace: slowsys: filling its syscall table failed: %s\n", strerror(-err));
	return err;
}

static void slowsys_summary(FILE *out)
{
	fprintf(out, "slowsys: threshold_us=%llu\n", (unsigned long long)(skel ? skel->rodata->targ_slow_ns / 1000 : 0));
}

const struct family slowsys_family = {
	.name = "slowsys",
	.doc = "syscalls of the lab's threads slower than --slow-syscall-ms (default 10); raw syscall tracepoints: every syscall of every task takes the slow path",
	.opt_in = true,
	.open = slowsys_open,
	.load = slowsys_load,
	.attach = slowsys_attach,
	.summary = slowsys_summary,
	.destroy = slowsys_destroy,
};
