// SPDX-License-Identifier: MIT
/*
 * Faults family (opt-in): major page faults of traced threads, the time a thread waited for a
 * page to be read in. A fault's start is exceptions:page_fault_user (every user fault of the
 * machine, hence opt-in); its end, for major faults only, is the kernel's own major-fault software
 * event (PERF_COUNT_SW_PAGE_FAULTS_MAJ, counted when the fault is done, in the faulting thread).
 *
 *   page_fault_user (start, traced threads) ──▶ …page read in… ──▶ major-fault event: EV_MAJOR_FAULT
 */
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct fault_start {
	__u64 since;
	__u64 error_code;
};

/* tid → its latest fault's start: overwritten by the next fault (most are minor and end unseen),
 * removed when a major one ends. A hash, counted when full (faults_full). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_RUNQ_THREADS);
	__type(key, __u32);
	__type(value, struct fault_start);
} fault_starts SEC(".maps");

static __always_inline int on_fault(unsigned long error_code)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct fault_start s;

	if (!traced_role(pid_tgid >> 32))
		return 0;
	s.since = bpf_ktime_get_ns();
	s.error_code = error_code;
	if (bpf_map_update_elem(&fault_starts, &tid, &s, BPF_ANY))
		count_drop(DROP_FAULTS_FULL);
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(btf_fault, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	return on_fault(error_code);
}

SEC("raw_tp/page_fault_user")
int BPF_PROG(raw_fault, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	return on_fault(error_code);
}

SEC("perf_event")
int major_fault(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct fault_start *s = bpf_map_lookup_elem(&fault_starts, &tid);
	struct ev_major_fault *e;
	__u64 now;

	if (!s)
		return 0;
	now = bpf_ktime_get_ns();
	e = reserve_event(sizeof(*e));
	if (e) {
		fill_header(&e->h, EV_MAJOR_FAULT, sizeof(*e), -1, pid_tgid, now);
		zero_id(e->h.request_id);
		e->duration_ns = now - s->since;
		e->error_code = s->error_code;
		e->_pad = 0;
		submit_event(e);
	}
	bpf_map_delete_elem(&fault_starts, &tid);
	return 0;
}
