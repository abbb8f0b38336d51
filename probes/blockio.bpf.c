// SPDX-License-Identifier: MIT
/*
 * Blockio family: block requests that threads of traced processes put in the queue, timed from
 * the device's point of view (block:block_rq_insert/issue/complete, a few per disk I/O, never per
 * syscall). The submitting thread is known where the request enters the queue: insert runs in its
 * context, and so does issue when the request goes straight to the device; completion runs in an
 * interrupt, so the request carries the thread from one to the other.
 *
 *   insert (submitter) ──queued──▶ issue ──device──▶ complete (irq): EV_BLOCK_IO
 *
 * While sampling, a request is remembered only while the app serves a sampled request (the gate
 * the sched family uses), and a completion is looked up only while some request is remembered.
 */
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the loader when the usdt family, which opens the gate, is not loaded: every request of
 * the lab's threads is remembered then. */
const volatile __u32 targ_io_always = 0;

/* Requests remembered in blk_reqs, so a completion of anyone else's costs one read. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} blk_remembered SEC(".maps");

static __always_inline int io_gate_closed(void)
{
	return !targ_io_always && no_sampled_request();
}

#define REQ_OP_MASK 0xff

struct blk_start {
	__u64 insert_ns;
	__u64 issue_ns;
	__u64 pid_tgid;
};

/* A hash: an entry pushed out would be a completion lost unseen. Entries go at completion. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_INFLIGHT_IO);
	__type(key, __u64);
	__type(value, struct blk_start);
} blk_reqs SEC(".maps");

static __always_inline void remember(__u64 rq, __u64 insert_ns, __u64 issue_ns)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct blk_start s = { .insert_ns = insert_ns, .issue_ns = issue_ns, .pid_tgid = pid_tgid };
	__s64 *n;

	if (!traced_role(pid_tgid >> 32))
		return;
	if (bpf_map_update_elem(&blk_reqs, &rq, &s, BPF_NOEXIST)) {
		if (bpf_map_update_elem(&blk_reqs, &rq, &s, BPF_EXIST))
			count_drop(DROP_BLOCKIO_FULL);
	} else if ((n = counter_slot(blk_remembered))) {
		__sync_fetch_and_add(n, 1);
	}
}

static __always_inline int none_remembered(void)
{
	__s64 *n = counter_slot(blk_remembered);

	return n && *n <= 0;
}

static __always_inline int on_insert(__u64 rq)
{
	if (!io_gate_closed())
		remember(rq, bpf_ktime_get_ns(), 0);
	return 0;
}

static __always_inline int on_issue(__u64 rq)
{
	struct blk_start *s = none_remembered() ? NULL : bpf_map_lookup_elem(&blk_reqs, &rq);

	if (s)
		s->issue_ns = bpf_ktime_get_ns();
	else if (!io_gate_closed())
		remember(rq, 0, bpf_ktime_get_ns());
	return 0;
}

static __always_inline int on_complete(struct request *rq, __u8 error, __u32 nr_bytes)
{
	__u64 key = (__u64)rq, now, issued;
	struct blk_start *s;
	struct ev_block_io *e;
	struct gendisk *disk;
	__s64 *n;

	if (none_remembered() || !(s = bpf_map_lookup_elem(&blk_reqs, &key)))
		return 0;
	now = bpf_ktime_get_ns();
	issued = s->issue_ns ?: s->insert_ns;
	e = reserve_event(sizeof(*e));
	if (e) {
		fill_header(&e->h, EV_BLOCK_IO, sizeof(*e), -1, s->pid_tgid, now);
		zero_id(e->h.request_id);
		e->duration_ns = issued && issued <= now ? now - issued : 0;
		e->queued_ns = s->insert_ns && s->issue_ns > s->insert_ns ? s->issue_ns - s->insert_ns : 0;
		e->sector = BPF_CORE_READ(rq, __sector);
		e->bytes = nr_bytes;
		disk = BPF_CORE_READ(rq, q, disk);
		e->dev = disk ? ((__u32)BPF_CORE_READ(disk, major) << 20) | BPF_CORE_READ(disk, first_minor) : 0;
		e->op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK;
		e->error = error;
		submit_event(e);
	}
	if (!bpf_map_delete_elem(&blk_reqs, &key) && (n = counter_slot(blk_remembered)))
		__sync_fetch_and_add(n, -1);
	return 0;
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(btf_insert, struct request *rq)
{
	return on_insert((__u64)rq);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(btf_issue, struct request *rq)
{
	return on_issue((__u64)rq);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(btf_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	return on_complete(rq, error, nr_bytes);
}

SEC("raw_tp/block_rq_insert")
int BPF_PROG(raw_insert, struct request *rq)
{
	return on_insert((__u64)rq);
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(raw_issue, struct request *rq)
{
	return on_issue((__u64)rq);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(raw_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	return on_complete(rq, error, nr_bytes);
}
