// SPDX-License-Identifier: MIT
/*
 * Glue for the PostgreSQL family (postgres.bpf.c). PostgreSQL's USDT probes are attached per
 * backend pid, never system-wide (that would hit every PostgreSQL on the machine): to the
 * postmaster's children present at attach, then to each child it forks later, and detached
 * when the child exits.
 *
 * The probe sites (~25) are read once from the binary's USDT notes, with their argument specs,
 * and every backend gets one uprobe_multi link over all of them: ~10 ms to attach, ~40 ms to
 * detach here. Without uprobe_multi (Linux < 6.6) each site is a link of its own, and detaching
 * a backend then costs a grace period per site, seconds in all. libbpf's own USDT attach is
 * that second kind, which is why it is not used.
 *
 * New children pass a start gate (see postgres.bpf.c): they stop themselves on their way out of
 * fork, and the follower thread here attaches the probes and then continues them, so not even
 * a backend's first statement is missed. Attaching and detaching happen on that thread, never
 * on the ring-buffer reader.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <asm/ptrace.h>
#include <bpf/bpf.h>
#include "family.h"
#include "hook-detect.h"
#include "maps.h"
#include "postgres.h"
#include "postgres.skel.h"

#define PG_PROVIDER "postgresql"
/* How long a gated child may take to reach its gate before it is let go regardless. */
#define GATE_TIMEOUT_NS 1000000000ull
/* Follower wake-up when no fork record arrives (the sched family not loaded): the longest a
 * new backend waits before its probes are attached, besides the attach itself. */
#define FOLLOW_POLL_MS 5
#define EXIT_CHECK_NS 100000000ull

/* libbpf 1.1 predates these (uapi/linux/bpf.h, Linux 6.6). */
#define ATTACH_UPROBE_MULTI 48
struct link_create_uprobe_multi {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 multi_flags;
	__u32 pid;
	__u32 _pad;
};

/* Mirrors struct __bpf_usdt_spec in <bpf/usdt.bpf.h> (libbpf 1.1). */
enum { USDT_ARG_CONST, USDT_ARG_REG, USDT_ARG_REG_DEREF };
struct usdt_arg_spec {
	__u64 val_off;
	__u32 arg_type;
	short reg_off;
	bool arg_signed;
	char arg_bitshift;
};
#define USDT_MAX_ARGS 12
struct usdt_spec {
	struct usdt_arg_spec args[USDT_MAX_ARGS];
	__u64 usdt_cookie;
	short arg_cnt;
};

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
static pid_t postmaster;
static char pg_binary[PATH_MAX];
static bool fork_tp_btf;
/* One link per backend for every site (uprobe_multi), or, on kernels without it, one plain
 * uprobe link per site, whose detach costs a grace period each. */
static bool use_multi;
/* buffer__read__start/done fire on every buffer access, shared-buffer hits included (hundreds per
 * request): a trap each, paid before any filter runs. Attached only when asked (--pg-buffers);
 * reads that reach the OS show up through smgr__md__read__* regardless. */
static bool want_buffer_reads;

/* The probe sites, found once in the binary; site i's cookie is its spec id i. */
static unsigned long site_offsets[MAX_PG_PROBE_SITES];
static unsigned long site_ref_ctrs[MAX_PG_PROBE_SITES];
static __u64 site_cookies[MAX_PG_PROBE_SITES];
static struct usdt_spec site_specs[MAX_PG_PROBE_SITES];
static int site_count;

struct backend {
	pid_t pid;
	int link_fd;                                   /* use_multi */
	struct bpf_link *links[MAX_PG_PROBE_SITES];    /* !use_multi */
};
static struct backend backends[MAX_PG_BACKENDS];
static struct bpf_link *gate_links[4];

static pthread_t follower;
static bool follower_started;
static pthread_mutex_t follow_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t follow_wake = PTHREAD_COND_INITIALIZER;
static bool follow_stop;

static struct {
	unsigned long long attached, gone, failed, detached, full, gate_timeouts, forks;
	unsigned long long slowest_gate_us, total_gate_us;
} stats;

/* --- the binary's USDT notes -------------------------------------------------------------- */

static int reg_offset(const char *name)
{
	static const struct {
		const char *names[4];
		int off;
	} regs[] = {
		{ { "rax", "eax", "ax", "al" }, offsetof(struct pt_regs, rax) },
		{ { "rbx", "ebx", "bx", "bl" }, offsetof(struct pt_regs, rbx) },
		{ { "rcx", "ecx", "cx", "cl" }, offsetof(struct pt_regs, rcx) },
		{ { "rdx", "edx", "dx", "dl" }, offsetof(struct pt_regs, rdx) },
		{ { "rsi", "esi", "si", "sil" }, offsetof(struct pt_regs, rsi) },
		{ { "rdi", "edi", "di", "dil" }, offsetof(struct pt_regs, rdi) },
		{ { "rbp", "ebp", "bp", "bpl" }, offsetof(struct pt_regs, rbp) },
		{ { "rsp", "esp", "sp", "spl" }, offsetof(struct pt_regs, rsp) },
		{ { "r8", "r8d", "r8w", "r8b" }, offsetof(struct pt_regs, r8) },
		{ { "r9", "r9d", "r9w", "r9b" }, offsetof(struct pt_regs, r9) },
		{ { "r10", "r10d", "r10w", "r10b" }, offsetof(struct pt_regs, r10) },
		{ { "r11", "r11d", "r11w", "r11b" }, offsetof(struct pt_regs, r11) },
		{ { "r12", "r12d", "r12w", "r12b" }, offsetof(struct pt_regs, r12) },
		{ { "r13", "r13d", "r13w", "r13b" }, offsetof(struct pt_regs, r13) },
		{ { "r14", "r14d", "r14w", "r14b" }, offsetof(struct pt_regs, r14) },
		{ { "r15", "r15d", "r15w", "r15b" }, offsetof(struct pt_regs, r15) },
	};

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		for (int j = 0; j < 4; j++)
			if (!strcmp(name, regs[i].names[j]))
				return regs[i].off;
	return -1;
}

/* One x86-64 SystemTap argument: "-4@%r15d", "4@8(%r13)", "4@(%r12)", "1@$0". */
static int parse_arg(const char *s, struct usdt_arg_spec *a)
{
	char reg[16];
	long off;
	int size, n = 0, reg_off;

	if (sscanf(s, " %d @ $%ld %n", &size, &off, &n) == 2 && !s[n]) {
		a->arg_type = USDT_ARG_CONST;
		a->val_off = off;
		reg_off = 0;
	} else if (sscanf(s, " %d @ %ld ( %%%15[a-z0-9] ) %n", &size, &off, reg, &n) == 3 && !s[n]) {
		a->arg_type = USDT_ARG_REG_DEREF;
		a->val_off = off;
		reg_off = reg_offset(reg);
	} else if (sscanf(s, " %d @ ( %%%15[a-z0-9] ) %n", &size, reg, &n) == 2 && !s[n]) {
		a->arg_type = USDT_ARG_REG_DEREF;
		a->val_off = 0;
		reg_off = reg_offset(reg);
	} else if (sscanf(s, " %d @ %%%15[a-z0-9] %n", &size, reg, &n) == 2 && !s[n]) {
		a->arg_type = USDT_ARG_REG;
		a->val_off = 0;
		reg_off = reg_offset(reg);
	} else {
		return -EINVAL;
	}
	if (reg_off < 0 || !size || abs(size) > 8)
		return -EINVAL;
	a->reg_off = reg_off;
	a->arg_signed = size < 0;
	a->arg_bitshift = 64 - abs(size) * 8;
	return 0;
}

static int parse_args(const char *args, struct usdt_spec *spec)
{
	char buf[512], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", args);
	spec->arg_cnt = 0;
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (spec->arg_cnt >= USDT_MAX_ARGS || parse_arg(tok, &spec->args[spec->arg_cnt]))
			return -EINVAL;
		spec->arg_cnt++;
	}
	return 0;
}

/* A virtual address's offset in the file, through the PT_LOAD segment holding it. */
static long file_offset(Elf *elf, __u64 addr)
{
	size_t n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && addr >= ph.p_vaddr &&
		    addr < ph.p_vaddr + ph.p_memsz)
			return addr - ph.p_vaddr + ph.p_offset;
	return -1;
}

static bool probe_wanted(int kind)
{
	return want_buffer_reads || (kind != PGP_BUFFER_READ_START && kind != PGP_BUFFER_READ_DONE);
}

static int probe_kind(const char *name)
{
	for (int k = PGP_QUERY_START; k < PGP_COUNT; k++)
		if (!strcmp(name, probe_names[k]))
			return k;
	return -1;
}

/*
 * Finds every site of our probes in the binary's .note.stapsdt: file offset, semaphore file
 * offset, and argument spec. Site addresses are adjusted by .stapsdt.base as the SystemTap note
 * format requires (prelinked binaries).
 */
static int find_sites(const char *path)
{
	Elf_Scn *scn = NULL, *notes = NULL;
	__u64 base_addr = 0;
	bool found[PGP_COUNT] = {};
	size_t shstrndx;
	int fd, err = 0;
	Elf *elf;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx)) {
		err = -EINVAL;
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (!strcmp(name, ".note.stapsdt"))
			notes = scn;
		else if (!strcmp(name, ".stapsdt.base"))
			base_addr = sh.sh_addr;
	}
	if (!notes) {
		err = -ENOENT;
		goto out;
	}
	for (Elf_Data *data = elf_getdata(notes, NULL); data; data = elf_getdata(notes, data)) {
		size_t off = 0, next, name_off, desc_off;
		GElf_Nhdr nh;

		while ((next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			const char *desc = (const char *)data->d_buf + desc_off;
			const char *provider, *probe, *args;
			__u64 pc, note_base, sema;
			long pc_off, sema_off = 0;
			int kind;

			off = next;
			if (nh.n_type != 3 || nh.n_descsz < 3 * 8 + 3)
				continue;
			memcpy(&pc, desc, 8);
			memcpy(&note_base, desc + 8, 8);
			memcpy(&sema, desc + 16, 8);
			provider = desc + 24;
			probe = provider + strlen(provider) + 1;
			args = probe + strlen(probe) + 1;
			if (strcmp(provider, PG_PROVIDER) || (kind = probe_kind(probe)) < 0 ||
			    !probe_wanted(kind))
				continue;
			if (base_addr && note_base) {
				pc += base_addr - note_base;
				if (sema)
					sema += base_addr - note_base;
			}
			pc_off = file_offset(elf, pc);
			if (sema)
				sema_off = file_offset(elf, sema);
			if (pc_off < 0 || sema_off < 0 || site_count >= MAX_PG_PROBE_SITES) {
				err = -E2BIG;
				goto out;
			}
			if (parse_args(args, &site_specs[site_count])) {
				fprintf(stderr, "postgres: %s:%s has arguments we cannot read: '%s'\n",
					PG_PROVIDER, probe, args);
				err = -EINVAL;
				goto out;
			}
			site_specs[site_count].usdt_cookie = kind;
			site_offsets[site_count] = pc_off;
			site_ref_ctrs[site_count] = sema_off;
			site_cookies[site_count] = site_count;
			site_count++;
			found[kind] = true;
		}
	}
	for (int k = PGP_QUERY_START; k < PGP_COUNT; k++)
		if (!found[k] && probe_wanted(k)) {
			fprintf(stderr, "postgres: %s has no USDT probe %s:%s\n", path, PG_PROVIDER,
				probe_names[k]);
			err = -ENOENT;
		}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static bool process_gone(pid_t pid)
{
	return kill(pid, 0) && errno == ESRCH;
}

/* The one-letter state from /proc/PID/stat ('T' when stopped), or 0 when it cannot be read. */
static char process_state(pid_t pid)
{
	char path[64], buf[512], *paren;
	char state = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (paren = strrchr(buf, ')')))
		sscanf(paren + 1, " %c", &state);
	fclose(f);
	return state;
}

static struct backend *find_backend(pid_t pid)
{
	for (int i = 0; i < MAX_PG_BACKENDS; i++)
		if (backends[i].pid == pid)
			return &backends[i];
	return NULL;
}

static int link_uprobe_multi(pid_t pid)
{
	struct link_create_uprobe_multi attr = {
		.prog_fd = bpf_program__fd(skel->progs.pg_probe),
		.attach_type = ATTACH_UPROBE_MULTI,
		.path = (__u64)(unsigned long)pg_binary,
		.offsets = (__u64)(unsigned long)site_offsets,
		.ref_ctr_offsets = (__u64)(unsigned long)site_ref_ctrs,
		.cookies = (__u64)(unsigned long)site_cookies,
		.cnt = site_count,
		.pid = pid,
	};
	int fd = syscall(SYS_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));

	return fd < 0 ? -errno : fd;
}

static void detach_backend(struct backend *b)
{
	__u32 key = b->pid;

	if (b->link_fd >= 0)
		close(b->link_fd);
	b->link_fd = -1;
	for (int i = 0; i < site_count; i++) {
		bpf_link__destroy(b->links[i]);
		b->links[i] = NULL;
	}
	bpf_map_delete_elem(bpf_map__fd(skel->maps.pg_backends), &key);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.pg_current), &key);
	b->pid = 0;
}

/*
 * Attaches every probe site to one process. One that exits meanwhile is not an error. Returns
 * 0, or a negative errno for a real failure, explained on stderr.
 */
static int attach_backend(pid_t pid)
{
	struct backend *b;
	int err = 0;

	if (find_backend(pid))
		return 0;
	b = find_backend(0);
	if (!b) {
		stats.full++;
		return 0;
	}
	b->pid = pid;
	b->link_fd = -1;
	if (use_multi) {
		err = link_uprobe_multi(pid);
		if (err >= 0) {
			b->link_fd = err;
			err = 0;
		}
	} else {
		for (int i = 0; i < site_count && !err; i++) {
			LIBBPF_OPTS(bpf_uprobe_opts, opts, .ref_ctr_offset = site_ref_ctrs[i],
				    .bpf_cookie = site_cookies[i]);

			b->links[i] = bpf_program__attach_uprobe_opts(skel->progs.pg_probe, pid, pg_binary,
								      site_offsets[i], &opts);
			if (!b->links[i])
				err = -errno;
		}
	}
	if (!err) {
		stats.attached++;
		return 0;
	}
	detach_backend(b);
	if (process_gone(pid)) {
		stats.gone++;
		return 0;
	}
	stats.failed++;
	fprintf(stderr, "postgres: attaching the probes in %s to pid %d failed: %s\n", pg_binary,
		pid, strerror(-err));
	return err;
}

/*
 * Lets a gated child go: waits (bounded) until it has stopped itself, then continues it. A
 * child that never reached its gate is continued anyway, and once more shortly after, in case
 * its SIGSTOP was on its way.
 */
static void release_gate(pid_t pid, __u64 since_ns)
{
	int gate_fd = bpf_map__fd(skel->maps.pg_gate);
	__u32 key = pid, state = 0;
	__u64 deadline = monotonic_ns() + GATE_TIMEOUT_NS, waited;

	for (;;) {
		if (process_gone(pid))
			break;
		if (bpf_map_lookup_elem(gate_fd, &key, &state) == 0 && state == GATE_STOPPED &&
		    process_state(pid) == 'T') {
			kill(pid, SIGCONT);
			break;
		}
		if (monotonic_ns() > deadline) {
			stats.gate_timeouts++;
			kill(pid, SIGCONT);
			usleep(10000);
			kill(pid, SIGCONT);
			break;
		}
		usleep(100);
	}
	bpf_map_delete_elem(gate_fd, &key);
	waited = (monotonic_ns() - since_ns) / 1000;
	stats.total_gate_us += waited;
	if (waited > stats.slowest_gate_us)
		stats.slowest_gate_us = waited;
}

/* Attaches to every child waiting at the gate, then releases it. */
static void follow_new_children(void)
{
	int gate_fd = bpf_map__fd(skel->maps.pg_gate);
	pid_t pending[64];
	__u32 key, next, *prev = NULL;
	int n = 0;

	while (n < 64 && bpf_map_get_next_key(gate_fd, prev, &next) == 0) {
		pending[n++] = next;
		key = next;
		prev = &key;
	}
	for (int i = 0; i < n; i++) {
		__u64 t0 = monotonic_ns();

		stats.forks++;
		trace_process(pending[i], ROLE_POSTGRES);
		attach_backend(pending[i]);
		release_gate(pending[i], t0);
	}
}

static void forget_exited(void)
{
	for (int i = 0; i < MAX_PG_BACKENDS; i++)
		if (backends[i].pid && process_gone(backends[i].pid)) {
			/* A detach waits for a grace period (~40 ms): let new children in between. */
			detach_backend(&backends[i]);
			stats.detached++;
			follow_new_children();
		}
}

static void *follow_children(void *arg)
{
	__u64 last_exit_check = 0;

	pthread_mutex_lock(&follow_lock);
	while (!follow_stop) {
		struct timespec until;

		pthread_mutex_unlock(&follow_lock);
		follow_new_children();
		if (monotonic_ns() - last_exit_check > EXIT_CHECK_NS) {
			forget_exited();
			last_exit_check = monotonic_ns();
		}
		pthread_mutex_lock(&follow_lock);
		if (follow_stop)
			break;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += FOLLOW_POLL_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&follow_wake, &follow_lock, &until);
	}
	pthread_mutex_unlock(&follow_lock);
	return NULL;
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
	postmaster = env->pg_pid;
	want_buffer_reads = env->pg_buffers;
	skel = postgres_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->targ_sample_threshold = env->sample_threshold;
	skel->rodata->targ_postmaster = env->pg_pid;
	*obj = skel->obj;
	err = find_sites(pg_binary);
	if (err == -ENOENT) {
		/* A server built without --enable-dtrace (e.g. the npm embedded one): nothing to attach. */
		fprintf(stderr, "reqtrace: postgres: skipped (%s has no USDT probes)\n", pg_binary);
		postgres_bpf__destroy(skel);
		skel = NULL;
		return FAMILY_SKIP;
	}
	if (err && err != -EINVAL)
		fprintf(stderr, "postgres: reading the USDT notes of %s failed: %s\n", pg_binary,
			strerror(-err));
	return err;
}

static int postgres_load(const struct env *env)
{
	int err, specs_fd;

	fork_tp_btf = tp_btf_loads("sched_process_fork");
	bpf_program__set_autoload(skel->progs.pg_fork_btf, fork_tp_btf);
	bpf_program__set_autoload(skel->progs.pg_fork_raw, !fork_tp_btf);
	use_multi = uprobe_multi_loads();
	if (use_multi)
		bpf_program__set_expected_attach_type(skel->progs.pg_probe, ATTACH_UPROBE_MULTI);
	err = postgres_bpf__load(skel);
	if (err)
		return err;
	if (bpf_map__value_size(skel->maps.__bpf_usdt_specs) != sizeof(struct usdt_spec)) {
		fprintf(stderr, "postgres: <bpf/usdt.bpf.h> specs are %u bytes, postgres.c writes %zu\n",
			bpf_map__value_size(skel->maps.__bpf_usdt_specs), sizeof(struct usdt_spec));
		return -EINVAL;
	}
	specs_fd = bpf_map__fd(skel->maps.__bpf_usdt_specs);
	for (int i = 0; i < site_count; i++)
		if (bpf_map_update_elem(specs_fd, &i, &site_specs[i], BPF_ANY)) {
			err = -errno;
			fprintf(stderr, "postgres: writing USDT spec %d failed: %s\n", i, strerror(errno));
			return err;
		}
	return 0;
}

/* The postmaster's children now: backends, and the auxiliary processes (their disk I/O). */
static int attach_children(void)
{
	char path[64];
	FILE *f;
	int pid, err = 0, n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", postmaster, postmaster);
	f = fopen(path, "r");
	if (!f) {
		err = -errno;
		fprintf(stderr, "postgres: reading %s failed: %s\n", path, strerror(errno));
		return err;
	}
	while (!err && fscanf(f, "%d", &pid) == 1) {
		err = trace_process(pid, ROLE_POSTGRES);
		if (!err)
			err = attach_backend(pid);
		n++;
	}
	fclose(f);
	if (!err && n == 0)
		fprintf(stderr, "postgres: postmaster %d has no children yet; they attach at fork\n",
			postmaster);
	return err;
}

static int postgres_attach(const struct env *env, char hook[HOOK_LEN])
{
	struct bpf_program *gate_progs[] = {
		fork_tp_btf ? skel->progs.pg_fork_btf : skel->progs.pg_fork_raw,
		skel->progs.pg_gate_clone, skel->progs.pg_gate_clone3, skel->progs.pg_gate_fork,
	};
	int err;

	/* Gate first, then the children present now: a fork in between is caught by both, and
	 * attach_backend ignores a pid it already has. */
	for (size_t i = 0; i < sizeof(gate_progs) / sizeof(gate_progs[0]); i++) {
		gate_links[i] = bpf_program__attach(gate_progs[i]);
		if (!gate_links[i]) {
			err = -errno;
			fprintf(stderr, "postgres: attaching %s failed: %s\n",
				bpf_program__name(gate_progs[i]), strerror(errno));
			return err;
		}
	}
	err = attach_children();
	if (err)
		return err;
	err = pthread_create(&follower, NULL, follow_children, NULL);
	if (err) {
		fprintf(stderr, "postgres: starting the backend follower failed: %s\n", strerror(err));
		return -err;
	}
	follower_started = true;
	snprintf(hook, HOOK_LEN, "%s", use_multi ? "usdt-uprobe-multi" : "usdt-uprobe");
	return 0;
}

/* A fork record (sched family) wakes the follower at once instead of at its next poll. */
static void postgres_on_event(const struct event_header *h, size_t size)
{
	if (h->kind != EV_PROC_FORK || h->pid != (__u32)postmaster)
		return;
	pthread_mutex_lock(&follow_lock);
	pthread_cond_signal(&follow_wake);
	pthread_mutex_unlock(&follow_lock);
}

static void postgres_summary(FILE *out)
{
	fprintf(out,
		"postgres: backends_attached=%llu backends_gone=%llu attach_failed=%llu "
		"backends_detached=%llu backends_unfollowed=%llu forks=%llu gate_timeouts=%llu "
		"slowest_gate_us=%llu mean_gate_us=%llu\n",
		stats.attached, stats.gone, stats.failed, stats.detached, stats.full, stats.forks,
		stats.gate_timeouts, stats.slowest_gate_us,
		stats.forks ? stats.total_gate_us / stats.forks : 0);
}

/* Continues every child still at the gate, so none is left stopped when we go. */
static void open_all_gates(void)
{
	int gate_fd = bpf_map__fd(skel->maps.pg_gate);
	__u32 key, next, *prev = NULL;

	while (bpf_map_get_next_key(gate_fd, prev, &next) == 0) {
		kill(next, SIGCONT);
		key = next;
		prev = &key;
	}
}

static void postgres_destroy(void)
{
	if (follower_started) {
		pthread_mutex_lock(&follow_lock);
		follow_stop = true;
		pthread_cond_signal(&follow_wake);
		pthread_mutex_unlock(&follow_lock);
		pthread_join(follower, NULL);
		follower_started = false;
	}
	for (size_t i = 0; i < sizeof(gate_links) / sizeof(gate_links[0]); i++) {
		bpf_link__destroy(gate_links[i]);
		gate_links[i] = NULL;
	}
	if (skel) {
		open_all_gates();
		for (int i = 0; i < MAX_PG_BACKENDS; i++)
			if (backends[i].pid)
				detach_backend(&backends[i]);
	}
	postgres_bpf__destroy(skel);
	skel = NULL;
}

const struct family postgres_family = {
	.name = "postgres",
	.doc = "PostgreSQL phases (parse/plan/execute, lock waits, disk I/O; buffer misses with --pg-buffers) per backend; needs --pg-pid",
	.open = postgres_open,
	.load = postgres_load,
	.attach = postgres_attach,
	.on_event = postgres_on_event,
	.summary = postgres_summary,
	.destroy = postgres_destroy,
};
