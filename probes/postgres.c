// SPDX-License-Identifier: MIT
/*
 * Glue for the PostgreSQL family (postgres.bpf.c). PostgreSQL's USDT probes are attached by
 * binary path, for every process that runs the binary: the postmaster's backends forked later
 * carry the breakpoints from their first instruction (fork copies them), so none is held back
 * and none can be left waiting on the tracer. Which processes count is decided in BPF, by the
 * `traced` map the core family keeps at fork.
 *
 * The probe sites (~19) are read once from the binary's USDT notes (usdt-notes.c) with their
 * argument specs, and one uprobe_multi link covers all of them (Linux 6.6); without it each site is
 * a plain uprobe link of its own. Either way the price is that every PostgreSQL process on the
 * machine hits the breakpoints while tracing (a trap each, the program returning at once for one
 * that is not the lab's).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "family.h"
#include "hook-detect.h"
#include "postgres.h"
#include "postgres.skel.h"
#include "uprobe-multi.h"
#include "usdt-notes.h"

#define PG_PROVIDER "postgresql"

static const char *const probe_names[PGP_COUNT] = {
	[PGP_QUERY_START] = "query__start",
	[PGP_QUERY_DONE] = "query__done",
	[PGP_PARSE_START] = "query__parse__start",
	[PGP_PARSE_DONE] = "query__parse__done",
	[PGP_REWRITE_START] = "query__rewrite__start",
	[PGP_REWRITE_DONE] = "query__rewrite__done",
	[PGP_PLAN_START] = "query__plan__start",
	[PGP_PLAN_DONE] = "query__plan__done",
	[PGP_EXECUTE_START] = "query__execute__start",
	[PGP_EXECUTE_DONE] = "query__execute__done",
	[PGP_LOCK_WAIT_START] = "lock__wait__start",
	[PGP_LOCK_WAIT_DONE] = "lock__wait__done",
	[PGP_BUFFER_READ_START] = "buffer__read__start",
	[PGP_BUFFER_READ_DONE] = "buffer__read__done",
	[PGP_SMGR_READ_START] = "smgr__md__read__start",
	[PGP_SMGR_READ_DONE] = "smgr__md__read__done",
	[PGP_SMGR_WRITE_START] = "smgr__md__write__start",
	[PGP_SMGR_WRITE_DONE] = "smgr__md__write__done",
	[PGP_TXN_COMMIT] = "transaction__commit",
};

static struct postgres_bpf *skel;
static char pg_binary[PATH_MAX];
static bool use_multi;
/* buffer__read__start/done fire on every buffer access, shared-buffer hits included (hundreds per
 * request): a trap each, paid before any filter runs. Attached only when asked (--pg-buffers);
 * reads that reach the OS show up through smgr__md__read__* regardless. */
static bool want_buffer_reads;

/* The probe sites we attach; site i's cookie is its spec id i. */
static struct usdt_site sites[MAX_PG_PROBE_SITES];
static unsigned long site_offsets[MAX_PG_PROBE_SITES];
static unsigned long site_ref_ctrs[MAX_PG_PROBE_SITES];
static __u64 site_cookies[MAX_PG_PROBE_SITES];
static int site_count;

static int multi_link_fd = -1;
static struct bpf_link *site_links[MAX_PG_PROBE_SITES];

/* Every site is a trap for every statement of every PostgreSQL process, sampled or not, so the
 * small phases are left out unless asked for (--pg-detail). */
static bool want_detail;

static bool probe_wanted(int kind)
{
	switch (kind) {
	case PGP_BUFFER_READ_START:
	case PGP_BUFFER_READ_DONE:
		return want_buffer_reads;
	case PGP_REWRITE_START:
	case PGP_REWRITE_DONE:
	case PGP_TXN_COMMIT:
		return want_detail;
	default:
		return true;
	}
}

static int probe_kind(const char *name)
{
	for (int k = PGP_QUERY_START; k < PGP_COUNT; k++)
		if (!strcmp(name, probe_names[k]))
			return k;
	return -1;
}

static bool site_wanted(const char *probe)
{
	int kind = probe_kind(probe);

	return kind >= 0 && probe_wanted(kind);
}

/* Keeps the sites of the probes we use, each tagged with its kind; every one must be there. */
static int find_sites(const char *path)
{
	static struct usdt_site all[MAX_PG_PROBE_SITES];
	bool found[PGP_COUNT] = {};
	int n = usdt_read_sites(path, PG_PROVIDER, site_wanted, all, MAX_PG_PROBE_SITES);
	int err = 0;

	if (n < 0)
		return n;
	site_count = 0;
	for (int i = 0; i < n; i++) {
		int kind = probe_kind(all[i].name);

		if (kind < 0 || !probe_wanted(kind))
			continue;
		sites[site_count] = all[i];
		sites[site_count].spec.usdt_cookie = kind;
		site_offsets[site_count] = all[i].offset;
		site_ref_ctrs[site_count] = all[i].ref_ctr;
		site_cookies[site_count] = site_count;
		site_count++;
		found[kind] = true;
	}
	for (int k = PGP_QUERY_START; k < PGP_COUNT; k++)
		if (!found[k] && probe_wanted(k)) {
			fprintf(stderr, "postgres: %s has no USDT probe %s:%s\n", path, PG_PROVIDER, probe_names[k]);
			err = -ENOENT;
		}
	return err;
}

static int postgres_open(const struct env *env, struct bpf_object **obj)
{
	char link[64];
	ssize_t n;
	int err;

	if (!env->pg_pid) {
		fprintf(stderr, "reqtrace: postgres: skipped (needs --pg-pid)\n");
		return FAMILY_SKIP;
	}
	snprintf(link, sizeof(link), "/proc/%d/exe", env->pg_pid);
	n = readlink(link, pg_binary, sizeof(pg_binary) - 1);
	if (n < 0) {
		err = -errno;
		fprintf(stderr, "postgres: reading %s failed: %s\n", link, strerror(errno));
		return err;
	}
	pg_binary[n] = '\0';
	want_buffer_reads = env->pg_buffers;
	want_detail = env->pg_detail;
	err = find_sites(pg_binary);
	if (err == -ENOENT) {
		/* A server built without --enable-dtrace (e.g. the npm embedded one): nothing to attach. */
		fprintf(stderr, "reqtrace: postgres: skipped (%s has no USDT probes)\n", pg_binary);
		return FAMILY_SKIP;
	}
	if (err) {
		fprintf(stderr, "postgres: reading the USDT notes of %s failed: %s\n", pg_binary, strerror(-err));
		return err;
	}
	skel = postgres_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->targ_sample_threshold = env->sample_threshold;
	skel->rodata->targ_pg_current = !strcmp(env->socket_hooks, "syscalls");
	skel->rodata->targ_keep = env->keep_slower_us > 0;
	*obj = skel->obj;
	return 0;
}

static int postgres_load(const struct env *env)
{
	int err, specs_fd;

	use_multi = uprobe_multi_loads();
	if (use_multi)
		bpf_program__set_expected_attach_type(skel->progs.pg_probe, ATTACH_UPROBE_MULTI);
	err = postgres_bpf__load(skel);
	if (err)
		return err;
	if (bpf_map__value_size(skel->maps.__bpf_usdt_specs) != sizeof(struct usdt_spec)) {
		fprintf(stderr, "postgres: <bpf/usdt.bpf.h> specs are %u bytes, usdt-notes.h says %zu\n",
			bpf_map__value_size(skel->maps.__bpf_usdt_specs), sizeof(struct usdt_spec));
		return -EINVAL;
	}
	specs_fd = bpf_map__fd(skel->maps.__bpf_usdt_specs);
	for (int i = 0; i < site_count; i++)
		if (bpf_map_update_elem(specs_fd, &i, &sites[i].spec, BPF_ANY)) {
			err = -errno;
			fprintf(stderr, "postgres: writing USDT spec %d failed: %s\n", i, strerror(errno));
			return err;
		}
	return 0;
}

static int postgres_attach(const struct env *env, char hook[HOOK_LEN])
{
	int err = 0;

	if (use_multi) {
		multi_link_fd = uprobe_multi_link(bpf_program__fd(skel->progs.pg_probe), pg_binary, site_offsets, site_ref_ctrs,
						  site_cookies, site_count);
		if (multi_link_fd < 0) {
			err = multi_link_fd;
			multi_link_fd = -1;
		}
	} else {
		for (int i = 0; i < site_count && !err; i++) {
			LIBBPF_OPTS(bpf_uprobe_opts, opts, .ref_ctr_offset = site_ref_ctrs[i],
				    .bpf_cookie = site_cookies[i]);

			site_links[i] = bpf_program__attach_uprobe_opts(skel->progs.pg_probe, -1, pg_binary,
									site_offsets[i], &opts);
			if (!site_links[i])
				err = -errno;
		}
	}
	if (err) {
		fprintf(stderr, "postgres: attaching the probes in %s failed: %s\n", pg_binary, strerror(-err));
		return err;
	}
	snprintf(hook, HOOK_LEN, "%s", use_multi ? "usdt-uprobe-multi-binary" : "usdt-uprobe-binary");
	return 0;
}

static void postgres_summary(FILE *out)
{
	fprintf(out, "postgres: sites_attached=%d links=%d\n", site_count, use_multi ? 1 : site_count);
}

static void postgres_detach(void)
{
	if (multi_link_fd >= 0)
		close(multi_link_fd);
	multi_link_fd = -1;
	for (int i = 0; i < MAX_PG_PROBE_SITES; i++) {
		bpf_link__destroy(site_links[i]);
		site_links[i] = NULL;
	}
}

static void postgres_destroy(void)
{
	postgres_detach();
	postgres_bpf__destroy(skel);
	skel = NULL;
}

const struct family postgres_family = {
	.name = "postgres",
	.opt_in = true,
	.doc = "PostgreSQL phases (parse/plan/execute, lock waits, disk I/O; buffer misses with --pg-buffers), attached by binary path; needs --pg-pid (opt-in: each hit is a breakpoint trap in every process of the binary)",
	.open = postgres_open,
	.load = postgres_load,
	.attach = postgres_attach,
	.summary = postgres_summary,
	.detach = postgres_detach,
	.destroy = postgres_destroy,
};
