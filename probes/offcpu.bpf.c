// SPDX-License-Identifier: MIT
/*
 * Offcpu family (opt-in): when a thread of a traced process leaves the CPU to sleep, how long it
 * stayed away, and what it slept in: the syscall (futex waits are the lock waits of the app's and
 * PostgreSQL's threads), and whether it was waiting for I/O. With the sched family's runqueue
 * waits this splits a span's time into on CPU, runnable and asleep, by reason.
 *
 *   sched_switch(prev sleeps)  ── off CPU ──▶  sched_switch(next = it)  : EV_OFFCPU if ≥ the floor
 *
 * It runs on every context switch of the machine, hence opt-in. tp_btf keeps the state in task
 * storage that only the lab's threads get (a switch of any other task costs one storage probe and,
 * when that task goes to sleep, one `traced` lookup); the raw_tp fallback keys it by tid and knows
 * no syscall (task pt_regs need a BTF task pointer).
 */
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define TASK_RUNNING 0
#define TASK_UNINTERRUPTIBLE 0x2
#define NR_FUTEX 202
#define NR_FUTEX_WAITV 449
#define NR_FUTEX_WAIT 455

/* Shortest sleep worth a record: the event loop's brief waits between events are the normal. */
const volatile __u64 targ_offcpu_min_ns = 50000;

struct offcpu_task {
	__u64 since;
	__u64 futex_addr;
	__u32 syscall_nr;
	__u32 state;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct offcpu_task);
} offcpu_tasks SEC(".maps");

/* raw_tp: tid → the same. A hash (a switch-out pushed out would lose its record); entries are
 * reused by their thread and counted when the map is full (offcpu_full). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_RUNQ_THREADS);
	__type(key, __u32);
	__type(value, struct offcpu_task);
} offcpu_tids SEC(".maps");

static __always_inline __u32 sleep_state(struct task_struct *p, __u32 state)
{
	if (!(state & TASK_UNINTERRUPTIBLE))
		return OFFCPU_SLEEP;
	return BPF_CORE_READ_BITFIELD_PROBED(p, in_iowait) ? OFFCPU_IOWAIT : OFFCPU_BLOCKED;
}

static __always_inline void emit(struct task_struct *next, struct offcpu_task *t, __u64 now)
{
	struct ev_offcpu *e;
	__u64 since = t->since;

	t->since = 0;
	if (!since || now - since < targ_offcpu_min_ns)
		return;
	e = reserve_event(sizeof(*e));
	if (!e)
		return;
	fill_header(&e->h, EV_OFFCPU, sizeof(*e), -1,
		    ((__u64)BPF_CORE_READ(next, tgid) << 32) | BPF_CORE_READ(next, pid), now);
	zero_id(e->h.request_id);
	e->duration_ns = now - since;
	e->syscall_nr = t->syscall_nr;
	e->state = t->state;
	e->futex_addr = t->futex_addr;
	submit_event(e);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(btf_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 state = prev->__state;
	struct offcpu_task *t;
	__u64 now = bpf_ktime_get_ns();

	if (state != TASK_RUNNING) {
		t = bpf_task_storage_get(&offcpu_tasks, prev, 0, 0);
		if (!t && traced_role(prev->tgid)) {
			t = bpf_task_storage_get(&offcpu_tasks, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
			if (!t)
				count_drop(DROP_OFFCPU_FULL);
		}
		if (t) {
			struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(prev);
			long nr = BPF_CORE_READ(regs, orig_ax);

			t->since = now;
			t->state = sleep_state(prev, state);
			t->syscall_nr = nr >= 0 ? nr : OFFCPU_NO_SYSCALL;
			t->futex_addr = nr == NR_FUTEX || nr == NR_FUTEX_WAIT ? BPF_CORE_READ(regs, di) : 0;
		}
	}
	t = bpf_task_storage_get(&offcpu_tasks, next, 0, 0);
	if (t)
		emit(next, t, now);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(raw_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 state = BPF_CORE_READ(prev, __state);
	__u32 tid = BPF_CORE_READ(next, pid);
	struct offcpu_task *t;
	__u64 now = bpf_ktime_get_ns();

	if (state != TASK_RUNNING && traced_role(BPF_CORE_READ(prev, tgid))) {
		__u32 prev_tid = BPF_CORE_READ(prev, pid);
		struct offcpu_task fresh = { .since = now, .syscall_nr = OFFCPU_NO_SYSCALL, .state = sleep_state(prev, state) };

		if (bpf_map_update_elem(&offcpu_tids, &prev_tid, &fresh, BPF_ANY))
			count_drop(DROP_OFFCPU_FULL);
	}
	t = bpf_map_lookup_elem(&offcpu_tids, &tid);
	if (t)
		emit(next, t, now);
	return 0;
}

/* raw_tp only: task storage goes with its task. */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(raw_exit, struct task_struct *task)
{
	__u32 tid = BPF_CORE_READ(task, pid);

	bpf_map_delete_elem(&offcpu_tids, &tid);
	return 0;
}
