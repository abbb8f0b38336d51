/* SPDX-License-Identifier: MIT */
/*
 * How a probe site is emitted: the stapsdt note of <sys/sdt.h>, at a 1-byte nop (its default)
 * or, with REQTRACE_NOP5, at the 5-byte nop `0f 1f 44 00 00`. Kernels with optimized uprobes
 * (x86-64, 6.18 here) replace a probed nop5 with a call into the [uprobes-trampoline] page after
 * its first hit, which skips the int3 trap on every later one. The note's format is unchanged,
 * so readelf -n, bpftrace and libbpf read either kind alike.
 */
#ifndef REQTRACE_USDT_SITE_H
#define REQTRACE_USDT_SITE_H

/* Every argument in a register: a handler then reads each from the trapped registers, where an
 * operand in memory costs it a user-memory read more. */
#define STAP_SDT_ARG_CONSTRAINT nr
#include <sys/sdt.h>

#ifdef REQTRACE_NOP5
/* sdt.h expands _SDT_NOP when a probe is used, not when it is included. `.nops 5` has no comma,
   which its macros could not carry. */
#undef _SDT_NOP
#define _SDT_NOP .nops 5
#define REQTRACE_PROBE_SITE "nop5"
#else
#define REQTRACE_PROBE_SITE "nop1"
#endif

#define REQTRACE_PROBE2(name, a1, a2) STAP_PROBE2(reqtrace, name, a1, a2)
#define REQTRACE_PROBE3(name, a1, a2, a3) STAP_PROBE3(reqtrace, name, a1, a2, a3)
#define REQTRACE_PROBE4(name, a1, a2, a3, a4) STAP_PROBE4(reqtrace, name, a1, a2, a3, a4)
#define REQTRACE_PROBE5(name, a1, a2, a3, a4, a5) STAP_PROBE5(reqtrace, name, a1, a2, a3, a4, a5)
#define REQTRACE_PROBE6(name, a1, a2, a3, a4, a5, a6) STAP_PROBE6(reqtrace, name, a1, a2, a3, a4, a5, a6)
#define REQTRACE_PROBE9(name, a1, a2, a3, a4, a5, a6, a7, a8, a9) \
	STAP_PROBE9(reqtrace, name, a1, a2, a3, a4, a5, a6, a7, a8, a9)

#endif
