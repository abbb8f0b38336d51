// SPDX-License-Identifier: MIT
/* Glue for the offcpu family (offcpu.bpf.c): sleeps of the lab's threads, from sched_switch. */
#include <errno.h>
#include "family.h"
#include "tp-pair.h"
#include "offcpu.skel.h"

TP_PAIR_GLUE(offcpu)

static int offcpu_load(const struct env *env)
{
	struct bpf_program *btf[] = { skel->progs.btf_switch };
	struct bpf_program *raw[] = { skel->progs.raw_switch };

	use_tp_btf = choose_tp_pair("sched_switch", btf, raw, 1);
	bpf_program__set_autoload(skel->progs.raw_exit, !use_tp_btf);
	return offcpu_bpf__load(skel);
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
