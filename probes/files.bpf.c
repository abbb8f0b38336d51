// SPDX-License-Identifier: MIT
/*
 * Files family: reads and writes on the fds the app bound with file_open, from any of its
 * threads (libuv runs file I/O on worker threads), tagged with the request that opened them.
 */
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u32 targ_app_tgid = 0;

enum file_op {
	FOP_READ = 1,
	FOP_WRITE,
};

struct file_call {
	__u64 start_ns;
	__u64 inode;
	__u8 request_id[16];
	__s32 fd;
	__u32 nr;
	__u32 op;
	__u32 tentative;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_INFLIGHT);
	__type(key, __u32);
	__type(value, struct file_call);
} file_calls SEC(".maps");

static __always_inline int file_enter(struct trace_event_raw_sys_enter *ctx, __u32 op)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct fd_key key = { .tgid = pid_tgid >> 32, .fd = (__s32)ctx->args[0] };
	__u32 tid = (__u32)pid_tgid;
	struct file_call call = {};
	struct binding *b;

	if (key.tgid != targ_app_tgid)
		return 0;
	b = bpf_map_lookup_elem(&req_by_fd, &key);
	if (!b || b->kind != BIND_FILE)
		return 0;
	call.start_ns = bpf_ktime_get_ns();
	call.inode = b->inode;
	copy_id(call.request_id, b->request_id);
	call.fd = key.fd;
	call.nr = ctx->id;
	call.op = op;
	call.tentative = b->tentative;
	if (bpf_map_update_elem(&file_calls, &tid, &call, BPF_ANY))
		count_drop(DROP_FILES_FULL);
	return 0;
}

static __always_inline int file_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct file_call *c = bpf_map_lookup_elem(&file_calls, &tid);
	struct ev_file_io *e;
	__u64 now;

	if (!c)
		return 0;
	now = bpf_ktime_get_ns();
	e = reserve_event(sizeof(*e));
	if (e) {
		fill_header(&e->h, kind_of(c->op == FOP_READ ? EV_FILE_READ : EV_FILE_WRITE, c->tentative),
			    sizeof(*e), c->fd, pid_tgid, now);
		copy_id(e->h.request_id, c->request_id);
		e->duration_ns = now - c->start_ns;
		e->bytes = ctx->ret;
		e->inode = c->inode;
		e->syscall_nr = c->nr;
		e->_pad = 0;
		submit_event(e);
	}
	bpf_map_delete_elem(&file_calls, &tid);
	return 0;
}

#define FILE_SYSCALL(name, op)                                            \
	SEC("tp/syscalls/sys_enter_" #name)                               \
	int file_enter_##name(struct trace_event_raw_sys_enter *ctx)      \
	{                                                                 \
		return file_enter(ctx, op);                               \
	}                                                                 \
	SEC("tp/syscalls/sys_exit_" #name)                                \
	int file_exit_##name(struct trace_event_raw_sys_exit *ctx)        \
	{                                                                 \
		return file_exit(ctx);                                    \
	}

FILE_SYSCALL(read, FOP_READ)
FILE_SYSCALL(readv, FOP_READ)
FILE_SYSCALL(pread64, FOP_READ)
FILE_SYSCALL(write, FOP_WRITE)
FILE_SYSCALL(writev, FOP_WRITE)
FILE_SYSCALL(pwrite64, FOP_WRITE)
