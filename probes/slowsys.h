/* SPDX-License-Identifier: MIT */
/* The slowsys family's syscall table (slowsys.bpf.c), filled by its glue (slowsys.c). */
#ifndef REQTRACE_SLOWSYS_H
#define REQTRACE_SLOWSYS_H

/* Entries of `slowsys_nrs`: syscall numbers below this are looked up. */
#define SLOWSYS_NRS 512

enum slowsys_flag {
	SLOWSYS_SKIP = 1,     /* a wait that is idle time (poll, sleep, futex, wait, accept) */
	SLOWSYS_FD_FIRST = 2, /* the first argument is an fd (recorded; peers' sockets and pipes left out) */
};

#endif /* REQTRACE_SLOWSYS_H */
