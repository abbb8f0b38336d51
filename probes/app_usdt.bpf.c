// SPDX-License-Identifier: MIT
/*
 * The app's USDT probes (provider `reqtrace`, in the addon). Each probe emits its record and
 * keeps req_by_fd current: request_start/end bind the inbound connection, db_query_start/end the
 * pg connection for one query, file_open/close a file. Requests outside the sample emit only
 * request_start and request_end, and bind nothing.
 */
#include "fd.bpf.h"
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u32 targ_app_tgid = 0;

static __always_inline void bind_fd(__u32 tgid, __s32 fd, const __u8 id[16], __u32 kind,
				    __u64 now, __u64 inode)
{
	struct fd_key key = { .tgid = tgid, .fd = fd };
	struct binding b = { .kind = kind, .start_ns = now, .inode = inode };

	copy_id(b.request_id, id);
	if (bpf_map_update_elem(&req_by_fd, &key, &b, BPF_ANY))
		count_drop(DROP_BIND_FULL);
}

/* Unbinds only this request's binding: a stale probe must not unbind the fd's next owner. */
static __always_inline void unbind_fd(__u32 tgid, __s32 fd, const __u8 id[16])
{
	struct fd_key key = { .tgid = tgid, .fd = fd };
	struct binding *b = bpf_map_lookup_elem(&req_by_fd, &key);

	if (b && same_id(b->request_id, id))
		bpf_map_delete_elem(&req_by_fd, &key);
}

static __always_inline void count_inflight(__u32 tgid, __s64 delta)
{
	__s64 zero = 0, *n = bpf_map_lookup_elem(&sampled_inflight, &tgid);

	if (!n) {
		bpf_map_update_elem(&sampled_inflight, &tgid, &zero, BPF_NOEXIST);
		n = bpf_map_lookup_elem(&sampled_inflight, &tgid);
		if (!n)
			return;
	}
	/* A request_end without its start (attached mid-request) must not go below zero for long:
	 * the next start corrects it. */
	__sync_fetch_and_add(n, delta);
	if (*n < 0)
		*n = 0;
}

SEC("usdt")
int BPF_USDT(request_start, const char *id_str, const char *method, const char *path, int fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u64 now = bpf_ktime_get_ns();
	struct fd_key key = { .tgid = tgid, .fd = fd };
	struct ev_request_start *e;
	__u8 id[16];

	if (tgid != targ_app_tgid)
		return 0;
	if (!read_request_id(id_str, id) && request_sampled(id)) {
		if (sampling())
			count_inflight(tgid, 1);
		bind_fd(tgid, fd, id, BIND_INBOUND, now, 0);
		flush_recv_stash(tgid, fd, id, 1);
	} else {
		bpf_map_delete_elem(&recv_stash, &key);
	}

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_header(&e->h, EV_REQUEST_START, sizeof(*e), fd, pid_tgid, now);
	copy_id(e->h.request_id, id);
	bpf_probe_read_user_str(e->method, sizeof(e->method), method);
	bpf_probe_read_user_str(e->path, sizeof(e->path), path);
	submit_event(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(request_end, const char *id_str, int status, __u64 duration_us, int fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct ev_request_end *e;
	__u8 id[16];

	if (tgid != targ_app_tgid)
		return 0;
	if (!read_request_id(id_str, id)) {
		unbind_fd(tgid, fd, id);
		if (sampling() && request_sampled(id))
			count_inflight(tgid, -1);
	}

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, EV_REQUEST_END, sizeof(*e), fd, pid_tgid, bpf_ktime_get_ns());
	copy_id(e->h.request_id, id);
	e->status = status;
	e->_pad = 0;
	e->duration_us = duration_us;
	submit_event(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(db_query_start, const char *id_str, const char *query, int fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u64 now = bpf_ktime_get_ns();
	struct ev_db_query_start *e;
	__u8 id[16];

	if (tgid != targ_app_tgid || read_request_id(id_str, id) || !request_sampled(id))
		return 0;
	bind_fd(tgid, fd, id, BIND_DB, now, 0);

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_header(&e->h, EV_DB_QUERY_START, sizeof(*e), fd, pid_tgid, now);
	copy_id(e->h.request_id, id);
	bpf_probe_read_user_str(e->query, sizeof(e->query), query);
	submit_event(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(db_query_end, const char *id_str, __u64 duration_us, __u64 rows, int fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct ev_db_query_end *e;
	__u8 id[16];

	if (tgid != targ_app_tgid || read_request_id(id_str, id) || !request_sampled(id))
		return 0;
	unbind_fd(tgid, fd, id);

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, EV_DB_QUERY_END, sizeof(*e), fd, pid_tgid, bpf_ktime_get_ns());
	copy_id(e->h.request_id, id);
	e->duration_us = duration_us;
	e->rows = rows;
	submit_event(e);
	return 0;
}

static __always_inline int emit_cache(__u16 kind, const char *id_str, const char *key)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ev_cache *e;
	__u8 id[16];

	if ((__u32)(pid_tgid >> 32) != targ_app_tgid || read_request_id(id_str, id) ||
	    !request_sampled(id))
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_header(&e->h, kind, sizeof(*e), -1, pid_tgid, bpf_ktime_get_ns());
	copy_id(e->h.request_id, id);
	bpf_probe_read_user_str(e->key, sizeof(e->key), key);
	submit_event(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(cache_hit, const char *id_str, const char *key)
{
	return emit_cache(EV_CACHE_HIT, id_str, key);
}

SEC("usdt")
int BPF_USDT(cache_miss, const char *id_str, const char *key)
{
	return emit_cache(EV_CACHE_MISS, id_str, key);
}

SEC("usdt")
int BPF_USDT(file_open, const char *id_str, int fd, const char *path)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u64 now = bpf_ktime_get_ns();
	struct ev_file_open *e;
	struct fd_info *fi;
	__u8 id[16];

	if (tgid != targ_app_tgid || read_request_id(id_str, id) || !request_sampled(id))
		return 0;
	fi = resolve_fd(tgid, fd);
	bind_fd(tgid, fd, id, BIND_FILE, now, fi ? fi->inode : 0);

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_header(&e->h, EV_FILE_OPEN, sizeof(*e), fd, pid_tgid, now);
	copy_id(e->h.request_id, id);
	bpf_probe_read_user_str(e->path, sizeof(e->path), path);
	submit_event(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(file_close, const char *id_str, int fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct event_header *e;
	__u8 id[16];

	if (tgid != targ_app_tgid || read_request_id(id_str, id) || !request_sampled(id))
		return 0;
	unbind_fd(tgid, fd, id);

	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_header(e, EV_FILE_CLOSE, sizeof(*e), fd, pid_tgid, bpf_ktime_get_ns());
	copy_id(e->request_id, id);
	submit_event(e);
	return 0;
}
