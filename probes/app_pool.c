// SPDX-License-Identifier: MIT
/* Glue for the pool family (app_pool.bpf.c): the addon's reqtrace:pool_wait probe, app pid only. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "family.h"
#include "usdt-notes.h"
#include "app_pool.skel.h"

static struct app_pool_bpf *skel;

static bool is_pool_wait(const char *probe)
{
	return !strcmp(probe, "pool_wait");
}

static int pool_open(const struct env *env, struct bpf_object **obj)
{
	struct usdt_site site;
	int n;

	if (!env->addon_path || !env->app_pid) {
		fprintf(stderr, "reqtrace: pool: skipped (needs --addon and --app-pid)\n");
		return FAMILY_SKIP;
	}
	n = usdt_read_sites(env->addon_path, "reqtrace", is_pool_wait, &site, 1);
	if (n == 0 || n == -ENOENT) {
		fprintf(stderr, "reqtrace: pool: skipped (%s has no reqtrace:pool_wait probe: rebuild it with npm run build)\n",
			env->addon_path);
		return FAMILY_SKIP;
	}
	if (n < 0 && n != -E2BIG) {
		fprintf(stderr, "reqtrace: pool: reading the probes of %s failed: %s\n", env->addon_path, strerror(-n));
		return n;
	}
	skel = app_pool_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->targ_sample_threshold = env->sample_threshold;
	skel->rodata->targ_app_tgid = env->app_pid;
	skel->rodata->targ_keep = env->keep_slower_us > 0;
	*obj = skel->obj;
	return 0;
}

static int pool_load(const struct env *env)
{
	return app_pool_bpf__load(skel);
}

static int pool_attach(const struct env *env, char hook[HOOK_LEN])
{
	skel->links.pool_wait = bpf_program__attach_usdt(skel->progs.pool_wait, env->app_pid, env->addon_path,
							  "reqtrace", "pool_wait", NULL);
	if (!skel->links.pool_wait) {
		int err = -errno;

		fprintf(stderr, "reqtrace: pool: attaching reqtrace:pool_wait in %s (pid %d) failed: %s\n",
			env->addon_path, env->app_pid, strerror(-err));
		return err;
	}
	snprintf(hook, HOOK_LEN, "usdt");
	return 0;
}

static void pool_destroy(void)
{
	app_pool_bpf__destroy(skel);
	skel = NULL;
}

const struct family app_pool_family = {
	.name = "pool",
	.doc = "the app's reqtrace:pool_wait probe: each request's wait for a PostgreSQL pool connection",
	.open = pool_open,
	.load = pool_load,
	.attach = pool_attach,
	.destroy = pool_destroy,
};
