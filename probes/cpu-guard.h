/* SPDX-License-Identifier: MIT */
/*
 * The loader's overhead guard (--cpu-budget PCT): once a second it weighs what tracing costs (the
 * kernel's run time of every family's programs, an estimate for the breakpoint traps of the USDT
 * families, and the loader's own CPU) against the CPU the traced processes used without it, and
 * when that stays above the budget it detaches the family that cost the most in the last second,
 * one at a time, never core or usdt (the requests themselves).
 */
#ifndef REQTRACE_CPU_GUARD_H
#define REQTRACE_CPU_GUARD_H

#include <stdbool.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "family.h"

/* A family as the guard sees it. */
struct guarded_family {
	const struct family *f;
	struct bpf_object *obj;
	bool shed;
};

/* Called for each shed: the family, its share and the total, in % of the lab's CPU. */
typedef void (*shed_reporter)(const char *family, double family_pct, double total_pct, double budget_pct);

/* Starts measuring (turns on the kernel's program statistics for as long as the loader runs).
 * nop1_ns, nop5_ns: what a USDT hit at a 1-byte / 5-byte nop costs here beyond its program (0: an
 * estimate). 0 or a negative errno. */
int cpu_guard_init(double budget_pct, int traced_fd, long nop1_ns, long nop5_ns);

/* One check; sheds at most one family. Call about once a second. */
void cpu_guard_check(struct guarded_family *fams, int count, shed_reporter report);

/* `guard: budget_pct=3 checks=N over=N shed=a,b last_pct=…` for the summary. */
void cpu_guard_summary(FILE *out);

#endif /* REQTRACE_CPU_GUARD_H */
