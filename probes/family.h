/* SPDX-License-Identifier: MIT */
/*
 * A probe family: one <name>.bpf.c, its skeleton, and a small glue <name>.c defining
 * `const struct family <var>_family`, listed once in families.c and once in the Makefile's
 * FAMILIES. The loader (reqtrace.c) drives every selected family through the same lifecycle:
 *
 *   open → (loader: reuse the shared maps) → load → (loader: fill `traced`) → attach
 *        → on_event for every record → detach → drain → destroy
 *
 * Shared maps (maps.bpf.h, sock_state.bpf.h: events, drops, traced, lab_tasks, lab_port_roles,
 * lab_port_span, req_by_fd, recv_stash, fd_cache, sk_arrival, pg_current, sampled_active,
 * sk_states, fd_binds, new_binds, new_binds_pending, pg_held, conn_decisions, sock_gates) are created by the core family, which is always first; the loader calls bpf_map__reuse_fd on
 * every later object's map of the same name, so a family only includes maps.bpf.h and uses
 * them. Family-private maps need names that no other family uses.
 *
 * The core family keeps `traced` up to date at fork and exit (tp_btf/sched_process_fork, attached
 * before any other family, so a later program on the same tracepoint already sees the child);
 * it emits no events. EV_PROC_FORK/EXIT are the sched family's.
 */
#ifndef REQTRACE_FAMILY_H
#define REQTRACE_FAMILY_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include "events.h"
#include "sizes.h"

/* Loader options, as parsed from the command line. Families read, never write. */
struct env {
	pid_t app_pid;            /* 0: none */
	const char *addon_path;   /* the app's USDT addon (.node), NULL: none */
	pid_t nginx_pids[MAX_NGINX_PIDS];
	int nginx_pid_count;
	pid_t pg_pid;             /* postmaster, 0: none */
	double sample;            /* 0 < sample <= 1 */
	__u64 sample_threshold;   /* derived: requests with id head below it are followed */
	bool pg_buffers;          /* attach PostgreSQL's per-buffer-access probes (costly) */
	bool pg_detail;           /* also the rewrite phase and commits (two more traps a statement) */
	__u64 keep_slower_us;     /* tail keeping: 0 off, else unsampled requests this slow are kept */
	bool arrivals;            /* while sampling, the data-ready hook too (always at sample 1) */
	bool usdt_selected;       /* the usdt family will load (it counts sampled requests in flight) */
	bool sockets_selected;    /* the sockets family will load (the app's probes bind sockets for it) */
	bool files_selected;      /* the files family will load (the app's probes bind files for it) */
	/* The sockets family's hooks, detected before any family loads (others bind sockets by it):
	 * "tp_btf" or "raw_tp" (socket tracepoints), "syscalls" (the fallback). */
	const char *socket_hooks;
	/* A benchmark's floor: the socket programs stop at entry (1), after their port check (2) or
	 * once a send or receive has found its socket's state (3), so what the hooks cost before their
	 * work shows beside real tracing. 0: off. */
	__u32 sockets_floor;
	__u64 slow_syscall_ns;    /* the slowsys family's threshold */
	bool verbose;
};

/* open()'s return when the family does not apply to these options (e.g. no --addon). */
#define FAMILY_SKIP 1

#define HOOK_LEN 64

struct family {
	const char *name; /* as given to --families */
	const char *doc;  /* one line for --help */
	bool opt_in;      /* loaded only when named in --families (its hooks cost everyone) */
	/* Open the skeleton, set its const volatile filters from env, hand back its object.
	 * 0, FAMILY_SKIP (with a reason on stderr), or a negative errno. */
	int (*open)(const struct env *env, struct bpf_object **obj);
	/* Choose programs (bpf_program__set_autoload) and load. 0 or a negative errno. */
	int (*load)(const struct env *env);
	/* Attach; write the hook kind that runs (e.g. "tracepoint", "usdt") into hook. */
	int (*attach)(const struct env *env, char hook[HOOK_LEN]);
	/* Optional: sees every record the loader writes, from any family (e.g. to follow forks).
	 * Runs on the reader thread; keep it short. */
	void (*on_event)(const struct event_header *h, size_t size);
	/* Optional: lines of its own for the final summary, on stderr. */
	void (*summary)(FILE *out);
	/* Optional: detach, keeping the maps, so nothing changes them any more. */
	void (*detach)(void);
	/* Optional, after every family detached: records still held in maps, handed to `emit` in
	 * the events.h format. Returns how many. */
	int (*drain)(int (*emit)(const void *rec, size_t size));
	/* Detach and free; safe after a failed open/load/attach. */
	void (*destroy)(void);
};

/* NULL-terminated, in load order; core first (families.c). */
extern const struct family *const all_families[];

/* Fills a tgid's role into the shared `traced` map (reqtrace.c); for families that learn of
 * processes in user space. 0 or a negative errno. */
int trace_process(__u32 tgid, __u32 role);

#endif /* REQTRACE_FAMILY_H */
