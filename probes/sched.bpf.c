// SPDX-License-Identifier: MIT
/*
 * Scheduler family (opt-in): every runqueue wait of at least targ_runq_min_ns of the app's
 * threads and the PostgreSQL backends, with its time, for tracer/ to attribute by overlap.
 * Without it, each app and PostgreSQL record carries its thread's schedstat run_delay, which
 * gives the same waits summed between records at no scheduler-hook cost; this family adds
 * where inside that interval each wait fell, for two program runs per context switch of the
 * machine.
 *
 * A thread's runnable time lives in its task storage, made at its first wakeup for the lab's
 * threads (their role, `lab_tasks`, is kept by the core family), so a wakeup or switch of any
 * other task costs one storage read.
 */
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define TASK_RUNNING 0

/* Shortest runqueue wait worth a record; shorter ones are the normal cost of sharing a CPU. */
const volatile __u64 targ_runq_min_ns = 100000;
/* Also measure PostgreSQL backends, not only the app. */
const volatile __u32 targ_runq_postgres = 1;

struct runq_task {
	__u64 since;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct runq_task);
} runq_tasks SEC(".maps");

/*
 * While sampling, nothing is looked at unless the app is serving a sampled request: then the
 * waits of the app's threads and the backends are recorded (tracer/ attributes them by time). Set
 * by the loader when the usdt family, which counts, is not loaded: every wait is recorded then.
 */
const volatile __u32 targ_runq_always = 0;

static __always_inline struct active_gate *runq_gate(void)
{
	__u32 zero = 0;

	if (!sampling() || targ_runq_always)
		return NULL;
	return bpf_map_lookup_elem(&sampled_active, &zero);
}

static __always_inline int runq_active(void)
{
	return targ_runq_always || !no_sampled_request();
}

/* A runnable time from before the gate last opened is stale: the wakeup that ended it was not seen. */
static __always_inline int runq_since_valid(__u64 since)
{
	struct active_gate *g = runq_gate();

	return !g || since >= g->opened_ns;
}

static __always_inline int runq_wanted(struct task_struct *p)
{
	struct lab_task *t = bpf_task_storage_get(&lab_tasks, p, 0, 0);

	return t && (t->role == ROLE_APP || (targ_runq_postgres && t->role == ROLE_POSTGRES));
}

static __always_inline void mark_runnable(struct task_struct *p)
{
	struct runq_task *rt = bpf_task_storage_get(&runq_tasks, p, 0, 0);

	if (!rt) {
		if (!runq_wanted(p))
			return;
		rt = bpf_task_storage_get(&runq_tasks, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!rt) {
			count_drop(DROP_RUNQ_LOST);
			return;
		}
	}
	rt->since = bpf_ktime_get_ns();
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(btf_wakeup, struct task_struct *p)
{
	if (runq_active())
		mark_runnable(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(btf_wakeup_new, struct task_struct *p)
{
	if (runq_active())
		mark_runnable(p);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(btf_switch, bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
{
	struct ev_runq_delay *e;
	struct runq_task *rt;
	__u64 start, now, delay;

	if (!runq_active())
		return 0;
	/* Preempted while runnable: it waits on the runqueue from now. */
	if (prev_state == TASK_RUNNING)
		mark_runnable(prev);
	rt = bpf_task_storage_get(&runq_tasks, next, 0, 0);
	if (!rt || !rt->since)
		return 0;
	start = rt->since;
	rt->since = 0;
	now = bpf_ktime_get_ns();
	delay = now - start;
	if (delay < targ_runq_min_ns || !runq_since_valid(start))
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, EV_RUNQ_DELAY, sizeof(*e), -1, ((__u64)next->tgid << 32) | next->pid, now);
	zero_id(e->h.request_id);
	e->delay_ns = delay;
	submit_event(e);
	return 0;
}
