// SPDX-License-Identifier: MIT
/* The loader's overhead guard (cpu-guard.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cpu-guard.h"

#define MAX_GUARDED 16
#define MAX_PIDS 4096
/* Judge only a second in which the lab did some work: an idle lab makes any ratio noise. */
#define MIN_LAB_NS 10000000ull
/* Seconds in a row over budget before a family goes: one busy second is not a trend. */
#define OVER_TO_SHED 2
/*
 * What a breakpoint trap costs besides the program, ns, when the loader is not told (--hook-ns,
 * from probe-cost): the app's probe sites are 5-byte nops (the uprobe trampoline), PostgreSQL's
 * 1-byte nops (an int3 each). Low estimates: machines with page-table isolation pay microseconds.
 */
#define TRAP_NS_USDT 300
#define TRAP_NS_POSTGRES 550

static __u64 trap_ns_usdt = TRAP_NS_USDT, trap_ns_postgres = TRAP_NS_POSTGRES;

static double budget;
static int traced_map_fd = -1, stats_fd = -1;
static long ticks_per_s;
static bool primed;
static int over_in_a_row;
static unsigned long long checks, over_checks;
static double last_pct;
static char shed_names[128];

static struct {
	__u64 run_ns, runs;
} prev_fam[MAX_GUARDED];
static __u64 prev_loader_ns;
static struct {
	__u32 tgid;
	__u64 cpu_ns;
} prev_pids[MAX_PIDS], cur_pids[MAX_PIDS];
static int prev_pid_count, cur_pid_count;

int cpu_guard_init(double budget_pct, int traced_fd, long nop1_ns, long nop5_ns)
{
	if (nop1_ns > 0)
		trap_ns_postgres = nop1_ns;
	if (nop5_ns > 0)
		trap_ns_usdt = nop5_ns;
	budget = budget_pct;
	traced_map_fd = traced_fd;
	ticks_per_s = sysconf(_SC_CLK_TCK);
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		int err = -errno;

		fprintf(stderr, "reqtrace: --cpu-budget: turning on program statistics failed: %s\n", strerror(errno));
		return err;
	}
	return 0;
}

/* utime + stime of a process, ns; 0 when it is gone. */
static __u64 process_cpu_ns(__u32 pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (ut + st) * (1000000000ull / ticks_per_s);
}

/* CPU the traced processes used since the last call, counting only those seen both times. */
static __u64 lab_cpu_delta(void)
{
	__u32 key, next, *prevk = NULL;
	__u64 delta = 0;

	cur_pid_count = 0;
	while (cur_pid_count < MAX_PIDS && bpf_map_get_next_key(traced_map_fd, prevk, &next) == 0) {
		cur_pids[cur_pid_count].tgid = next;
		cur_pids[cur_pid_count].cpu_ns = process_cpu_ns(next);
		cur_pid_count++;
		key = next;
		prevk = &key;
	}
	for (int i = 0; i < cur_pid_count; i++)
		for (int j = 0; j < prev_pid_count; j++)
			if (prev_pids[j].tgid == cur_pids[i].tgid && cur_pids[i].cpu_ns >= prev_pids[j].cpu_ns) {
				delta += cur_pids[i].cpu_ns - prev_pids[j].cpu_ns;
				break;
			}
	memcpy(prev_pids, cur_pids, sizeof(cur_pids[0]) * cur_pid_count);
	prev_pid_count = cur_pid_count;
	return delta;
}

static void family_totals(struct bpf_object *obj, __u64 *run_ns, __u64 *runs)
{
	struct bpf_program *prog;

	*run_ns = *runs = 0;
	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		*run_ns += info.run_time_ns;
		*runs += info.run_cnt;
	}
}

static __u64 trap_ns(const char *family)
{
	if (!strcmp(family, "usdt"))
		return trap_ns_usdt;
	if (!strcmp(family, "postgres"))
		return trap_ns_postgres;
	return 0;
}

static bool sheddable(const struct guarded_family *g)
{
	return !g->shed && g->f->detach && strcmp(g->f->name, "core") && strcmp(g->f->name, "usdt");
}

void cpu_guard_check(struct guarded_family *fams, int count, shed_reporter report)
{
	__u64 cost[MAX_GUARDED] = {}, total = 0, lab, loader, base;
	int worst = -1;

	if (count > MAX_GUARDED)
		count = MAX_GUARDED;
	lab = lab_cpu_delta();
	loader = process_cpu_ns(getpid());
	for (int i = 0; i < count; i++) {
		__u64 run_ns, runs;

		family_totals(fams[i].obj, &run_ns, &runs);
		if (primed && run_ns >= prev_fam[i].run_ns && runs >= prev_fam[i].runs)
			cost[i] = run_ns - prev_fam[i].run_ns + (runs - prev_fam[i].runs) * trap_ns(fams[i].f->name);
		prev_fam[i].run_ns = run_ns;
		prev_fam[i].runs = runs;
		total += cost[i];
		if (sheddable(&fams[i]) && cost[i] > 0 && (worst < 0 || cost[i] > cost[worst]))
			worst = i;
	}
	if (!primed || lab < MIN_LAB_NS) {
		primed = true;
		prev_loader_ns = loader;
		return;
	}
	/* The programs and traps run inside the lab's processes: what they used without tracing is
	 * their CPU less that. */
	base = lab > total ? lab - total : 1;
	total += loader > prev_loader_ns ? loader - prev_loader_ns : 0;
	prev_loader_ns = loader;
	checks++;
	last_pct = 100.0 * total / base;
	if (last_pct <= budget) {
		over_in_a_row = 0;
		return;
	}
	over_checks++;
	if (++over_in_a_row < OVER_TO_SHED || worst < 0)
		return;
	over_in_a_row = 0;
	fams[worst].f->detach();
	fams[worst].shed = true;
	snprintf(shed_names + strlen(shed_names), sizeof(shed_names) - strlen(shed_names), "%s%s",
		 shed_names[0] ? "," : "", fams[worst].f->name);
	report(fams[worst].f->name, 100.0 * cost[worst] / base, last_pct, budget);
}

void cpu_guard_summary(FILE *out)
{
	fprintf(out, "guard: budget_pct=%g checks=%llu over=%llu last_pct=%.2f shed=%s\n", budget, checks, over_checks,
		last_pct, shed_names[0] ? shed_names : "-");
}
