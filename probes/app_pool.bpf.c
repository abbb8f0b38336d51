// SPDX-License-Identifier: MIT
/*
 * Pool family: the app's pool_wait probe (provider `reqtrace`, in the addon), fired once per pool
 * checkout: how long the request waited for a PostgreSQL connection and how full the pool was.
 * A request is followed or not as the app's other probes decide it, from the id's two words.
 */
#include "maps.bpf.h"
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u32 targ_app_tgid = 0;

SEC("usdt")
int BPF_USDT(pool_wait, const char *id_str, __u64 wait_us, int pool_size, int busy, int waiting, int fd,
	     int new_connection, __u64 id_hi, __u64 id_lo)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ev_pool_wait *e;
	__u8 id[16];
	int follow;

	if ((__u32)(pid_tgid >> 32) != targ_app_tgid || !(follow = follow_id_words(id_hi, id_lo, id)))
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, kind_of(EV_POOL_WAIT, follow == FOLLOW_TENTATIVE), sizeof(*e), fd, pid_tgid,
		    bpf_ktime_get_ns());
	copy_id(e->h.request_id, id);
	e->wait_ns = wait_us * 1000;
	e->pool_size = pool_size;
	e->busy = busy;
	e->waiting = waiting;
	e->new_connection = new_connection != 0;
	submit_event(e);
	return 0;
}
