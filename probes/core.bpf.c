// SPDX-License-Identifier: MIT
/*
 * Core family: owns the shared maps (every one is created here and reused by the others), keeps
 * `traced` following forks and exits (with a record of each traced process's fork and exit), and
 * gives each thread of a traced process its role in task storage (`lab_tasks`): at attach
 * through the task iterator, later at fork.
 */
#include "sock_state.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

static __always_inline void give_role(struct task_struct *t, __u32 role)
{
	struct lab_task *lt = bpf_task_storage_get(&lab_tasks, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (lt)
		lt->role = role;
	else
		count_drop(DROP_TRACED_FULL);
}

static __always_inline void emit_proc(__u16 kind, __u32 pid, __u32 tid, __u32 child_pid,
				      struct task_struct *comm_of)
{
	struct ev_proc *e = reserve_event(sizeof(*e));

	if (!e)
		return;
	fill_header(&e->h, kind, sizeof(*e), -1, ((__u64)pid << 32) | tid, bpf_ktime_get_ns());
	zero_id(e->h.request_id);
	e->child_pid = child_pid;
	e->_pad = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, comm_of, comm);
	submit_event(e);
}

/* PostgreSQL backends and nginx workers are forks of a traced parent; the app's children
 * (if any) are not the app, so its role is not inherited. A new thread has its process's role. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(follow_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_tgid = parent->tgid;
	__u32 child_tgid = child->tgid;
	__u32 role;

	if (child->pid != child_tgid) {
		role = traced_role(child_tgid);
		if (role)
			give_role(child, role);
		return 0;
	}
	role = traced_role(parent_tgid);
	if (!role || role == ROLE_APP)
		return 0;
	if (bpf_map_update_elem(&traced, &child_tgid, &role, BPF_ANY))
		count_drop(DROP_TRACED_FULL);
	give_role(child, role);
	emit_proc(EV_PROC_FORK, parent_tgid, parent->pid, child_tgid, child);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(forget_exit, struct task_struct *task)
{
	__u32 tgid = task->tgid;

	if (task->pid != tgid || !traced_role(tgid))
		return 0;
	bpf_map_delete_elem(&traced, &tgid);
	emit_proc(EV_PROC_EXIT, tgid, task->pid, 0, task);
	return 0;
}

/* Run once after attach: the threads that existed before the fork handler did. */
SEC("iter/task")
int seed_roles(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	__u32 role;

	if (!t)
		return 0;
	role = traced_role(t->tgid);
	if (role)
		give_role(t, role);
	return 0;
}
