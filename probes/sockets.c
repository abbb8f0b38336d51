// SPDX-License-Identifier: MIT
/*
 * Glue for the sockets family: the socket tracepoints (sockets.bpf.c) as tp_btf or raw_tp, or,
 * where neither loads, the syscall tracepoints (sockets_syscalls.bpf.c). The loader detects which
 * before any family loads (env->socket_hooks), because the usdt and postgres families bind
 * sockets the same way the hooks read them.
 *
 * When tracing stops, the runs still collected in the socket state (a keep-alive connection's
 * last response, a request no response followed yet) are emitted from here.
 */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include "family.h"
#include "maps.h"
#include "sock_state.h"
#include "sockets.skel.h"
#include "sockets_syscalls.skel.h"

static struct sockets_bpf *tp_skel;
static struct sockets_syscalls_bpf *sys_skel;

static bool syscall_hooks(const struct env *env)
{
	return !strcmp(env->socket_hooks, "syscalls");
}

/* While sampling, the send-start hook is needed only for nginx's response heads, which the send's
 * end reads from the syscall's registers where it knows their layout. */
static bool heads_at_end(const struct env *env)
{
#if defined(__x86_64__)
	return env->sample < 1.0;
#else
	(void)env;
	return false;
#endif
}

static int sockets_open(const struct env *env, struct bpf_object **obj)
{
	if (syscall_hooks(env)) {
		sys_skel = sockets_syscalls_bpf__open();
		if (!sys_skel)
			return -errno;
		sys_skel->rodata->targ_sample_threshold = env->sample_threshold;
		*obj = sys_skel->obj;
		return 0;
	}
	tp_skel = sockets_bpf__open();
	if (!tp_skel)
		return -errno;
	tp_skel->rodata->targ_sample_threshold = env->sample_threshold;
	tp_skel->rodata->targ_app_decides = env->usdt_selected;
	tp_skel->rodata->targ_heads_at_end = heads_at_end(env);
	*obj = tp_skel->obj;
	return 0;
}

static int sockets_load(const struct env *env)
{
	struct bpf_program *btf[] = {
		tp_skel ? tp_skel->progs.btf_recv : NULL, tp_skel ? tp_skel->progs.btf_send : NULL,
		tp_skel ? tp_skel->progs.btf_send_start : NULL, tp_skel ? tp_skel->progs.btf_data_ready : NULL,
		tp_skel ? tp_skel->progs.btf_state : NULL, tp_skel ? tp_skel->progs.btf_recv_copy : NULL,
	};
	struct bpf_program *raw[] = {
		tp_skel ? tp_skel->progs.raw_recv : NULL, tp_skel ? tp_skel->progs.raw_send : NULL,
		tp_skel ? tp_skel->progs.raw_send_start : NULL, tp_skel ? tp_skel->progs.raw_data_ready : NULL,
		tp_skel ? tp_skel->progs.raw_state : NULL, tp_skel ? tp_skel->progs.raw_recv_copy : NULL,
	};
	bool use_btf = !strcmp(env->socket_hooks, "tp_btf");
	/* A receive's start costs a program run per copied skb on every socket: worth it when every
	 * request is followed; while sampling, a receive's span starts at its end. */
	bool recv_starts = env->sample >= 1.0;

	if (sys_skel)
		return sockets_syscalls_bpf__load(sys_skel);
	for (size_t i = 0; i < sizeof(btf) / sizeof(btf[0]); i++) {
		bpf_program__set_autoload(btf[i], use_btf);
		bpf_program__set_autoload(raw[i], !use_btf);
	}
	bpf_program__set_autoload(tp_skel->progs.btf_recv_copy, use_btf && recv_starts);
	bpf_program__set_autoload(tp_skel->progs.raw_recv_copy, !use_btf && recv_starts);
	bpf_program__set_autoload(tp_skel->progs.btf_send_start, use_btf && !heads_at_end(env));
	bpf_program__set_autoload(tp_skel->progs.raw_send_start, !use_btf && !heads_at_end(env));
	return sockets_bpf__load(tp_skel);
}

static int sockets_attach(const struct env *env, char hook[HOOK_LEN])
{
	int err = sys_skel ? sockets_syscalls_bpf__attach(sys_skel) : sockets_bpf__attach(tp_skel);

	if (!err)
		snprintf(hook, HOOK_LEN, "%s", sys_skel ? "syscall-tracepoints" : env->socket_hooks);
	return err;
}

static void sockets_detach(void)
{
	if (sys_skel)
		sockets_syscalls_bpf__detach(sys_skel);
	if (tp_skel)
		sockets_bpf__detach(tp_skel);
}

/* A run collected in the kernel that no later call ended: worth keeping when it is wanted, or an
 * nginx request no response decided (kept, as without sampling). */
static bool run_kept(const struct sock_state *st)
{
	if (!st->tgid || !st->run_calls || st->role == ROLE_POSTGRES)
		return false;
	return st->decided == SD_WANTED || (st->decided == SD_NONE && st->role == ROLE_NGINX);
}

static int sockets_drain(int (*emit)(const void *rec, size_t size))
{
	int fd = tp_skel ? bpf_map__fd(tp_skel->maps.sk_state) : -1;
	__u64 key, next, *prev = NULL;
	struct sock_state st;
	int n = 0;

	while (fd >= 0 && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &st) || !run_kept(&st))
			continue;
		struct ev_sock_io e = {
			.h = {
				.ts_ns = st.run_end_ns,
				.pid = st.tgid,
				.tid = st.run_tid,
				.kind = st.dir == DIR_RECV ? EV_SOCK_RECV : EV_SOCK_SEND,
				.size = sizeof(e),
				.fd = st.fd,
			},
			.duration_ns = st.run_end_ns - st.run_start_ns,
			.bytes = st.run_bytes,
			.arrival_ns = st.run_arrival_ns,
			.syscalls = st.run_calls,
			.tuple = st.tuple,
		};
		memcpy(e.h.request_id, st.request_id, sizeof(e.h.request_id));
		if (emit(&e, sizeof(e)) == 0)
			n++;
	}
	return n;
}

static void sockets_destroy(void)
{
	sockets_syscalls_bpf__destroy(sys_skel);
	sockets_bpf__destroy(tp_skel);
	sys_skel = NULL;
	tp_skel = NULL;
}

const struct family sockets_family = {
	.name = "sockets",
	.doc = "TCP I/O of traced processes, merged per request and direction in the kernel; the app's tagged by request; nginx's and the app's skipped for unsampled requests",
	.open = sockets_open,
	.load = sockets_load,
	.attach = sockets_attach,
	.detach = sockets_detach,
	.drain = sockets_drain,
	.destroy = sockets_destroy,
};
