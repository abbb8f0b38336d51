// SPDX-License-Identifier: MIT
/* Glue for the sockets family (sockets.bpf.c): syscall tracepoints, the set this kernel loads. */
#include <errno.h>
#include "family.h"
#include "sockets.skel.h"

static struct sockets_bpf *skel;

static int sockets_open(const struct env *env, struct bpf_object **obj)
{
	skel = sockets_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->targ_sample_threshold = env->sample_threshold;
	*obj = skel->obj;
	return 0;
}

static int sockets_load(const struct env *env)
{
	return sockets_bpf__load(skel);
}

static int sockets_attach(const struct env *env, char hook[HOOK_LEN])
{
	int err = sockets_bpf__attach(skel);

	if (!err)
		snprintf(hook, HOOK_LEN, "tracepoint");
	return err;
}

static void sockets_destroy(void)
{
	sockets_bpf__destroy(skel);
	skel = NULL;
}

const struct family sockets_family = {
	.name = "sockets",
	.doc = "TCP I/O, accept, connect, close of traced processes; the app's tagged by request; nginx's and backends' skipped for unsampled requests",
	.open = sockets_open,
	.load = sockets_load,
	.attach = sockets_attach,
	.destroy = sockets_destroy,
};
