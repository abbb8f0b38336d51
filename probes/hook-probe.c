// SPDX-License-Identifier: MIT
/*
 * hook-probe: which BPF hook kinds load, attach and fire on this machine.
 *
 * Each kind is tried in its own open → load → attach → trigger → cleanup round with only its
 * program set to autoload, so one kind failing (fentry's EPERM, a kernel without kprobes) never
 * hides the others. A kind counts as working only when its program actually ran.
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sdt.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "hook-probe.h"
#include "hook-probe.skel.h"

#define ERR_LEN 256
#define MSG_LEN 160
#define TRACEFS "/sys/kernel/tracing"

static struct env {
	bool json;
	bool verbose;
	bool no_mount;
} env;

const char *argp_program_version = "hook-probe 1.0";
const char argp_program_doc[] =
	"Report which BPF hook kinds load, attach and fire on this machine.\n"
	"\n"
	"USAGE: hook-probe [--json] [--no-mount] [-v]\n"
	"\n"
	"Kinds: tracepoint tp_btf raw_tracepoint uprobe usdt fentry kprobe iterator.\n"
	"tracefs is mounted at " TRACEFS " when absent (as the loader does) unless --no-mount.\n"
	"Always exits 0 once the kinds are tried; the answer is in the output.\n"
	"\n"
	"EXAMPLES:\n"
	"    hook-probe            # table on stdout\n"
	"    hook-probe --json     # {\"tracepoint\":true,...,\"errors\":{\"fentry\":\"EPERM ...\"}}\n";

static const struct argp_option opts[] = {
	{ "json", 'j', NULL, 0, "JSON object on stdout instead of a table", 0 },
	{ "no-mount", 'n', NULL, 0, "Do not mount tracefs when it is missing", 0 },
	{ "verbose", 'v', NULL, 0, "libbpf debug output on stderr", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show the full help", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'j':
		env.json = true;
		break;
	case 'n':
		env.no_mount = true;
		break;
	case 'v':
		env.verbose = true;
		break;
	case 'h':
		argp_state_help(state, stderr, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const char *kind_names[HK_COUNT] = {
	[HK_TRACEPOINT] = "tracepoint",
	[HK_TP_BTF] = "tp_btf",
	[HK_RAW_TRACEPOINT] = "raw_tracepoint",
	[HK_UPROBE] = "uprobe",
	[HK_USDT] = "usdt",
	[HK_FENTRY] = "fentry",
	[HK_KPROBE] = "kprobe",
	[HK_ITERATOR] = "iterator",
};

struct result {
	bool works;
	char error[ERR_LEN + MSG_LEN];
};

/* The first libbpf warning of a step, quoted in a kind's error so the reason is visible without -v. */
static char last_libbpf_msg[MSG_LEN];

static int libbpf_print_fn(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_WARN && !last_libbpf_msg[0]) {
		va_list copy;
		size_t len;

		va_copy(copy, args);
		vsnprintf(last_libbpf_msg, sizeof(last_libbpf_msg), format, copy);
		va_end(copy);
		len = strlen(last_libbpf_msg);
		while (len && (last_libbpf_msg[len - 1] == '\n' || last_libbpf_msg[len - 1] == ' '))
			last_libbpf_msg[--len] = '\0';
	}
	if (!env.verbose)
		return 0;
	return vfprintf(stderr, format, args);
}

static const char *errno_name(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case ENOSYS: return "ENOSYS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case 524: return "ENOTSUPP";
	default: return "E?";
	}
}

static void set_error(struct result *r, const char *step, int err)
{
	int e = err < 0 ? -err : err;
	const char *what = e == 524 ? "Operation not supported by the kernel" : strerror(e);

	if (last_libbpf_msg[0])
		snprintf(r->error, sizeof(r->error), "%s at %s: %s (%s)", errno_name(e), step, what,
			 last_libbpf_msg);
	else
		snprintf(r->error, sizeof(r->error), "%s at %s: %s", errno_name(e), step, what);
}

/* Exported and not inlined so the uprobe can find it by name in this binary's symbol table. */
__attribute__((noinline, used)) int hook_probe_target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

static int trigger_read(void)
{
	char buf[8];
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (read(fd, buf, sizeof(buf)) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

static int run_iterator(struct bpf_link *link)
{
	char buf[256];
	int fd = bpf_iter_create(bpf_link__fd(link));
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return n < 0 ? -errno : 0;
}

static struct bpf_program *kind_program(struct hook_probe_bpf *obj, int kind)
{
	switch (kind) {
	case HK_TRACEPOINT: return obj->progs.probe_tracepoint;
	case HK_TP_BTF: return obj->progs.probe_tp_btf;
	case HK_RAW_TRACEPOINT: return obj->progs.probe_raw_tracepoint;
	case HK_UPROBE: return obj->progs.probe_uprobe;
	case HK_USDT: return obj->progs.probe_usdt;
	case HK_FENTRY: return obj->progs.probe_fentry;
	case HK_KPROBE: return obj->progs.probe_kprobe;
	case HK_ITERATOR: return obj->progs.probe_iterator;
	default: return NULL;
	}
}

static struct bpf_link *attach_kind(struct bpf_program *prog, int kind)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uopts, .func_name = "hook_probe_target");

	switch (kind) {
	case HK_UPROBE:
		return bpf_program__attach_uprobe_opts(prog, getpid(), "/proc/self/exe", 0, &uopts);
	case HK_USDT:
		return bpf_program__attach_usdt(prog, getpid(), "/proc/self/exe", "reqtrace_hook_probe",
						"ping", NULL);
	default:
		return bpf_program__attach(prog);
	}
}

static int trigger_kind(int kind, struct bpf_link *link)
{
	volatile int sink = 0;

	switch (kind) {
	case HK_TRACEPOINT:
	case HK_TP_BTF:
	case HK_RAW_TRACEPOINT:
		syscall(SYS_getppid);
		return 0;
	case HK_UPROBE:
		sink = hook_probe_target(sink);
		return 0;
	case HK_USDT:
		DTRACE_PROBE1(reqtrace_hook_probe, ping, sink);
		return 0;
	case HK_FENTRY:
	case HK_KPROBE:
		return trigger_read();
	case HK_ITERATOR:
		return run_iterator(link);
	default:
		return -EINVAL;
	}
}

static void try_kind(int kind, struct result *r)
{
	struct hook_probe_bpf *obj = NULL;
	struct bpf_link *link = NULL;
	struct bpf_program *prog;
	int err, i;

	last_libbpf_msg[0] = '\0';
	obj = hook_probe_bpf__open();
	if (!obj) {
		set_error(r, "open", errno);
		return;
	}
	obj->rodata->targ_tgid = getpid();
	for (i = 0; i < HK_COUNT; i++)
		bpf_program__set_autoload(kind_program(obj, i), i == kind);
	prog = kind_program(obj, kind);

	err = hook_probe_bpf__load(obj);
	if (err) {
		set_error(r, "load", err);
		goto cleanup;
	}
	last_libbpf_msg[0] = '\0';
	link = attach_kind(prog, kind);
	if (!link) {
		set_error(r, "attach", errno);
		goto cleanup;
	}
	err = trigger_kind(kind, link);
	if (err) {
		set_error(r, "trigger", err);
		goto cleanup;
	}
	if (obj->bss->hits[kind] == 0) {
		snprintf(r->error, sizeof(r->error), "attached but never ran when triggered");
		goto cleanup;
	}
	r->works = true;

cleanup:
	bpf_link__destroy(link);
	hook_probe_bpf__destroy(obj);
}

/* libbpf's tracepoint attach reads event ids from tracefs, which may be unmounted. */
static const char *ensure_tracefs(void)
{
	struct stat st;

	if (stat(TRACEFS "/events", &st) == 0)
		return "present";
	if (errno == EACCES)
		return "unreadable";
	if (env.no_mount || geteuid() != 0)
		return "absent";
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL) == 0)
		return "mounted";
	return "absent";
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_json(const struct result *res, bool root, const char *tracefs)
{
	bool first = true;
	int i;

	putchar('{');
	for (i = 0; i < HK_COUNT; i++)
		printf("\"%s\":%s,", kind_names[i], res[i].works ? "true" : "false");
	printf("\"root\":%s,\"tracefs\":", root ? "true" : "false");
	json_string(tracefs);
	printf(",\"errors\":{");
	for (i = 0; i < HK_COUNT; i++) {
		if (res[i].works)
			continue;
		printf("%s\"%s\":", first ? "" : ",", kind_names[i]);
		json_string(res[i].error);
		first = false;
	}
	printf("}}\n");
}

static void print_table(const struct result *res, const char *tracefs)
{
	int i;

	printf("%-15s %-5s %s\n", "HOOK KIND", "WORKS", "WHY NOT");
	for (i = 0; i < HK_COUNT; i++)
		printf("%-15s %-5s %s\n", kind_names[i], res[i].works ? "yes" : "no",
		       res[i].works ? "" : res[i].error);
	printf("tracefs: %s\n", tracefs);
}

int main(int argc, char **argv)
{
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.doc = argp_program_doc,
	};
	struct result res[HK_COUNT] = {};
	const char *tracefs;
	bool root;
	int err, i;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 2;
	libbpf_set_print(libbpf_print_fn);

	root = geteuid() == 0;
	if (!root)
		fprintf(stderr,
			"hook-probe: not running as root (euid %u): BPF needs root or CAP_BPF+CAP_PERFMON, "
			"so kinds may fail for that reason alone\n",
			geteuid());
	tracefs = ensure_tracefs();
	for (i = 0; i < HK_COUNT; i++)
		try_kind(i, &res[i]);

	if (env.json)
		print_json(res, root, tracefs);
	else
		print_table(res, tracefs);
	return 0;
}
