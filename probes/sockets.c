// SPDX-License-Identifier: MIT
/*
 * Glue for the sockets family: the socket tracepoints (sockets.bpf.c) as tp_btf, or, where they
 * do not load, the syscall tracepoints (sockets_syscalls.bpf.c). The loader detects which
 * before any family loads (env->socket_hooks), because the usdt and postgres families bind
 * sockets the same way the hooks read them.
 *
 * When tracing stops, the runs still collected in socket storage (a keep-alive connection's last
 * response, a request no response followed yet) are written by the drain iterator.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "family.h"
#include "iter-read.h"
#include "lab-ports.h"
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

/* The lab's ports as the hooks' constants, when they fit (found before any family opens). */
static void set_lab_ports(struct sockets_bpf *skel)
{
	const __u16 *ports;
	const __u8 *roles;
	int n = lab_ports_list(&ports, &roles);

	if (n > LAB_FAST_PORTS)
		return;
	for (int i = 0; i < n; i++) {
		skel->rodata->targ_lab_ports[i] = ports[i];
		skel->rodata->targ_lab_roles[i] = roles[i];
	}
	skel->rodata->targ_lab_port_count = n;
}

/* Arrival times cost a program run per delivery to any socket: while sampling, on request. */
static bool arrivals(const struct env *env)
{
	return env->sample >= 1.0 || env->arrivals;
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
	tp_skel->rodata->targ_arrivals = arrivals(env);
	tp_skel->rodata->targ_floor = env->sockets_floor;
	set_lab_ports(tp_skel);
	*obj = tp_skel->obj;
	return 0;
}

static int sockets_load(const struct env *env)
{
	if (sys_skel)
		return sockets_syscalls_bpf__load(sys_skel);
	/* A receive's start costs a program run per copied skb on every socket: worth it when every
	 * request is followed; while sampling, a receive's span starts at its end. */
	bpf_program__set_autoload(tp_skel->progs.btf_recv_copy, env->sample >= 1.0);
	bpf_program__set_autoload(tp_skel->progs.btf_send_start, !heads_at_end(env));
	bpf_program__set_autoload(tp_skel->progs.btf_data_ready, arrivals(env));
	/* The drain is run by hand when tracing stops. */
	bpf_program__set_autoattach(tp_skel->progs.drain_runs, false);
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

/* The runs still collected in socket storage, written by the drain iterator as records. */
static int sockets_drain(int (*emit)(const void *rec, size_t size))
{
	struct bpf_link *link;
	size_t len, off = 0;
	char *out;
	int n = 0;

	if (!tp_skel)
		return 0;
	link = bpf_program__attach_iter(tp_skel->progs.drain_runs, NULL);
	if (!link) {
		fprintf(stderr, "reqtrace: sockets: attaching the drain iterator failed: %s\n", strerror(errno));
		return 0;
	}
	if (iter_read(link, "socket drain", &out, &len) == 0) {
		while (off + sizeof(struct ev_sock_io) <= len) {
			if (emit(out + off, sizeof(struct ev_sock_io)) == 0)
				n++;
			off += sizeof(struct ev_sock_io);
		}
		free(out);
	}
	bpf_link__destroy(link);
	return n;
}

static void sockets_destroy(void)
{
	sockets_syscalls_bpf__destroy(sys_skel);
	sockets_bpf__destroy(tp_skel);
	sys_skel = NULL;
	tp_skel = NULL;
}

/* The gates' counts when tracing stopped: with every response written, no decision and no head
 * waits any more. */
static void sockets_summary(FILE *out)
{
	struct sock_gates g;
	__u32 zero = 0;

	if (!tp_skel || bpf_map__lookup_elem(tp_skel->maps.sock_gates, &zero, sizeof(zero), &g, sizeof(g), 0))
		return;
	fprintf(out, "sockets: gate_binds=%u gate_decisions=%d gate_heads=%lld\n", g.binds, g.decisions,
		(long long)g.heads);
}

const struct family sockets_family = {
	.name = "sockets",
	.doc = "TCP I/O of traced processes, merged per request and direction in the kernel; the app's tagged by request; nginx's and the app's skipped for unsampled requests",
	.open = sockets_open,
	.load = sockets_load,
	.attach = sockets_attach,
	.summary = sockets_summary,
	.detach = sockets_detach,
	.drain = sockets_drain,
	.destroy = sockets_destroy,
};
