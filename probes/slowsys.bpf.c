// SPDX-License-Identifier: MIT
/*
 * Slowsys family (opt-in): syscalls of traced threads that took at least the threshold
 * (--slow-syscall-ms, default 10 ms), from raw_syscalls:sys_enter/sys_exit. Attaching them sends
 * every syscall of every task on the machine through the slow path, hence opt-in. Waits that are
 * a thread's idle time are not slow calls and are left out: polls, sleeps, futex and process
 * waits, accepts by number (the loader marks them in `slowsys_nrs`), and reads and writes on a
 * socket or pipe (a wait for the peer) at exit, by the file's type.
 */
#include "fd.bpf.h"
#include "slowsys.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define S_IFREG 0100000
#define S_IFBLK 0060000

const volatile __u64 targ_slow_ns = 10000000;

struct sys_start {
	__u64 since;
	__s64 fd;
	__u32 nr;
	__u32 _pad;
};

/* syscall number → SLOWSYS_* flags, filled by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLOWSYS_NRS);
	__type(key, __u32);
	__type(value, __u8);
} slowsys_nrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sys_start);
} slowsys_tasks SEC(".maps");

/* raw_tp: tid → the same; entries are reused by their thread, and go at its exit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_RUNQ_THREADS);
	__type(key, __u32);
	__type(value, struct sys_start);
} slowsys_tids SEC(".maps");

static __always_inline __u8 nr_flags(long nr)
{
	__u32 key = nr;
	__u8 *f;

	if (nr < 0 || nr >= SLOWSYS_NRS)
		return SLOWSYS_SKIP;
	f = bpf_map_lookup_elem(&slowsys_nrs, &key);
	return f ? *f : SLOWSYS_SKIP;
}

static __always_inline void start(struct sys_start *s, struct pt_regs *regs, long nr, __u8 flags)
{
	s->since = bpf_ktime_get_ns();
	s->nr = nr;
	s->fd = flags & SLOWSYS_FD_FIRST ? (__s32)BPF_CORE_READ(regs, di) : -1;
}

/* A read or write on a socket, pipe or eventfd waits for its peer: not a slow call. */
static __always_inline int waits_for_peer(__s64 fd)
{
	struct file *file;
	__u16 mode;

	if (fd < 0)
		return 0;
	file = current_fd_file(fd);
	if (!file)
		return 0;
	mode = BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT;
	return mode != S_IFREG && mode != S_IFBLK;
}

static __always_inline void finish(struct sys_start *s, long ret)
{
	__u64 since = s->since, now = bpf_ktime_get_ns();
	struct ev_slow_syscall *e;

	s->since = 0;
	if (!since || now - since < targ_slow_ns || waits_for_peer(s->fd))
		return;
	e = reserve_event(sizeof(*e));
	if (!e)
		return;
	fill_header(&e->h, EV_SLOW_SYSCALL, sizeof(*e), s->fd, bpf_get_current_pid_tgid(), now);
	zero_id(e->h.request_id);
	e->duration_ns = now - since;
	e->ret = ret;
	e->syscall_nr = s->nr;
	e->_pad = 0;
	submit_event(e);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct sys_start *s;
	__u8 flags;

	s = bpf_task_storage_get(&slowsys_tasks, task, 0, 0);
	if (!s) {
		if (!traced_role(task->tgid))
			return 0;
		s = bpf_task_storage_get(&slowsys_tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!s) {
			count_drop(DROP_SLOWSYS_FULL);
			return 0;
		}
	}
	flags = nr_flags(id);
	if (flags & SLOWSYS_SKIP) {
		s->since = 0;
		return 0;
	}
	start(s, regs, id, flags);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(btf_exit, struct pt_regs *regs, long ret)
{
	struct sys_start *s = bpf_task_storage_get(&slowsys_tasks, bpf_get_current_task_btf(), 0, 0);

	if (s && s->since)
		finish(s, ret);
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(raw_enter, struct pt_regs *regs, long id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct sys_start s = {};
	__u8 flags;

	if (!traced_role(pid_tgid >> 32))
		return 0;
	flags = nr_flags(id);
	if (flags & SLOWSYS_SKIP) {
		bpf_map_delete_elem(&slowsys_tids, &tid);
		return 0;
	}
	start(&s, regs, id, flags);
	if (bpf_map_update_elem(&slowsys_tids, &tid, &s, BPF_ANY))
		count_drop(DROP_SLOWSYS_FULL);
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(raw_exit, struct pt_regs *regs, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sys_start *s = bpf_map_lookup_elem(&slowsys_tids, &tid);

	if (s && s->since)
		finish(s, ret);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(raw_task_exit, struct task_struct *task)
{
	__u32 tid = BPF_CORE_READ(task, pid);

	bpf_map_delete_elem(&slowsys_tids, &tid);
	return 0;
}
