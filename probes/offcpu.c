// SPDX-License-Identifier: MIT
/* Glue for the offcpu family (offcpu.bpf.c): sleeps of the lab's threads, from sched_switch. */
#include <errno.h>
#include "family.h"
#include "tp-pair.h"
#include "offcpu.skel.h"

static struct offcpu_bpf *skel;
static bool use_tp_btf;

static int offcpu_open(const struct env *env, struct bpf_object **obj)
{
	skel = offcpu_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->targ_sample_threshold = env->sample_threshold;
	*obj = skel->obj;
	return 0;
}

static int offcpu_load(const struct env *env)
{
	struct bpf_program *btf[] = { skel->progs.btf_switch };
	struct bpf_program *raw[] = { skel->progs.raw_switch };

	use_tp_btf = choose_tp_pair("sched_switch", btf, raw, 1);
	bpf_program__set_autoload(skel->progs.raw_exit, !use_tp_btf);
	return offcpu_bpf__load(skel);
}

static int offcpu_attach(const struct env *env, char hook[HOOK_LEN])
{
	int err = offcpu_bpf__attach(skel);

	if (!err)
		snprintf(hook, HOOK_LEN, "%s", use_tp_btf ? "tp_btf" : "raw_tp");
	return err;
}

static void offcpu_destroy(void)
{
	offcpu_bpf__destroy(skel);
	skel = NULL;
}

const struct family offcpu_family = {
	.name = "offcpu",
	.doc = "sleeps of the lab's threads ≥ 50 µs and the syscall they slept in (futex waits, I/O waits); runs on every context switch",
	.opt_in = true,
	.open = offcpu_open,
	.load = offcpu_load,
	.attach = offcpu_attach,
	.destroy = offcpu_destroy,
};
