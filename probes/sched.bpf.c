// SPDX-License-Identifier: MIT
/*
 * Scheduler family: runqueue delay of traced threads, and the fork/exit records of traced
 * processes (the core family keeps `traced` itself; this family makes the changes visible).
 *
 * Every handler exists twice: tp_btf (preferred) and raw_tp (the fallback sched.c picks when a
 * tp_btf program does not load). Both hand task pointers to the same body, which reads them
 * with CO-RE so it is valid in either program type. With tp_btf a thread's runnable time lives
 * in task-local storage that only the lab's threads have (seeded at attach by an iterator, given
 * to new threads at fork), so a wakeup or switch of any other task costs one storage probe; the
 * raw_tp fallback keeps it in a hash by tid, behind the `traced` lookup.
 */
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define TASK_RUNNING 0

/* Shortest runqueue wait worth a record; shorter ones are the normal cost of sharing a CPU. */
const volatile __u64 targ_runq_min_ns = 100000;
/* Also measure PostgreSQL backends, not only the app. */
const volatile __u32 targ_runq_postgres = 1;

/* tid → when it became runnable (woken, or preempted while still runnable): raw_tp. A hash, so
 * no thread's start is pushed out unseen; entries go at exit, a full map is counted (runq_lost). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_RUNQ_THREADS);
	__type(key, __u32);
	__type(value, __u64);
} runq_since SEC(".maps");

/* The same, per task, for the lab's threads only: tp_btf. */
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
 * tgid → role of the processes this family reported (seeded by sched.c from `traced`, grown at
 * fork). Kept apart from `traced` because the core family's exit handler runs first and has
 * already removed the tgid when ours runs.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_TRACED_PROCS);
	__type(key, __u32);
	__type(value, __u32);
} sched_procs SEC(".maps");

static __always_inline int runq_wanted(__u32 tgid)
{
	__u32 role = traced_role(tgid);

	return role == ROLE_APP || (targ_runq_postgres && role == ROLE_POSTGRES);
}

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
	struct active_gate *g = runq_gate();

	return !g || g->count > 0;
}

/* A runnable time from before the gate last opened is stale: the wakeup that ended it was not seen. */
static __always_inline int runq_since_valid(__u64 since)
{
	struct active_gate *g = runq_gate();

	return !g || since >= g->opened_ns;
}

/* Where `p`'s runnable time is kept: its task storage (tp_btf, `btf` true), else the hash
 * entry for its tid (created when `create` and the thread is one we measure). NULL: not ours. */
static __always_inline __u64 *runq_slot(struct task_struct *p, int btf, int create)
{
	struct runq_task *rt;
	__u64 zero = 0;
	__u32 tid;

	if (btf) {
		rt = bpf_task_storage_get(&runq_tasks, p, 0, 0);
		return rt ? &rt->since : NULL;
	}
	tid = BPF_CORE_READ(p, pid);
	if (create) {
		if (!runq_wanted(BPF_CORE_READ(p, tgid)))
			return NULL;
		if (bpf_map_update_elem(&runq_since, &tid, &zero, BPF_NOEXIST) == -E2BIG)
			count_drop(DROP_RUNQ_LOST);
	}
	return bpf_map_lookup_elem(&runq_since, &tid);
}

static __always_inline void mark_runnable(struct task_struct *p, int btf)
{
	__u64 *since = runq_slot(p, btf, 1);

	if (since)
		*since = bpf_ktime_get_ns();
}

static __always_inline void on_switch(struct task_struct *prev, struct task_struct *next, int btf)
{
	struct ev_runq_delay *e;
	__u32 tid, tgid;
	__u64 *since, start, now, delay;

	if (!runq_active())
		return;
	/* Preempted while runnable: it waits on the runqueue from now (task->__state: ≥ 5.14). */
	if (BPF_CORE_READ(prev, __state) == TASK_RUNNING)
		mark_runnable(prev, btf);

	since = runq_slot(next, btf, 0);
	if (!since || !*since)
		return;
	start = *since;
	*since = 0;
	now = bpf_ktime_get_ns();
	delay = now - start;
	if (delay < targ_runq_min_ns || !runq_since_valid(start))
		return;

	tid = BPF_CORE_READ(next, pid);
	tgid = BPF_CORE_READ(next, tgid);
	e = reserve_event(sizeof(*e));
	if (!e)
		return;
	fill_header(&e->h, EV_RUNQ_DELAY, sizeof(*e), -1, ((__u64)tgid << 32) | tid, now);
	zero_id(e->h.request_id);
	e->delay_ns = delay;
	submit_event(e);
}

static __always_inline void emit_proc(__u16 kind, __u32 pid, __u32 tid, __u32 child_pid,
				      struct task_struct *comm_of, __u64 wakeup)
{
	struct ev_proc *e = reserve_event(sizeof(*e));

	if (!e)
		return;
	fill_header(&e->h, kind, sizeof(*e), -1, ((__u64)pid << 32) | tid, bpf_ktime_get_ns());
	zero_id(e->h.request_id);
	e->child_pid = child_pid;
	e->_pad = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, comm_of, comm);
	bpf_ringbuf_submit(e, wakeup);
}

static __always_inline void on_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 child_tgid = BPF_CORE_READ(child, tgid);
	__u32 role;

	/* A new thread is not a new process. */
	if (BPF_CORE_READ(child, pid) != child_tgid)
		return;
	/* The core family's handler ran first and decided whether the child is followed. */
	role = traced_role(child_tgid);
	if (!role)
		return;
	if (bpf_map_update_elem(&sched_procs, &child_tgid, &role, BPF_ANY))
		count_drop(DROP_TRACED_FULL);
	/* Woken at once: user space attaches PostgreSQL's probes to the new backend on this
	 * record, and must do so before the backend's first query. */
	emit_proc(EV_PROC_FORK, BPF_CORE_READ(parent, tgid), BPF_CORE_READ(parent, pid), child_tgid,
		  child, BPF_RB_FORCE_WAKEUP);
}

static __always_inline void on_exit(struct task_struct *task)
{
	__u32 tid = BPF_CORE_READ(task, pid);
	__u32 tgid = BPF_CORE_READ(task, tgid);

	bpf_map_delete_elem(&runq_since, &tid);
	/* The last thread out: signal->live has already dropped to zero here. Task storage goes with
	 * the task. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return;
	if (!bpf_map_lookup_elem(&sched_procs, &tgid))
		return;
	bpf_map_delete_elem(&sched_procs, &tgid);
	emit_proc(EV_PROC_EXIT, tgid, tid, 0, task, BPF_RB_FORCE_WAKEUP);
}

/* A thread of the lab gets its storage: at attach (seed_runq), and at fork for threads and
 * processes forked later. */
static __always_inline void give_storage(struct task_struct *t)
{
	if (runq_wanted(t->tgid) && !bpf_task_storage_get(&runq_tasks, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE))
		count_drop(DROP_RUNQ_LOST);
}

SEC("iter/task")
int seed_runq(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;

	if (t)
		give_storage(t);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(btf_wakeup, struct task_struct *p)
{
	if (runq_active())
		mark_runnable(p, 1);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(btf_wakeup_new, struct task_struct *p)
{
	if (runq_active())
		mark_runnable(p, 1);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(btf_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(prev, next, 1);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(btf_fork, struct task_struct *parent, struct task_struct *child)
{
	give_storage(child);
	on_fork(parent, child);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(btf_exit, struct task_struct *task)
{
	on_exit(task);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(raw_wakeup, struct task_struct *p)
{
	if (runq_active())
		mark_runnable(p, 0);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(raw_wakeup_new, struct task_struct *p)
{
	if (runq_active())
		mark_runnable(p, 0);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(raw_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(prev, next, 0);
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(raw_fork, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(raw_exit, struct task_struct *task)
{
	on_exit(task);
	return 0;
}
