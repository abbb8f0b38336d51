// SPDX-License-Identifier: MIT
/*
 * Glue for the conn family (conn.bpf.c): inet_sock_set_state as tp_btf, else raw_tp, and a
 * uprobe on each nginx process's ngx_http_init_connection for its accepts.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "family.h"
#include "hook-detect.h"
#include "conn.skel.h"

#define NGINX_ACCEPT_FUNC "ngx_http_init_connection"

static struct conn_bpf *skel;
static bool use_tp_btf;
static struct bpf_link *accept_links[MAX_NGINX_PIDS];
static int accept_count;
static int accept_attached; /* for the summary, which comes after detach */

static int conn_open(const struct env *env, struct bpf_object **obj)
{
	skel = conn_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->targ_sample_threshold = env->sample_threshold;
	*obj = skel->obj;
	return 0;
}

static int conn_load(const struct env *env)
{
	use_tp_btf = tp_btf_loads("inet_sock_set_state");
	bpf_program__set_autoload(skel->progs.btf_state, use_tp_btf);
	bpf_program__set_autoload(skel->progs.raw_state, !use_tp_btf);
	return conn_bpf__load(skel);
}

/* nginx's accepts: a uprobe in each given nginx process (the workers accept); without the
 * symbol (another build of nginx) connections still get their handshake, not their accept. */
static void attach_accepts(const struct env *env)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = NGINX_ACCEPT_FUNC);
	char exe[PATH_MAX], link[64];

	for (int i = 0; i < env->nginx_pid_count; i++) {
		ssize_t n;
		struct bpf_link *l;

		snprintf(link, sizeof(link), "/proc/%d/exe", env->nginx_pids[i]);
		n = readlink(link, exe, sizeof(exe) - 1);
		if (n <= 0)
			continue;
		exe[n] = 0;
		l = bpf_program__attach_uprobe_opts(skel->progs.nginx_accepted, env->nginx_pids[i], exe, 0, &opts);
		if (!l) {
			fprintf(stderr, "reqtrace: conn: no accept times from nginx pid %d (%s: %s): handshakes only\n",
				env->nginx_pids[i], NGINX_ACCEPT_FUNC, strerror(errno));
			continue;
		}
		accept_links[accept_count++] = l;
		accept_attached++;
	}
}

static int conn_attach(const struct env *env, char hook[HOOK_LEN])
{
	struct bpf_program *state = use_tp_btf ? skel->progs.btf_state : skel->progs.raw_state;
	struct bpf_link *l = bpf_program__attach(state);

	if (!l)
		return -errno;
	if (use_tp_btf)
		skel->links.btf_state = l;
	else
		skel->links.raw_state = l;
	attach_accepts(env);
	snprintf(hook, HOOK_LEN, "%s%s", use_tp_btf ? "tp_btf" : "raw_tp", accept_count ? "+uprobe" : "");
	return 0;
}

static void conn_summary(FILE *out)
{
	fprintf(out, "conn: nginx_accept_probes=%d\n", accept_attached);
}

static void conn_detach(void)
{
	for (int i = 0; i < accept_count; i++)
		bpf_link__destroy(accept_links[i]);
	accept_count = 0;
	conn_bpf__detach(skel);
}

static void conn_destroy(void)
{
	for (int i = 0; i < accept_count; i++)
		bpf_link__destroy(accept_links[i]);
	accept_count = 0;
	conn_bpf__destroy(skel);
	skel = NULL;
}

const struct family conn_family = {
	.name = "conn",
	.doc = "connection setup: handshakes on the lab's ports and of its own connects (inet_sock_set_state), nginx's accepts",
	.open = conn_open,
	.load = conn_load,
	.attach = conn_attach,
	.summary = conn_summary,
	.detach = conn_detach,
	.destroy = conn_destroy,
};
