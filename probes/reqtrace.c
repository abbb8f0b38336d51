// SPDX-License-Identifier: MIT
/*
 * reqtrace: loads the probe families, follows the lab's processes, and writes every record the
 * BPF side submits, unchanged, to stdout (probes/events.h; decoded by tracer/decode-events.ts).
 *
 * Lifecycle: open every family → load core (owner of the shared maps) → reuse its maps in the
 * other families → load them → fill `traced` → attach → poll the ring buffer → detach all.
 */
#include <argp.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "family.h"
#include "hook-detect.h"
#include "lab-ports.h"
#include "tail-keep.h"
#include "cpu-guard.h"
#include "maps.h"

extern const struct family app_usdt_family, sockets_family, files_family;

#define TRACEFS "/sys/kernel/tracing"
#define MAX_FAMILIES 24
#define MAX_PROCS 4096
#define STDOUT_BUF (1 << 20)
#define KINDS 256

static struct env env = {
	.sample = 1.0,
	.sample_threshold = 1ull << 32,
	.socket_hooks = "auto",
	.slow_syscall_ns = 10000000ull,
};

static struct opts {
	const char *families; /* NULL: every registered family that applies */
	long duration_s;      /* 0: until a signal or the app exits */
	int status_fd;        /* -1: none */
	double cpu_budget;    /* 0: no guard */
	long hook_ns_nop1;    /* the guard's price of a USDT hit at a 1-byte / 5-byte nop, ns (--hook-ns) */
	long hook_ns_nop5;
} opts = { .status_fd = -1 };

const char *argp_program_version = "reqtrace 1.0";
const char argp_program_doc[] =
	"Follow the lab's requests in the kernel: the app's USDT probes, its socket\n"
	"and file I/O, nginx's socket I/O, PostgreSQL's phases. Binary records\n"
	"(probes/events.h) go to stdout; diagnostics and the summary to stderr.\n"
	"Records are written once a second (once in 5 s while sampling), or at once\n"
	"on SIGUSR1; SIGINT or SIGTERM ends tracing.\n"
	"\n"
	"USAGE: reqtrace --app-pid PID [--addon PATH] [--nginx-pid PID]...\n"
	"         [--pg-pid PID] [--families LIST|+LIST] [--sample RATE]\n"
	"         [--pg-buffers] [--pg-detail] [--keep-slower-than MS] [--arrivals]\n"
	"         [-d SECONDS]\n"
	"         [--cpu-budget PCT] [--slow-syscall-ms MS] [--status-fd FD]\n"
	"         [--socket-hooks auto|tp_btf|syscalls] [-v]\n"
	"\n"
	"Families: core (always), usdt and pool (need --addon and --app-pid), sockets,\n"
	"tcp, conn, blockio, reclaim. Opt-in, for what they cost everyone: files (needs\n"
	"--app-pid), slowsys (syscall tracepoints send every syscall of every task\n"
	"through the slow path), sched and offcpu (program runs on every context switch),\n"
	"faults and netdev (every fault, every packet), postgres (needs --pg-pid; each\n"
	"probe hit is a breakpoint trap in every process of the binary, traced or not).\n"
	"Children of --nginx-pid and --pg-pid processes, present or forked later, are\n"
	"followed. The loader exits when its parent does.\n"
	"\n"
	"EXAMPLES:\n"
"    reqtrace -p 4242 -a probes/usdt-addon/build/Release/reqtrace_usdt.node > ev.bin\n"
	"    reqtrace -p 4242 -a ADDON -n 4100 -g 4000 -d 30 > ev.bin  # app, proxy and sockets for 30 s\n"
	"    reqtrace -p 4242 -a ADDON -n 4100 -g 4000 --families +postgres > ev.bin  # and PostgreSQL's phases\n"
	"    reqtrace -p 4242 -a ADDON --families usdt --sample 0.1 > ev.bin  # 10% of requests\n"
	"    reqtrace -p 4242 -a ADDON -n 4100 -g 4000 --families +files > ev.bin  # with file syscalls\n"
	"    reqtrace -p 4242 --families sockets,files --status-fd 3 3>status.jsonl > ev.bin\n"
	"    reqtrace -p 4242 -a ADDON -g 4000 --families +offcpu,slowsys --slow-syscall-ms 5 > ev.bin\n";

enum {
	OPT_STATUS_FD = 0x100,
	OPT_PG_BUFFERS,
	OPT_SOCKET_HOOKS,
	OPT_PG_DETAIL,
	OPT_KEEP_SLOWER,
	OPT_CPU_BUDGET,
	OPT_HOOK_NS,
	OPT_SLOW_SYSCALL,
	OPT_ARRIVALS,
	OPT_SOCKETS_FLOOR,
};

static const struct argp_option argp_opts[] = {
	{ "app-pid", 'p', "PID", 0, "The app's process id", 0 },
	{ "addon", 'a', "PATH", 0, "The app's USDT addon (.node) to attach the probes in", 0 },
	{ "nginx-pid", 'n', "PID", 0, "An nginx process (repeatable; children followed)", 0 },
	{ "pg-pid", 'g', "PID", 0, "The PostgreSQL postmaster (backends followed)", 0 },
	{ "families", 'f', "LIST", 0, "Comma-separated families to load, or +LIST to add to the default set (default: every family that applies and is not opt-in)", 0 },
	{ "sample", 's', "RATE", 0, "Fraction of requests followed in the kernel, 0 < RATE <= 1 (default 1)", 0 },
	{ "duration", 'd', "SECONDS", 0, "Stop after this many seconds (default: until SIGINT/SIGTERM or the app exits)", 0 },
	{ "pg-buffers", OPT_PG_BUFFERS, NULL, 0, "Also time PostgreSQL's shared-buffer misses (PG_BUFFER_READ). Costly: its probes trap on every buffer access, hits included (~0.4 ms of CPU per request on the default mix)", 0 },
	{ "hook-ns", OPT_HOOK_NS, "NOP1,NOP5", 0, "What a USDT hit costs here beyond its program, ns, at a 1-byte nop (PostgreSQL's sites) and a 5-byte nop (the app's), as probe-cost measures it; the overhead guard prices traps with it (default 550,300)", 0 },
	{ "cpu-budget", OPT_CPU_BUDGET, "PCT", 0, "Keep tracing's cost under PCT % of the traced processes' CPU: once it stays above for 2 s, detach the family that cost the most (never core or usdt), one at a time, saying so on stderr and in the records", 0 },
	{ "keep-slower-than", OPT_KEEP_SLOWER, "MS", 0, "While sampling, also keep requests outside the sample that took at least MS ms in the app, or answered 5xx: followed provisionally on the app's side, written only if they end so", 0 },
	{ "arrivals", OPT_ARRIVALS, NULL, 0, "While sampling, also record when each receive's bytes reached its socket (socket-buffer and accept-queue waits; always at --sample 1): a program run for every delivery to a socket on the machine", 0 },
	{ "pg-detail", OPT_PG_DETAIL, NULL, 0, "Also time PostgreSQL's rewrite phase and log its commits: two more breakpoint traps per statement, sampled or not", 0 },
	{ "socket-hooks", OPT_SOCKET_HOOKS, "KIND", 0, "Socket hooks: auto (default: the socket tracepoints as tp_btf, else the syscall tracepoints), tp_btf, syscalls", 0 },
	{ "sockets-floor", OPT_SOCKETS_FLOOR, "LEVEL", 0, "Benchmarks only: the socket programs stop at entry (dispatch), after deciding from a socket's ports whether it is the lab's (ports), or once a send or receive has found its socket's state and the app's binding (state), and record no socket I/O; what the hooks cost before their work", 0 },
	{ "slow-syscall-ms", OPT_SLOW_SYSCALL, "MS", 0, "The slowsys family's threshold: a syscall of a traced thread at least this slow is recorded (default 10)", 0 },
	{ "status-fd", OPT_STATUS_FD, "FD", 0, "Write JSON status lines (attached, exit) to this fd", 0 },
	{ "verbose", 'v', NULL, 0, "libbpf debug output on stderr", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show the full help", 0 },
	{},
};

static int parse_long(const char *arg, const char *what, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, "reqtrace: %s must be a whole number from %ld to %ld, got '%s'\n",
			what, min, max, arg);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* "A,B": two whole numbers from 1 to 1000000. 0 on success. */
static int parse_ns_pair(const char *arg, long *a, long *b)
{
	char *end;

	errno = 0;
	*a = strtol(arg, &end, 10);
	if (errno || end == arg || *end != ',' || *a < 1 || *a > 1000000)
		return -1;
	arg = end + 1;
	*b = strtol(arg, &end, 10);
	if (errno || end == arg || *end || *b < 1 || *b > 1000000)
		return -1;
	return 0;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char *end;
	long v;

	switch (key) {
	case 'p':
		if (parse_long(arg, "--app-pid", 1, INT_MAX, &v))
			argp_usage(state);
		env.app_pid = v;
		break;
	case 'a':
		env.addon_path = arg;
		break;
	case 'n':
		if (env.nginx_pid_count >= MAX_NGINX_PIDS) {
			fprintf(stderr, "reqtrace: at most %d --nginx-pid\n", MAX_NGINX_PIDS);
			argp_usage(state);
		}
		if (parse_long(arg, "--nginx-pid", 1, INT_MAX, &v))
			argp_usage(state);
		env.nginx_pids[env.nginx_pid_count++] = v;
		break;
	case 'g':
		if (parse_long(arg, "--pg-pid", 1, INT_MAX, &v))
			argp_usage(state);
		env.pg_pid = v;
		break;
	case 'f':
		opts.families = arg;
		break;
	case 's':
		errno = 0;
		env.sample = strtod(arg, &end);
		if (errno || end == arg || *end || !(env.sample > 0 && env.sample <= 1)) {
			fprintf(stderr, "reqtrace: --sample must be a number with 0 < RATE <= 1, got '%s'\n", arg);
			argp_usage(state);
		}
		env.sample_threshold = (__u64)ceil(env.sample * 4294967296.0);
		break;
	case 'd':
		if (parse_long(arg, "--duration", 1, 86400, &opts.duration_s))
			argp_usage(state);
		break;
	case OPT_STATUS_FD:
		if (parse_long(arg, "--status-fd", 3, INT_MAX, &v))
			argp_usage(state);
		opts.status_fd = v;
		break;
	case OPT_PG_BUFFERS:
		env.pg_buffers = true;
		break;
	case OPT_CPU_BUDGET:
		errno = 0;
		opts.cpu_budget = strtod(arg, &end);
		if (errno || end == arg || *end || !(opts.cpu_budget >= 0.01 && opts.cpu_budget <= 100)) {
			fprintf(stderr, "reqtrace: --cpu-budget must be a number from 0.01 to 100 (%% of the traced processes' CPU), got '%s'\n", arg);
			argp_usage(state);
		}
		break;
	case OPT_HOOK_NS:
		if (parse_ns_pair(arg, &opts.hook_ns_nop1, &opts.hook_ns_nop5)) {
			fprintf(stderr, "reqtrace: --hook-ns must be two whole numbers of ns from 1 to 1000000, NOP1,NOP5; got '%s'\n", arg);
			argp_usage(state);
		}
		break;
	case OPT_SLOW_SYSCALL:
		if (parse_long(arg, "--slow-syscall-ms", 1, 3600000, &v))
			argp_usage(state);
		env.slow_syscall_ns = (__u64)v * 1000000;
		break;
	case OPT_KEEP_SLOWER:
		if (parse_long(arg, "--keep-slower-than", 1, 3600000, &v))
			argp_usage(state);
		env.keep_slower_us = (__u64)v * 1000;
		break;
	case OPT_PG_DETAIL:
		env.pg_detail = true;
		break;
	case OPT_ARRIVALS:
		env.arrivals = true;
		break;
	case OPT_SOCKETS_FLOOR:
		if (!strcmp(arg, "dispatch")) {
			env.sockets_floor = 1;
		} else if (!strcmp(arg, "ports")) {
			env.sockets_floor = 2;
		} else if (!strcmp(arg, "state")) {
			env.sockets_floor = 3;
		} else {
			fprintf(stderr, "reqtrace: --sockets-floor must be dispatch, ports or state, got '%s'\n", arg);
			argp_usage(state);
		}
		break;
	case OPT_SOCKET_HOOKS:
		if (strcmp(arg, "auto") && strcmp(arg, "tp_btf") && strcmp(arg, "syscalls")) {
			fprintf(stderr, "reqtrace: --socket-hooks must be auto, tp_btf or syscalls, got '%s'\n", arg);
			argp_usage(state);
		}
		env.socket_hooks = arg;
		break;
	case 'v':
		env.verbose = true;
		break;
	case 'h':
		argp_state_help(state, stderr, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		fprintf(stderr, "reqtrace: unexpected argument '%s'\n", arg);
		argp_usage(state);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static volatile sig_atomic_t exiting;
static pid_t parent;

static void on_signal(int sig)
{
	exiting = sig;
}

/* Only interrupts the reader's wait, which then collects and writes what the ring holds. */
static void on_flush_signal(int sig)
{
	(void)sig;
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_DEBUG && !env.verbose)
		return 0;
	return vfprintf(stderr, format, args);
}

/* --- selected families ------------------------------------------------------------------ */

static struct loaded {
	const struct family *f;
	struct bpf_object *obj;
	bool opened;
	char hook[HOOK_LEN];
} fams[MAX_FAMILIES];
static int fam_count;

static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == n && !strncmp(p, name, n))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/* Every name in --families must be registered. */
static int check_family_list(const char *list)
{
	const char *p = list;
	char name[32];

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		bool known = false;

		if (len == 0 || len >= sizeof(name)) {
			fprintf(stderr, "reqtrace: --families has an empty or overlong name in '%s'\n", list);
			return -EINVAL;
		}
		memcpy(name, p, len);
		name[len] = 0;
		for (int i = 0; all_families[i]; i++)
			known |= !strcmp(all_families[i]->name, name);
		if (!known) {
			fprintf(stderr, "reqtrace: unknown family '%s'; known:", name);
			for (int i = 0; all_families[i]; i++)
				fprintf(stderr, " %s", all_families[i]->name);
			fprintf(stderr, "\n");
			return -EINVAL;
		}
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

/* --families LIST names exactly what loads; +LIST adds to the default set. */
static const char *family_names(void)
{
	return opts.families && opts.families[0] == '+' ? opts.families + 1 : opts.families;
}

static bool family_selected(const struct family *f)
{
	if (!opts.families)
		return !f->opt_in;
	if (opts.families[0] == '+')
		return !f->opt_in || listed(family_names(), f->name);
	return listed(opts.families, f->name);
}

static struct bpf_object *core_obj(void)
{
	return fams[0].obj;
}

/* Point every map this object shares with core at core's map. */
static int reuse_shared_maps(struct loaded *l)
{
	struct bpf_map *map, *owner;
	int err;

	bpf_object__for_each_map(map, l->obj) {
		const char *name = bpf_map__name(map);

		if (strchr(name, '.')) /* .rodata, .bss: the family's own */
			continue;
		owner = bpf_object__find_map_by_name(core_obj(), name);
		if (!owner)
			continue;
		err = bpf_map__reuse_fd(map, bpf_map__fd(owner));
		if (err) {
			fprintf(stderr, "reqtrace: %s: reusing shared map %s failed: %s\n",
				l->f->name, name, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* --- traced processes ------------------------------------------------------------------- */

static int traced_fd = -1;

int trace_process(__u32 tgid, __u32 role)
{
	if (bpf_map_update_elem(traced_fd, &tgid, &role, BPF_ANY))
		return -errno;
	return 0;
}

/* The processes to trace, found before any family opens (their listening ports are set in the
 * socket hooks' constants); written into the `traced` map once core has loaded. */
static __u32 traced_tgids[MAX_PROCS], traced_roles[MAX_PROCS];
static int traced_count;

static int add_traced(__u32 tgid, __u32 role)
{
	for (int i = 0; i < traced_count; i++)
		if (traced_tgids[i] == tgid) {
			traced_roles[i] = role;
			return 0;
		}
	if (traced_count == MAX_PROCS)
		return -E2BIG;
	traced_tgids[traced_count] = tgid;
	traced_roles[traced_count++] = role;
	return 0;
}

static struct proc {
	pid_t pid, ppid;
} procs[MAX_PROCS];
static int proc_count;

static void scan_procs(void)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;

	proc_count = 0;
	while (dir && (de = readdir(dir)) && proc_count < MAX_PROCS) {
		char path[300], buf[512], *close_paren;
		FILE *f;
		int ppid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (close_paren = strrchr(buf, ')')) &&
		    sscanf(close_paren + 1, " %*c %d", &ppid) == 1) {
			procs[proc_count].pid = atoi(de->d_name);
			procs[proc_count].ppid = ppid;
			proc_count++;
		}
		fclose(f);
	}
	if (dir)
		closedir(dir);
}

static int trace_tree(pid_t root, __u32 role, const char *what)
{
	pid_t queue[MAX_PROCS];
	int head = 0, tail = 0, err;

	if (kill(root, 0) && errno == ESRCH) {
		fprintf(stderr, "reqtrace: %s %d: no such process\n", what, root);
		return -ESRCH;
	}
	queue[tail++] = root;
	while (head < tail) {
		pid_t pid = queue[head++];

		err = add_traced(pid, role);
		if (err) {
			fprintf(stderr, "reqtrace: adding %s %d to the traced processes failed: %s\n",
				what, pid, strerror(-err));
			return err;
		}
		for (int i = 0; i < proc_count && tail < MAX_PROCS; i++)
			if (procs[i].ppid == pid)
				queue[tail++] = procs[i].pid;
	}
	if (env.verbose)
		fprintf(stderr, "reqtrace: %s %d: %d process(es) traced\n", what, root, tail);
	return 0;
}

/* The processes to trace and the ports they listen on, before any family opens. */
static int find_traced(void)
{
	int err;

	scan_procs();
	if (env.app_pid) {
		if (kill(env.app_pid, 0) && errno == ESRCH) {
			fprintf(stderr, "reqtrace: --app-pid %d: no such process\n", env.app_pid);
			return -ESRCH;
		}
		err = add_traced(env.app_pid, ROLE_APP);
		if (err) {
			fprintf(stderr, "reqtrace: adding the app to the traced processes failed: %s\n", strerror(-err));
			return err;
		}
	}
	for (int i = 0; i < env.nginx_pid_count; i++) {
		err = trace_tree(env.nginx_pids[i], ROLE_NGINX, "--nginx-pid");
		if (err)
			return err;
	}
	if (env.pg_pid) {
		err = trace_tree(env.pg_pid, ROLE_POSTGRES, "--pg-pid");
		if (err)
			return err;
	}
	lab_ports_find(traced_tgids, traced_roles, traced_count);
	return 0;
}

static int fill_traced(void)
{
	for (int i = 0; i < traced_count; i++) {
		int err = trace_process(traced_tgids[i], traced_roles[i]);

		if (err) {
			fprintf(stderr, "reqtrace: adding pid %u to the traced map failed: %s\n", traced_tgids[i],
				strerror(-err));
			return err;
		}
	}
	return 0;
}

/* --- socket hooks ------------------------------------------------------------------------- */

static const char *const socket_tracepoints[] = {
	"sock_send_length", "sock_recv_length", "tcp_sendmsg_locked", "skb_copy_datagram_iovec",
	"sk_data_ready", "inet_sock_set_state",
};
#define SOCKET_TRACEPOINTS (sizeof(socket_tracepoints) / sizeof(socket_tracepoints[0]))

/* The socket hooks every family will use: asked for, or the tracepoints where every one loads as
 * tp_btf (their state lives in socket storage, which needs the typed sock), else the syscalls. */
static int choose_socket_hooks(void)
{
	bool btf = true;

	for (size_t i = 0; i < SOCKET_TRACEPOINTS; i++)
		btf = btf && tp_btf_loads(socket_tracepoints[i]);
	if (!strcmp(env.socket_hooks, "auto")) {
		env.socket_hooks = btf ? "tp_btf" : "syscalls";
		return 0;
	}
	if (!strcmp(env.socket_hooks, "tp_btf") && !btf) {
		fprintf(stderr, "reqtrace: --socket-hooks tp_btf: the socket tracepoints do not load as tp_btf here\n");
		return -EOPNOTSUPP;
	}
	return 0;
}

/* --- privileges and tracefs --------------------------------------------------------------- */

static bool has_bpf_caps(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f;

	if (geteuid() == 0)
		return true;
	f = fopen("/proc/self/status", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	/* CAP_BPF (39) and CAP_PERFMON (38) */
	return (eff >> 39 & 1) && (eff >> 38 & 1);
}

static int ensure_tracefs(void)
{
	if (!access(TRACEFS "/events", F_OK) || !access("/sys/kernel/debug/tracing/events", F_OK))
		return 0;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL)) {
		int err = -errno;

		fprintf(stderr, "reqtrace: mounting tracefs at %s failed: %s\n", TRACEFS, strerror(errno));
		return err;
	}
	if (env.verbose)
		fprintf(stderr, "reqtrace: mounted tracefs at %s\n", TRACEFS);
	return 0;
}

/* --- records ------------------------------------------------------------------------------ */

static struct stats {
	unsigned long long records, bytes, malformed;
	unsigned long long by_kind[KINDS];
	bool write_failed;
} stats;

/* One record into the capture. */
static int write_record(const void *data, size_t size)
{
	const struct event_header *h = data;

	if (fwrite(data, 1, size, stdout) != size) {
		stats.write_failed = true;
		return -EIO;
	}
	stats.records++;
	stats.bytes += size;
	stats.by_kind[h->kind < KINDS ? h->kind : 0]++;
	for (int i = 0; i < fam_count; i++)
		if (fams[i].opened && fams[i].f->on_event)
			fams[i].f->on_event(h, size);
	return 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
	const struct event_header *h = data;

	if (size < sizeof(*h) || h->size != size) {
		stats.malformed++;
		return 0;
	}
	if (h->kind & EV_TENTATIVE) {
		if (!env.keep_slower_us) {
			stats.malformed++;
			return 0;
		}
		return tail_keep_record(data, size, write_record);
	}
	return write_record(data, size);
}

static int emit_drained(const void *rec, size_t size)
{
	return on_record(NULL, (void *)rec, size);
}

/* The guard shed a family: a record in the capture, a line on stderr, a status line. */
static void report_shed(const char *family, double family_pct, double total_pct, double budget_pct)
{
	struct timespec ts;
	struct ev_tracer_shed e = {
		.h = { .pid = getpid(), .tid = getpid(), .kind = EV_TRACER_SHED, .size = sizeof(e), .fd = -1 },
		.family_pct_x100 = (__u32)(family_pct * 100),
		.total_pct_x100 = (__u32)(total_pct * 100),
		.budget_pct_x100 = (__u32)(budget_pct * 100),
	};

	clock_gettime(CLOCK_MONOTONIC, &ts);
	e.h.ts_ns = (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	snprintf(e.family, sizeof(e.family), "%s", family);
	write_record(&e, sizeof(e));
	fflush(stdout);
	fprintf(stderr, "reqtrace: tracing cost %.2f%% of the lab's CPU, over the %g%% budget: shed family %s (%.2f%%)\n",
		total_pct, budget_pct, family, family_pct);
	if (opts.status_fd >= 0)
		dprintf(opts.status_fd, "{\"event\":\"shed\",\"family\":\"%s\",\"at_ns\":%llu,\"family_pct\":%.2f,\"total_pct\":%.2f,\"budget_pct\":%g}\n",
			family, (unsigned long long)e.h.ts_ns, family_pct, total_pct, budget_pct);
}

static const char *const drop_names[DROP_COUNTERS] = DROP_COUNTER_NAMES;

static void read_drops(unsigned long long out[DROP_COUNTERS])
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(bpf_object__find_map_by_name(core_obj(), "drops"));
	__u64 vals[ncpu > 0 ? ncpu : 1];

	memset(out, 0, sizeof(unsigned long long) * DROP_COUNTERS);
	for (__u32 k = 0; k < DROP_COUNTERS && ncpu > 0; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
}

static void print_summary(const char *reason, int drained)
{
	unsigned long long drops[DROP_COUNTERS];
	FILE *status = NULL;
	bool first = true;

	read_drops(drops);
	fprintf(stderr, "summary: records=%llu bytes=%llu malformed=%llu", stats.records,
		stats.bytes, stats.malformed);
	for (int k = 0; k < DROP_COUNTERS; k++)
		if (drop_names[k])
			fprintf(stderr, " %s=%llu", drop_names[k], drops[k]);
	fprintf(stderr, " drained=%d stop=%s\n", drained, reason);
	for (int i = 0; i < fam_count; i++)
		if (fams[i].opened && fams[i].f->summary)
			fams[i].f->summary(stderr);
	if (env.keep_slower_us)
		tail_keep_summary(stderr);
	if (opts.cpu_budget > 0)
		cpu_guard_summary(stderr);

	if (opts.status_fd < 0 || !(status = fdopen(opts.status_fd, "w")))
		return;
	fprintf(status, "{\"event\":\"exit\",\"stop\":\"%s\",\"records\":%llu,\"bytes\":%llu,"
			"\"malformed\":%llu,\"drained\":%d,\"drops\":{", reason, stats.records, stats.bytes,
		stats.malformed, drained);
	for (int k = 0; k < DROP_COUNTERS; k++) {
		if (!drop_names[k])
			continue;
		fprintf(status, "%s\"%s\":%llu", first ? "" : ",", drop_names[k], drops[k]);
		first = false;
	}
	fprintf(status, "},\"kinds\":{");
	first = true;
	for (int k = 1; k < KINDS; k++) {
		if (!stats.by_kind[k])
			continue;
		fprintf(status, "%s\"%d\":%llu", first ? "" : ",", k, stats.by_kind[k]);
		first = false;
	}
	fprintf(status, "}}\n");
	fclose(status);
}

/* The kernel ids of a family's loaded programs, as JSON objects: what bpf_stats and bpftool name. */
static void print_prog_ids(int fd, struct bpf_object *obj)
{
	struct bpf_program *prog;
	int n = 0;

	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int pfd = bpf_program__fd(prog);

		if (pfd < 0 || bpf_obj_get_info_by_fd(pfd, &info, &len))
			continue;
		dprintf(fd, "%s{\"id\":%u,\"name\":\"%s\"}", n++ ? "," : "", info.id,
			bpf_program__name(prog));
	}
}

static void print_attached(void)
{
	char line[MAX_FAMILIES * (HOOK_LEN + 32)] = "attached:";
	size_t len = strlen(line);

	/* One write, so a reader never sees half the line. */
	for (int i = 0; i < fam_count && len < sizeof(line); i++)
		if (fams[i].opened)
			len += snprintf(line + len, sizeof(line) - len, " %s=%s", fams[i].f->name,
					fams[i].hook);
	fprintf(stderr, "%s\n", line);
	if (opts.status_fd >= 0) {
		dprintf(opts.status_fd, "{\"event\":\"attached\",\"schema\":%d,\"sample\":%g,\"socket_hooks\":\"%s\",\"hooks\":{",
			REQTRACE_SCHEMA_VERSION, env.sample, env.socket_hooks);
		for (int i = 0, n = 0; i < fam_count; i++)
			if (fams[i].opened)
				dprintf(opts.status_fd, "%s\"%s\":\"%s\"", n++ ? "," : "",
					fams[i].f->name, fams[i].hook);
		dprintf(opts.status_fd, "},\"progs\":{");
		for (int i = 0, n = 0; i < fam_count; i++)
			if (fams[i].opened) {
				dprintf(opts.status_fd, "%s\"%s\":[", n++ ? "," : "", fams[i].f->name);
				print_prog_ids(opts.status_fd, fams[i].obj);
				dprintf(opts.status_fd, "]");
			}
		dprintf(opts.status_fd, "}}\n");
	}
}

/* The reader's wait: the ring buffer's wakeups, and the app's exit (a pidfd), in one epoll. */
static int reader_epfd = -1, app_pidfd = -1;

static int reader_poll_init(struct ring_buffer *rb)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = -1 };

	reader_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (reader_epfd < 0 || epoll_ctl(reader_epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(rb), &ev)) {
		int err = -errno;

		fprintf(stderr, "reqtrace: setting up the ring-buffer reader failed: %s\n", strerror(-err));
		return err;
	}
	/* Without a pidfd (an old kernel), the app's exit is noticed at the next timeout. */
	if (env.app_pid)
		app_pidfd = syscall(SYS_pidfd_open, env.app_pid, 0);
	ev.data.fd = app_pidfd;
	if (app_pidfd >= 0)
		epoll_ctl(reader_epfd, EPOLL_CTL_ADD, app_pidfd, &ev);
	return 0;
}

/* Waits up to timeout_ms for a wakeup or the app's exit: 0, 1 when the app has exited (a zombie
 * too, which kill(pid, 0) still finds), or a negative errno (-EINTR on a signal). */
static int reader_wait(int timeout_ms)
{
	struct epoll_event evs[2];
	int n = epoll_wait(reader_epfd, evs, 2, timeout_ms);

	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++)
		if (app_pidfd >= 0 && evs[i].data.fd == app_pidfd)
			return 1;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Until the next wake: the poll timeout (longer while sampling, when few records come), cut short
 * by the end of --duration or the overhead guard's next check (0: none). */
static int poll_timeout_ms(double deadline, double next_guard)
{
	double ms = env.sample < 1.0 ? RINGBUF_POLL_SAMPLING_MS : RINGBUF_POLL_MS, now = now_s();

	if (deadline && (deadline - now) * 1e3 < ms)
		ms = (deadline - now) * 1e3;
	if (next_guard && (next_guard - now) * 1e3 < ms)
		ms = (next_guard - now) * 1e3;
	return ms < 0 ? 0 : (int)ceil(ms);
}

int main(int argc, char **argv)
{
	static const struct argp argp = {
		.options = argp_opts,
		.parser = parse_arg,
		.doc = argp_program_doc,
	};
	struct ring_buffer *rb = NULL;
	const char *stop = "signal";
	struct sigaction sa = { .sa_handler = on_signal };
	struct guarded_family guarded[MAX_FAMILIES];
	double deadline, next_guard = 0;
	int err, drained = 0;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 1;
	if (opts.families && (err = check_family_list(family_names())))
		return 1;
	if (isatty(STDOUT_FILENO)) {
		fprintf(stderr, "reqtrace: stdout is a terminal; redirect the binary records to a file or pipe\n");
		return 1;
	}
	if (!has_bpf_caps()) {
		fprintf(stderr, "reqtrace: needs root, or CAP_BPF and CAP_PERFMON (uid %d has neither)\n",
			geteuid());
		return 1;
	}
	libbpf_set_print(libbpf_print_fn);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* SIGUSR1: write out what the ring holds now (a bench marking a window's edges). */
	sigaction(SIGUSR1, &(struct sigaction){ .sa_handler = on_flush_signal }, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Whatever ends the parent (lab trace), even SIGKILL, ends the trace: nothing keeps writing
	 * into its capture, or tracing a later one. The check covers a parent gone before prctl. */
	parent = getppid();
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != parent) {
		fprintf(stderr, "reqtrace: the parent process is already gone\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOFBF, STDOUT_BUF);

	err = ensure_tracefs();
	if (err)
		goto cleanup;
	err = choose_socket_hooks();
	if (err)
		goto cleanup;
	err = find_traced();
	if (err)
		goto cleanup;
	if (env.keep_slower_us && env.sample >= 1.0) {
		fprintf(stderr, "reqtrace: --keep-slower-than needs --sample below 1 (every request is followed already)\n");
		err = -EINVAL;
		goto cleanup;
	}
	if (env.keep_slower_us && (err = tail_keep_init(env.keep_slower_us, TAIL_KEEP_BYTES)))
		goto cleanup;
	env.usdt_selected = env.addon_path && env.app_pid && family_selected(&app_usdt_family);
	env.sockets_selected = family_selected(&sockets_family);
	env.files_selected = family_selected(&files_family);

	/* open: core always, the rest as selected */
	for (int i = 0; all_families[i] && fam_count < MAX_FAMILIES; i++) {
		const struct family *f = all_families[i];
		bool core = i == 0;
		bool asked = opts.families && listed(family_names(), f->name);
		struct loaded *l = &fams[fam_count];

		if (!core && !family_selected(f))
			continue;
		l->f = f;
		err = f->open(&env, &l->obj);
		if (err == FAMILY_SKIP) {
			if (asked) {
				fprintf(stderr, "reqtrace: family %s was asked for but does not apply\n", f->name);
				err = -EINVAL;
				goto cleanup;
			}
			continue;
		}
		fam_count++;
		l->opened = true;
		if (err) {
			fprintf(stderr, "reqtrace: opening family %s failed: %s\n", f->name, strerror(-err));
			goto cleanup;
		}
	}

	/* load: core first, then the others on core's maps */
	for (int i = 0; i < fam_count; i++) {
		if (i > 0 && (err = reuse_shared_maps(&fams[i])))
			goto cleanup;
		err = fams[i].f->load(&env);
		if (err) {
			fprintf(stderr, "reqtrace: loading family %s failed: %s\n", fams[i].f->name,
				strerror(-err));
			goto cleanup;
		}
		if (i == 0)
			traced_fd = bpf_map__fd(bpf_object__find_map_by_name(core_obj(), "traced"));
	}

	err = fill_traced();
	if (err)
		goto cleanup;
	err = lab_ports_fill(bpf_map__fd(bpf_object__find_map_by_name(core_obj(), "lab_port_roles")),
			     bpf_map__fd(bpf_object__find_map_by_name(core_obj(), "lab_port_span")));
	if (err)
		goto cleanup;

	for (int i = 0; i < fam_count; i++) {
		err = fams[i].f->attach(&env, fams[i].hook);
		if (err) {
			fprintf(stderr, "reqtrace: attaching family %s failed: %s\n", fams[i].f->name,
				strerror(-err));
			goto cleanup;
		}
	}

	rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(core_obj(), "events")),
			      on_record, NULL, NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "reqtrace: creating the ring-buffer reader failed: %s\n", strerror(errno));
		goto cleanup;
	}
	print_attached();

	deadline = opts.duration_s ? now_s() + opts.duration_s : 0;
	if (opts.cpu_budget > 0) {
		for (int i = 0; i < fam_count; i++)
			guarded[i] = (struct guarded_family){ .f = fams[i].f, .obj = fams[i].obj };
		err = cpu_guard_init(opts.cpu_budget, traced_fd, opts.hook_ns_nop1, opts.hook_ns_nop5);
		if (err)
			goto cleanup;
		next_guard = now_s() + 1;
	}
	err = reader_poll_init(rb);
	if (err)
		goto cleanup;
	while (!exiting) {
		int n = reader_wait(poll_timeout_ms(deadline, opts.cpu_budget > 0 ? next_guard : 0));
		bool app_exited = n == 1;

		/* Records submitted without a wakeup are only collected by consuming; a signal (a
		 * flush asked for, or the end) collects them too. */
		if (n >= 0 || n == -EINTR)
			n = ring_buffer__consume(rb);
		if (n < 0) {
			err = n;
			fprintf(stderr, "reqtrace: reading the ring buffer failed: %s\n",
				stats.write_failed ? "writing stdout failed" : strerror(-n));
			stop = "error";
			break;
		}
		if (n > 0 && fflush(stdout)) {
			err = -EIO;
			fprintf(stderr, "reqtrace: writing stdout failed: %s\n", strerror(errno));
			stop = "error";
			break;
		}
		if (deadline && now_s() >= deadline) {
			stop = "duration";
			break;
		}
		if (app_exited || (env.app_pid && kill(env.app_pid, 0) && errno == ESRCH)) {
			fprintf(stderr, "reqtrace: app %d exited\n", env.app_pid);
			stop = "app-exit";
			break;
		}
		if (getppid() != parent) {
			fprintf(stderr, "reqtrace: the parent process exited\n");
			stop = "parent-exit";
			break;
		}
		if (opts.cpu_budget > 0 && now_s() >= next_guard) {
			cpu_guard_check(guarded, fam_count, report_shed);
			next_guard += 1;
		}
	}
	if (exiting && getppid() != parent)
		stop = "parent-exit";
	/* Detach first, so what the maps still hold is final, then write it after the ring's rest. */
	for (int i = fam_count - 1; i >= 0; i--)
		if (fams[i].opened && fams[i].f->detach)
			fams[i].f->detach();
	if (!err) {
		ring_buffer__consume(rb);
		for (int i = 0; i < fam_count; i++)
			if (fams[i].opened && fams[i].f->drain)
				drained += fams[i].f->drain(emit_drained);
	}
	if (env.keep_slower_us)
		tail_keep_finish();
	if (fflush(stdout) && !err) {
		err = -EIO;
		fprintf(stderr, "reqtrace: writing stdout failed: %s\n", strerror(errno));
		stop = "error";
	}
	print_summary(stop, drained);

cleanup:
	if (reader_epfd >= 0)
		close(reader_epfd);
	if (app_pidfd >= 0)
		close(app_pidfd);
	ring_buffer__free(rb);
	for (int i = fam_count - 1; i >= 0; i--)
		if (fams[i].opened && fams[i].f->destroy)
			fams[i].f->destroy();
	return err ? 1 : 0;
}
