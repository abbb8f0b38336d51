// SPDX-License-Identifier: MIT
/*
 * Reclaim family: direct reclaim by threads of traced processes (vmscan:mm_vmscan_direct_reclaim_
 * begin/end), the time an allocation stalled while its thread freed memory itself. Both run in the
 * allocating thread; they fire only when memory is short, so the family costs nothing otherwise.
 */
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* tid → reclaim start. A hash (a start pushed out would lose its record); entries go at the end. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_INFLIGHT_IO);
	__type(key, __u32);
	__type(value, __u64);
} reclaim_starts SEC(".maps");

static __always_inline int on_begin(void)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	__u64 now;

	if (!traced_role(pid_tgid >> 32))
		return 0;
	now = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&reclaim_starts, &tid, &now, BPF_ANY))
		count_drop(DROP_SLOWSYS_FULL);
	return 0;
}

static __always_inline int on_end(__u64 reclaimed)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	__u64 *start = bpf_map_lookup_elem(&reclaim_starts, &tid);
	struct ev_direct_reclaim *e;
	__u64 now;

	if (!start)
		return 0;
	now = bpf_ktime_get_ns();
	e = reserve_event(sizeof(*e));
	if (e) {
		fill_header(&e->h, EV_DIRECT_RECLAIM, sizeof(*e), -1, pid_tgid, now);
		zero_id(e->h.request_id);
		e->duration_ns = now - *start;
		e->reclaimed = reclaimed;
		submit_event(e);
	}
	bpf_map_delete_elem(&reclaim_starts, &tid);
	return 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(btf_begin, int order, gfp_t gfp_flags)
{
	return on_begin();
}

SEC("tp_btf/mm_vmscan_direct_reclaim_end")
int BPF_PROG(btf_end, unsigned long nr_reclaimed)
{
	return on_end(nr_reclaimed);
}

SEC("raw_tp/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(raw_begin, int order, gfp_t gfp_flags)
{
	return on_begin();
}

SEC("raw_tp/mm_vmscan_direct_reclaim_end")
int BPF_PROG(raw_end, unsigned long nr_reclaimed)
{
	return on_end(nr_reclaimed);
}
