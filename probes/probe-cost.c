// SPDX-License-Identifier: MIT
/*
 * probe-cost: what one hook run costs on this machine beyond what the kernel's bpf_stats count,
 * for `lab bench overhead` to add up tracing's parts. Measured with programs that do nothing:
 *
 *   - a USDT site hit with a program attached, at a 1-byte nop (an int3 trap, PostgreSQL's sites)
 *     and at a 5-byte nop (the uprobe trampoline, the app's sites), against the same loop
 *     untraced;
 *   - a socket tracepoint (sock_recv_length, tp_btf) run, against the same receives on an empty
 *     unix socket without it.
 *
 * Attached and untraced batches alternate many times in one process and the medians are kept,
 * so a busy host's drift falls on both. The empty programs' bpf_stats time per run is reported
 * beside each, to tell what a real program's stats figure leaves out. With --stats-cost, also what
 * bpf_stats itself adds to a run: the sysctl is switched on and off around the same attached
 * loops, and put back as it was.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "probe-cost.skel.h"
#include <sys/sdt.h>

static struct {
	int rounds;
	int verbose;
	int stats_cost;
} env = { .rounds = 15 };

const char *argp_program_version = "probe-cost 1.0";
const char argp_program_doc[] =
	"Measure what a USDT hit and a tracepoint run cost here beyond bpf_stats.\n"
	"\n"
	"USAGE: probe-cost [-r ROUNDS] [--stats-cost] [-v]\n"
	"\n"
	"Prints one JSON object: ns per hit or run (median of ROUNDS alternations), and the empty\n"
	"programs' bpf_stats ns per run (kernel.bpf_stats_enabled must be 1 for those; 0 otherwise).\n"
	"Needs root (CAP_BPF, CAP_PERFMON).\n"
	"\n"
	"EXAMPLES:\n"
	"    probe-cost         # {\"nop1_ns\":..., \"nop5_ns\":..., \"tracepoint_ns\":..., ...}\n"
	"    probe-cost -r 40   # more alternations on a noisy machine\n"
	"    probe-cost --stats-cost   # also what kernel.bpf_stats_enabled adds to a run\n";

static const struct argp_option opts[] = {
	{ "rounds", 'r', "N", 0, "Attached/untraced alternations per hook, 3..1000 (default 15)", 0 },
	{ "stats-cost", 's', NULL, 0, "Also time what bpf_stats adds to a run (switches kernel.bpf_stats_enabled, then puts it back)", 0 },
	{ "verbose", 'v', NULL, 0, "libbpf debug output on stderr", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char *end;
	long n;

	switch (key) {
	case 'r':
		errno = 0;
		n = strtol(arg, &end, 10);
		if (errno || *end || n < 3 || n > 1000) {
			fprintf(stderr, "probe-cost: --rounds must be a whole number from 3 to 1000, got '%s'\n", arg);
			argp_usage(state);
		}
		env.rounds = n;
		break;
	case 's':
		env.stats_cost = 1;
		break;
	case 'v':
		env.verbose = 1;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_DEBUG && !env.verbose ? 0 : vfprintf(stderr, fmt, args);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Batches of ~0.1 s when traced: a trap costs microseconds on some machines. */
#define NOP1_HITS 20000
#define NOP5_HITS 50000
#define PINGS 20000

/* Not inlined: each loop keeps its one probe site, which the attach names by function. */
__attribute__((noinline)) static double nop1_loop(void)
{
	double t0 = now_ns();

	for (long i = 0; i < NOP1_HITS; i++)
		STAP_PROBE1(reqtrace_cost, nop1, i);
	return (now_ns() - t0) / NOP1_HITS;
}

/* sys/sdt.h expands _SDT_NOP where a probe is used: from here on, sites are 5-byte nops. */
#undef _SDT_NOP
#define _SDT_NOP .nops 5

__attribute__((noinline)) static double nop5_loop(void)
{
	double t0 = now_ns();

	for (long i = 0; i < NOP5_HITS; i++)
		STAP_PROBE1(reqtrace_cost, nop5, i);
	return (now_ns() - t0) / NOP5_HITS;
}

static int sv[2];

/* Receives on an empty socket that does not wait: one syscall and one tracepoint run each, so the
 * run is a large part of what is timed (a send and a receive each would drown it). */
static double recv_loop(void)
{
	double t0 = now_ns();
	char c;

	for (long i = 0; i < PINGS; i++)
		if (recv(sv[1], &c, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
			return -1;
	return (now_ns() - t0) / PINGS;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* bpf_stats ns per run of a program so far; 0 without stats. */
static double stats_ns(struct bpf_program *prog)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) || !info.run_cnt)
		return 0;
	return (double)info.run_time_ns / info.run_cnt;
}

typedef double (*loop_fn)(void);
typedef struct bpf_link *(*attach_fn)(struct probe_cost_bpf *skel);

static struct bpf_link *attach_nop1(struct probe_cost_bpf *skel)
{
	return bpf_program__attach_usdt(skel->progs.empty_usdt, getpid(), "/proc/self/exe", "reqtrace_cost", "nop1", NULL);
}

static struct bpf_link *attach_nop5(struct probe_cost_bpf *skel)
{
	return bpf_program__attach_usdt(skel->progs.empty_usdt, getpid(), "/proc/self/exe", "reqtrace_cost", "nop5", NULL);
}

static struct bpf_link *attach_tp(struct probe_cost_bpf *skel)
{
	return bpf_program__attach(skel->progs.empty_tp);
}

/* Turns what is timed on (1) or off (0); 0 or a negative errno. */
typedef int (*switch_fn)(void *ctx, int on);

/* Median ns added per iteration of `loop` while `set` has it on: on and off batches alternate.
 * Left off when it returns. */
static int median_added_ns(loop_fn loop, switch_fn set, void *ctx, double *out)
{
	double *diff = calloc(env.rounds, sizeof(double));
	int err = 0;

	if (!diff)
		return -ENOMEM;
	loop();
	for (int r = 0; r < env.rounds; r++) {
		double with, without;

		if ((err = set(ctx, 1)))
			break;
		loop();
		with = loop();
		if ((err = set(ctx, 0)))
			break;
		without = loop();
		if (with < 0 || without < 0) {
			err = -EIO;
			break;
		}
		diff[r] = with - without;
	}
	set(ctx, 0);
	if (!err)
		*out = median(diff, env.rounds);
	free(diff);
	return err;
}

struct hook_switch {
	struct probe_cost_bpf *skel;
	attach_fn attach;
	struct bpf_link *link;
};

static int switch_hook(void *ctx, int on)
{
	struct hook_switch *h = ctx;

	bpf_link__destroy(h->link);
	h->link = on ? h->attach(h->skel) : NULL;
	return on && !h->link ? -errno : 0;
}

/* Median ns added per iteration by the attached hook: attached and untraced batches alternate. */
static int added_ns(struct probe_cost_bpf *skel, attach_fn attach, loop_fn loop, double *out)
{
	struct hook_switch h = { .skel = skel, .attach = attach };

	return median_added_ns(loop, switch_hook, &h, out);
}

#define STATS_SYSCTL "/proc/sys/kernel/bpf_stats_enabled"

/* kernel.bpf_stats_enabled: 0 or 1, or a negative errno. */
static int stats_enabled(void)
{
	FILE *f = fopen(STATS_SYSCTL, "r");
	int v = -1;

	if (!f)
		return -errno;
	if (fscanf(f, "%d", &v) != 1)
		v = -EIO;
	fclose(f);
	return v;
}

static int set_stats(int on)
{
	FILE *f = fopen(STATS_SYSCTL, "w");
	int err = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "%d", on) < 0)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

static int switch_stats(void *ctx, int on)
{
	return set_stats(on);
}

/* Median ns bpf_stats adds per iteration of an attached hook: stats on and off alternate. */
static int stats_added_ns(struct probe_cost_bpf *skel, attach_fn attach, loop_fn loop, double *out)
{
	struct hook_switch h = { .skel = skel, .attach = attach };
	int err = switch_hook(&h, 1);

	if (!err)
		err = median_added_ns(loop, switch_stats, NULL, out);
	switch_hook(&h, 0);
	return err;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .doc = argp_program_doc };
	struct probe_cost_bpf *skel = NULL;
	double nop1 = 0, nop5 = 0, tp = 0, usdt_stats, tp_stats, usdt_added = 0, tp_added = 0;
	int err, stats_was = -1;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 1;
	libbpf_set_print(print_libbpf);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		fprintf(stderr, "probe-cost: socketpair: %s\n", strerror(errno));
		return 1;
	}
	skel = probe_cost_bpf__open_and_load();
	if (!skel) {
		err = -errno;
		fprintf(stderr, "probe-cost: loading the empty programs failed: %s\n", strerror(errno));
		goto cleanup;
	}
	if ((err = added_ns(skel, attach_nop1, nop1_loop, &nop1))) {
		fprintf(stderr, "probe-cost: the nop1 site: %s\n", strerror(-err));
		goto cleanup;
	}
	if ((err = added_ns(skel, attach_nop5, nop5_loop, &nop5))) {
		fprintf(stderr, "probe-cost: the nop5 site: %s\n", strerror(-err));
		goto cleanup;
	}
	usdt_stats = stats_ns(skel->progs.empty_usdt);
	if ((err = added_ns(skel, attach_tp, recv_loop, &tp))) {
		fprintf(stderr, "probe-cost: the sock_recv_length tracepoint: %s\n", strerror(-err));
		goto cleanup;
	}
	tp_stats = stats_ns(skel->progs.empty_tp);
	if (env.stats_cost) {
		stats_was = stats_enabled();
		if (stats_was < 0) {
			err = stats_was;
			fprintf(stderr, "probe-cost: reading %s: %s\n", STATS_SYSCTL, strerror(-err));
			goto cleanup;
		}
		if ((err = stats_added_ns(skel, attach_nop5, nop5_loop, &usdt_added)) ||
		    (err = stats_added_ns(skel, attach_tp, recv_loop, &tp_added))) {
			fprintf(stderr, "probe-cost: timing bpf_stats (%s): %s\n", STATS_SYSCTL, strerror(-err));
			goto cleanup;
		}
	}
	printf("{\"nop1_ns\":%.1f,\"nop5_ns\":%.1f,\"tracepoint_ns\":%.1f,\"usdt_stats_ns\":%.1f,\"tracepoint_stats_ns\":%.1f,",
	       nop1, nop5, tp, usdt_stats, tp_stats);
	if (env.stats_cost)
		printf("\"usdt_stats_added_ns\":%.1f,\"tracepoint_stats_added_ns\":%.1f,", usdt_added, tp_added);
	printf("\"rounds\":%d}\n", env.rounds);

cleanup:
	if (stats_was >= 0 && set_stats(stats_was))
		fprintf(stderr, "probe-cost: putting %s back to %d failed: %s\n", STATS_SYSCTL, stats_was, strerror(errno));
	probe_cost_bpf__destroy(skel);
	close(sv[0]);
	close(sv[1]);
	return err ? 1 : 0;
}
