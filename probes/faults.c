// SPDX-License-Identifier: MIT
/*
 * Glue for the faults family (faults.bpf.c): page_fault_user as tp_btf, else raw_tp, and the
 * major-fault software event on every CPU.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include "family.h"
#include "tp-pair.h"
#include "faults.skel.h"

#define MAX_CPUS 1024

static struct faults_bpf *skel;
static bool use_tp_btf;
static struct bpf_link *major_links[MAX_CPUS];
static int major_count;

static int faults_open(const struct env *env, struct bpf_object **obj)
{
	skel = faults_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->targ_sample_threshold = env->sample_threshold;
	*obj = skel->obj;
	return 0;
}

static int faults_load(const struct env *env)
{
	struct bpf_program *btf[] = { skel->progs.btf_fault };
	struct bpf_program *raw[] = { skel->progs.raw_fault };

	use_tp_btf = choose_tp_pair("page_fault_user", btf, raw, 1);
	return faults_bpf__load(skel);
}

/* One counting event per CPU whose every occurrence runs the program: only major faults do. */
static int attach_major_faults(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_PAGE_FAULTS_MAJ,
		.sample_period = 1,
	};
	int ncpu = libbpf_num_possible_cpus();

	if (ncpu < 0)
		return ncpu;
	for (int cpu = 0; cpu < ncpu && cpu < MAX_CPUS; cpu++) {
		int fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		struct bpf_link *l;

		if (fd < 0) {
			if (errno == ENODEV)
				continue; /* an offline CPU */
			fprintf(stderr, "reqtrace: faults: the major-fault event on CPU %d: %s\n", cpu, strerror(errno));
			return -errno;
		}
		l = bpf_program__attach_perf_event(skel->progs.major_fault, fd);
		if (!l) {
			int err = -errno;

			close(fd);
			fprintf(stderr, "reqtrace: faults: attaching to the major-fault event on CPU %d: %s\n", cpu, strerror(-err));
			return err;
		}
		major_links[major_count++] = l;
	}
	return 0;
}

static int faults_attach(const struct env *env, char hook[HOOK_LEN])
{
	struct bpf_program *start = use_tp_btf ? skel->progs.btf_fault : skel->progs.raw_fault;
	struct bpf_link *l = bpf_program__attach(start);
	int err;

	if (!l)
		return -errno;
	if (use_tp_btf)
		skel->links.btf_fault = l;
	else
		skel->links.raw_fault = l;
	err = attach_major_faults();
	if (!err)
		snprintf(hook, HOOK_LEN, "%s+perf", use_tp_btf ? "tp_btf" : "raw_tp");
	return err;
}

static void faults_detach(void)
{
	for (int i = 0; i < major_count; i++)
		bpf_link__destroy(major_links[i]);
	major_count = 0;
	if (skel)
		faults_bpf__detach(skel);
}

static void faults_destroy(void)
{
	faults_detach();
	faults_bpf__destroy(skel);
	skel = NULL;
}

const struct family faults_family = {
	.name = "faults",
	.doc = "major page faults of the lab's threads and how long each waited; page_fault_user runs on every user page fault",
	.opt_in = true,
	.open = faults_open,
	.load = faults_load,
	.attach = faults_attach,
	.detach = faults_detach,
	.destroy = faults_destroy,
};
