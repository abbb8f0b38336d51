// SPDX-License-Identifier: MIT
/* Glue for the scheduler family (sched.bpf.c): every runqueue wait of the lab's threads, opt-in. */
#include <errno.h>
#include <stdio.h>
#include "family.h"
#include "sched.skel.h"

/* Default floor for an EV_RUNQ_DELAY record, nanoseconds. */
#define RUNQ_MIN_NS_DEFAULT 100000ull

static struct sched_bpf *skel;

static int sched_open(const struct env *env, struct bpf_object **obj)
{
	skel = sched_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->targ_sample_threshold = env->sample_threshold;
	skel->rodata->targ_runq_min_ns = RUNQ_MIN_NS_DEFAULT;
	skel->rodata->targ_runq_always = !env->usdt_selected;
	*obj = skel->obj;
	return 0;
}

static int sched_load(const struct env *env)
{
	return sched_bpf__load(skel);
}

static int sched_attach(const struct env *env, char hook[HOOK_LEN])
{
	int err = sched_bpf__attach(skel);

	if (!err)
		snprintf(hook, HOOK_LEN, "tp_btf");
	return err;
}

static void sched_destroy(void)
{
	sched_bpf__destroy(skel);
	skel = NULL;
}

const struct family sched_family = {
	.name = "sched",
	.doc = "every runqueue wait (>= 100 us) of app threads and backends, timed; without it, records carry their thread's schedstat wait",
	.opt_in = true,
	.open = sched_open,
	.load = sched_load,
	.attach = sched_attach,
	.destroy = sched_destroy,
};
