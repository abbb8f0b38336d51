// SPDX-License-Identifier: MIT
/* Glue for the core family (core.bpf.c): always loaded first, owns the shared maps. */
#include <errno.h>
#include "family.h"
#include "core.skel.h"

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

static int core_attach(const struct env *env, char hook[HOOK_LEN])
{
	int err = core_bpf__attach(skel);

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
	.doc = "shared maps; follows forks of traced processes (always on)",
	.open = core_open,
	.load = core_load,
	.attach = core_attach,
	.destroy = core_destroy,
};
