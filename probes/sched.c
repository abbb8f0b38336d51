// SPDX-License-Identifier: MIT
/* Glue for the scheduler family (sched.bpf.c): runqueue delay, fork and exit records. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "family.h"
#include "hook-detect.h"
#include "sched.skel.h"

/* Default floor for an EV_RUNQ_DELAY record, nanoseconds. */
#define RUNQ_MIN_NS_DEFAULT 100000ull

static struct sched_bpf *skel;
static bool use_tp_btf;

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
	struct bpf_program *btf_progs[] = {
		skel->progs.btf_wakeup, skel->progs.btf_wakeup_new, skel->progs.btf_switch,
		skel->progs.btf_fork, skel->progs.btf_exit,
	};
	struct bpf_program *raw_progs[] = {
		skel->progs.raw_wakeup, skel->progs.raw_wakeup_new, skel->progs.raw_switch,
		skel->progs.raw_fork, skel->progs.raw_exit,
	};
	size_t i;

	use_tp_btf = tp_btf_loads("sched_switch");
	for (i = 0; i < sizeof(btf_progs) / sizeof(btf_progs[0]); i++) {
		bpf_program__set_autoload(btf_progs[i], use_tp_btf);
		bpf_program__set_autoload(raw_progs[i], !use_tp_btf);
	}
	bpf_program__set_autoload(skel->progs.seed_runq, use_tp_btf);
	return sched_bpf__load(skel);
}

/* The processes traced before attach never pass through fork; their exits must still count. */
static int seed_procs(void)
{
	int traced_fd = bpf_map__fd(skel->maps.traced);
	int procs_fd = bpf_map__fd(skel->maps.sched_procs);
	__u32 key, next, role;
	__u32 *prev = NULL;

	while (bpf_map_get_next_key(traced_fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(traced_fd, &next, &role) == 0 &&
		    bpf_map_update_elem(procs_fd, &next, &role, BPF_ANY))
			return -errno;
		key = next;
		prev = &key;
	}
	return 0;
}

/* Runs the task iterator once: every thread of the lab that exists now gets its storage. */
static int seed_runq_storage(void)
{
	char buf[64];
	int it = bpf_iter_create(bpf_link__fd(skel->links.seed_runq));
	ssize_t n;

	if (it < 0) {
		fprintf(stderr, "sched: creating the task iterator failed: %s\n", strerror(errno));
		return -errno;
	}
	while ((n = read(it, buf, sizeof(buf))) > 0)
		;
	close(it);
	if (n < 0) {
		fprintf(stderr, "sched: running the task iterator failed: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

static int sched_attach(const struct env *env, char hook[HOOK_LEN])
{
	int err = seed_procs();

	if (err) {
		fprintf(stderr, "sched: copying traced processes: %s\n", strerror(-err));
		return err;
	}
	err = sched_bpf__attach(skel);
	if (!err && use_tp_btf)
		err = seed_runq_storage();
	if (!err)
		snprintf(hook, HOOK_LEN, "%s", use_tp_btf ? "tp_btf" : "raw_tp");
	return err;
}

static void sched_destroy(void)
{
	sched_bpf__destroy(skel);
	skel = NULL;
}

const struct family sched_family = {
	.name = "sched",
	.doc = "runqueue delay of app threads and backends (>= 100 us; while sampling, only serving sampled requests); fork/exit of traced processes",
	.open = sched_open,
	.load = sched_load,
	.attach = sched_attach,
	.destroy = sched_destroy,
};
