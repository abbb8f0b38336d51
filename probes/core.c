// SPDX-License-Identifier: MIT
/* Glue for the core family (core.bpf.c): always loaded first, owns the shared maps. */
#include <errno.h>
#include <stdlib.h>
#include "family.h"
#include "core.skel.h"
#include "iter-read.h"

static struct core_bpf *skel;

static int core_open(const struct env *env, struct bpf_object **obj)
{
	skel = core_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->targ_sample_threshold = env->sample_threshold;
	*obj = skel->obj;
	return 0;
}

static int core_load(const struct env *env)
{
	return core_bpf__load(skel);
}

/* After the fork handler is attached, every thread of the lab that exists now gets its role. */
static int seed_roles(void)
{
	char *out;
	size_t len;
	int err = iter_read(skel->links.seed_roles, "task", &out, &len);

	free(out);
	return err;
}

static int core_attach(const struct env *env, char hook[HOOK_LEN])
{
	int err = core_bpf__attach(skel);

	if (!err)
		err = seed_roles();
	if (!err)
		snprintf(hook, HOOK_LEN, "tp_btf");
	return err;
}

static void core_destroy(void)
{
	core_bpf__destroy(skel);
	skel = NULL;
}

const struct family core_family = {
	.name = "core",
	.doc = "shared maps; follows forks of traced processes and gives their threads their role (always on)",
	.open = core_open,
	.load = core_load,
	.attach = core_attach,
	.destroy = core_destroy,
};
