// SPDX-License-Identifier: MIT
/* Core family: owns the shared maps and keeps `traced` following forks and exits. */
/* The socket state maps too: every shared map is created here and reused by the others. */
#include "sock_state.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* PostgreSQL backends and nginx workers are forks of a traced parent; the app's children
 * (if any) are not the app, so its role is not inherited. Threads are not processes. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(follow_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_tgid = parent->tgid;
	__u32 child_tgid = child->tgid;
	__u32 role = traced_role(parent_tgid);

	if (!role || role == ROLE_APP || child->pid != child_tgid)
		return 0;
	if (bpf_map_update_elem(&traced, &child_tgid, &role, BPF_ANY))
		count_drop(DROP_TRACED_FULL);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(forget_exit, struct task_struct *task)
{
	__u32 tgid = task->tgid;

	if (task->pid != tgid)
		return 0;
	bpf_map_delete_elem(&traced, &tgid);
	return 0;
}
