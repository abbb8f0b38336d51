// SPDX-License-Identifier: MIT
/* Glue for the usdt family (app_usdt.bpf.c): every reqtrace:* probe in the addon, app pid only. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "family.h"
#include "app_usdt.skel.h"

static struct app_usdt_bpf *skel;

static int usdt_open(const struct env *env, struct bpf_object **obj)
{
	if (!env->addon_path || !env->app_pid) {
		fprintf(stderr, "reqtrace: usdt: skipped (needs --addon and --app-pid)\n");
		return FAMILY_SKIP;
	}
	if (access(env->addon_path, R_OK)) {
		int err = -errno;

		fprintf(stderr, "reqtrace: usdt: addon %s: %s\n", env->addon_path, strerror(errno));
		return err;
	}
	skel = app_usdt_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->targ_sample_threshold = env->sample_threshold;
	skel->rodata->targ_app_tgid = env->app_pid;
	/* Sockets are bound by their struct sock only for the socket tracepoints to read. */
	skel->rodata->targ_sock_hooks = env->sockets_selected && strcmp(env->socket_hooks, "syscalls") != 0;
	skel->rodata->targ_bind_sockets = env->sockets_selected && !skel->rodata->targ_sock_hooks;
	skel->rodata->targ_bind_files = env->files_selected;
	skel->rodata->targ_keep = env->keep_slower_us > 0;
	*obj = skel->obj;
	return 0;
}

static int usdt_load(const struct env *env)
{
	return app_usdt_bpf__load(skel);
}

static int attach_one(struct bpf_program *prog, struct bpf_link **link, const struct env *env,
		      const char *probe)
{
	*link = bpf_program__attach_usdt(prog, env->app_pid, env->addon_path, "reqtrace", probe, NULL);
	if (!*link) {
		int err = -errno;

		fprintf(stderr, "reqtrace: usdt: attaching reqtrace:%s in %s (pid %d) failed: %s\n",
			probe, env->addon_path, env->app_pid, strerror(errno));
		return err;
	}
	return 0;
}

static int usdt_attach(const struct env *env, char hook[HOOK_LEN])
{
	int err;

	if ((err = attach_one(skel->progs.request_start, &skel->links.request_start, env, "request_start")) ||
	    (err = attach_one(skel->progs.request_end, &skel->links.request_end, env, "request_end")) ||
	    (err = attach_one(skel->progs.db_query_start, &skel->links.db_query_start, env, "db_query_start")) ||
	    (err = attach_one(skel->progs.db_query_end, &skel->links.db_query_end, env, "db_query_end")) ||
	    (err = attach_one(skel->progs.cache_hit, &skel->links.cache_hit, env, "cache_hit")) ||
	    (err = attach_one(skel->progs.cache_miss, &skel->links.cache_miss, env, "cache_miss")) ||
	    (err = attach_one(skel->progs.file_open, &skel->links.file_open, env, "file_open")) ||
	    (err = attach_one(skel->progs.file_close, &skel->links.file_close, env, "file_close")))
		return err;
	snprintf(hook, HOOK_LEN, "usdt");
	return 0;
}

static void usdt_destroy(void)
{
	app_usdt_bpf__destroy(skel);
	skel = NULL;
}

const struct family app_usdt_family = {
	.name = "usdt",
	.doc = "the app's reqtrace:* USDT probes: request, query, cache and file events; fd bindings",
	.open = usdt_open,
	.load = usdt_load,
	.attach = usdt_attach,
	.destroy = usdt_destroy,
};
