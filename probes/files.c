// SPDX-License-Identifier: MIT
/* Glue for the files family (files.bpf.c): syscall tracepoints on the app's bound files. */
#include <errno.h>
#include "family.h"
#include "files.skel.h"

static struct files_bpf *skel;

static int files_open(const struct env *env, struct bpf_object **obj)
{
	if (!env->app_pid) {
		fprintf(stderr, "reqtrace: files: skipped (needs --app-pid)\n");
		return FAMILY_SKIP;
	}
	skel = files_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->targ_sample_threshold = env->sample_threshold;
	skel->rodata->targ_app_tgid = env->app_pid;
	*obj = skel->obj;
	return 0;
}

static int files_load(const struct env *env)
{
	return files_bpf__load(skel);
}

static int files_attach(const struct env *env, char hook[HOOK_LEN])
{
	int err = files_bpf__attach(skel);

	if (!err)
		snprintf(hook, HOOK_LEN, "tracepoint");
	return err;
}

static void files_destroy(void)
{
	files_bpf__destroy(skel);
	skel = NULL;
}

const struct family files_family = {
	.name = "files",
	.opt_in = true,
	.doc = "reads and writes on files the app bound with file_open, any thread (opt-in: syscall tracepoints)",
	.open = files_open,
	.load = files_load,
	.attach = files_attach,
	.destroy = files_destroy,
};
