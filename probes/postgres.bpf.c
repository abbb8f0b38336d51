// SPDX-License-Identifier: MIT
/*
 * PostgreSQL family: the backend's own USDT probes. postgres.c attaches them by binary path,
 * for every process running it, so a backend forked later is traced from its first instruction;
 * the filter is here: only processes in `traced` as PostgreSQL (the postmaster's tree, followed at
 * fork by the core family) are looked at.
 *
 * A backend serves one statement at a time, so its current request is simply the id found in
 * the last statement text it parsed: the app starts every statement with the sqlcommenter
 * comment `request_id='<32 hex>',traceparent='00-...-01'`, so the id sits at offset 14. Each
 * phase is timed in the kernel (start stamp per backend and phase, one EV_PG_PHASE at its done
 * probe). Only the id is read out of the statement text; no SQL leaves the kernel.
 */
#include "maps.bpf.h"
#include "postgres.h"
#include "request-id.bpf.h"

/* postgres.c writes one argument spec per probe site into __bpf_usdt_specs, once, and every
 * backend's attachment shares them (backends are forks: same binary, same addresses). */
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Indexed by enum pg_phase. */
#define PG_PHASE_SLOTS 16

#define ID_PREFIX "/*request_id='"
#define ID_PREFIX_LEN 14
/* prefix, 32 hex digits, the closing quote, NUL */
#define ID_READ_LEN (ID_PREFIX_LEN + ID_HEX_LEN + 2)

struct pg_backend {
	__u8 request_id[16];
	__u64 start_ns[PG_PHASE_SLOTS];
	__u64 start_run_delay[PG_PHASE_SLOTS]; /* schedstat run_delay at each start */
	__u64 lock_tag;  /* lock__wait__start's first lock tag field */
	__u64 lock_mode;
	__u32 skip;      /* the current statement belongs to a request outside the sample */
	__u32 tentative; /* ... followed only provisionally (tail keeping) */
};

/* Each PostgreSQL process's current request and open phases, in its task storage (one lookup,
 * gone with the process); created for the lab's processes only. A phase that ends without its
 * start (attached mid-phase) is counted (pg_state_lost). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pg_backend);
} pg_backends SEC(".maps");


/* The socket syscall hooks run (the fallback): they learn each backend's request from here. */
const volatile __u32 targ_pg_current = 0;

/* The current process's state, created for a traced PostgreSQL process only. */
static __always_inline struct pg_backend *current_backend(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pg_backend *b = bpf_task_storage_get(&pg_backends, task, 0, 0);

	if (b)
		return b;
	if (current_role() != ROLE_POSTGRES)
		return NULL;
	return bpf_task_storage_get(&pg_backends, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
}

/*
 * The statement's request id becomes the backend's current one; a statement without the
 * comment leaves the backend with no request. A comment that starts right but carries a bad id
 * is counted.
 */
/* The id's i-th digit in the statement text take_request_id reads into s[]. */
#define SQL_ID_DIGIT(i) s[ID_PREFIX_LEN + (i)]

static __always_inline void take_request_id(struct pg_backend *b, const char *sql)
{
	const char prefix[] = ID_PREFIX;
	char s[ID_READ_LEN];
	__u32 head = 0;
	__u8 id[16];
	int i;

	zero_id(b->request_id);
	b->skip = 0;
	b->tentative = 0;
	if (bpf_probe_read_user_str(s, sizeof(s), sql) < ID_READ_LEN - 1)
		return;
	for (i = 0; i < ID_PREFIX_LEN; i++)
		if (s[i] != prefix[i])
			return;
	/* The first 8 hex digits decide: a statement outside the sample is skipped right here. */
	ID_HEAD_FROM_HEX(SQL_ID_DIGIT, head, goto bad);
	if (!sampled_head(head)) {
		if (!keeping()) {
			b->skip = 1;
			return;
		}
		b->tentative = 1;
	}
	ID_FROM_HEX(SQL_ID_DIGIT, id, goto bad);
	if (s[ID_PREFIX_LEN + ID_HEX_LEN] != '\'')
		goto bad;
	copy_id(b->request_id, id);
	return;
bad:
	count_drop(DROP_BAD_REQUEST_ID);
}

static __always_inline void emit_phase(struct pg_backend *b, __u32 phase, __u64 duration_ns,
				       __u64 now, __u64 detail0, __u64 detail1, __u64 run_delay_start)
{
	struct ev_pg_phase *e;

	/* Work outside any request (autovacuum, checkpoints) is kept; unsampled requests are
	 * skipped before they get here. */
	e = reserve_event(sizeof(*e));
	if (!e)
		return;
	fill_header(&e->h, kind_of(EV_PG_PHASE, b->tentative), sizeof(*e), -1, bpf_get_current_pid_tgid(), now);
	copy_id(e->h.request_id, b->request_id);
	e->duration_ns = duration_ns;
	e->phase = phase;
	e->_pad = 0;
	e->detail0 = detail0;
	e->detail1 = detail1;
	e->run_delay_ns = thread_run_delay();
	e->run_delay_start_ns = run_delay_start ?: e->run_delay_ns;
	submit_event(e);
}

static __always_inline void stamp_start(struct pg_backend *b, __u32 phase)
{
	if (phase >= PG_PHASE_SLOTS)
		return;
	b->start_ns[phase] = bpf_ktime_get_ns();
	b->start_run_delay[phase] = thread_run_delay();
}

static __always_inline int phase_start(__u32 phase)
{
	struct pg_backend *b = current_backend();

	if (b && !b->skip)
		stamp_start(b, phase);
	return 0;
}

/* A done probe without its start (attached mid-phase) emits nothing. */
static __always_inline int phase_done(__u32 phase, __u64 detail0, __u64 detail1)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct pg_backend *b = bpf_task_storage_get(&pg_backends, bpf_get_current_task_btf(), 0, 0);
	__u64 start, now;

	if (!b) {
		if (traced_role(tgid) == ROLE_POSTGRES)
			count_drop(DROP_PG_STATE_LOST);
		return 0;
	}
	if (b->skip || phase >= PG_PHASE_SLOTS)
		return 0;
	start = b->start_ns[phase];
	if (!start)
		return 0;
	b->start_ns[phase] = 0;
	now = bpf_ktime_get_ns();
	emit_phase(b, phase, now - start, now, detail0, detail1, b->start_run_delay[phase]);
	return 0;
}

static __always_inline long arg(struct pt_regs *ctx, int n)
{
	long v = 0;

	bpf_usdt_arg(ctx, n, &v);
	return v;
}

/*
 * While sampling, tells the sockets family the backend's new request: the read that carried this
 * statement (waiting in recv_stash) is emitted or dropped by it, and so is the backend's socket
 * I/O until the next statement.
 */
static __always_inline void publish_request(const __u8 id[16])
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct pg_current *cur = bpf_map_lookup_elem(&pg_current, &tgid);
	struct pg_current fresh = { .stash_fd = -1 };

	if (!cur) {
		copy_id(fresh.request_id, id);
		bpf_map_update_elem(&pg_current, &tgid, &fresh, BPF_ANY);
		return;
	}
	if (cur->stash_fd >= 0)
		flush_recv_stash(tgid, cur->stash_fd, NULL, id_wanted(id));
	cur->stash_fd = -1;
	copy_id(cur->request_id, id);
}

static __always_inline int take_statement(struct pt_regs *ctx, __u32 phase)
{
	struct pg_backend *b = current_backend();

	if (!b)
		return 0;
	take_request_id(b, (const char *)arg(ctx, 0));
	if (targ_pg_current && sampling())
		publish_request(b->request_id);
	if (!b->skip)
		stamp_start(b, phase);
	return 0;
}

/*
 * Every PostgreSQL probe, told apart by the probe site's cookie (enum pg_probe_kind). Argument
 * lists, from the probe definitions in PostgreSQL's probes.d:
 *   query__start, query__parse__start (const char *statement)
 *   lock__wait__start (locktag_field1..4, locktag_type, lockmode)
 *   buffer__read__done (fork, block, tablespace, database, relation, backend, is_extend, found)
 *   smgr__md__{read,write}__done (fork, block, tablespace, database, relation, backend,
 *                                 bytes done, bytes requested)
 *   transaction__commit (local transaction id)
 */
SEC("usdt")
int pg_probe(struct pt_regs *ctx)
{
	struct pg_backend *b;

	switch (bpf_usdt_cookie(ctx)) {
	case PGP_QUERY_START:
		/* Simple protocol: the whole statement text. */
		return take_statement(ctx, PG_QUERY);
	case PGP_QUERY_DONE:
		return phase_done(PG_QUERY, 0, 0);
	case PGP_PARSE_START:
		/* Extended protocol (node-pg's parameterized queries): the text arrives only here. */
		return take_statement(ctx, PG_PARSE);
	case PGP_PARSE_DONE:
		return phase_done(PG_PARSE, 0, 0);
	case PGP_REWRITE_START:
		return phase_start(PG_REWRITE);
	case PGP_REWRITE_DONE:
		return phase_done(PG_REWRITE, 0, 0);
	case PGP_PLAN_START:
		return phase_start(PG_PLAN);
	case PGP_PLAN_DONE:
		return phase_done(PG_PLAN, 0, 0);
	case PGP_EXECUTE_START:
		return phase_start(PG_EXECUTE);
	case PGP_EXECUTE_DONE:
		return phase_done(PG_EXECUTE, 0, 0);
	case PGP_LOCK_WAIT_START:
		/* A row lock wait is a wait on the holder's transaction id: lock tag field 1. */
		b = current_backend();
		if (!b || b->skip)
			return 0;
		b->lock_tag = (__u32)arg(ctx, 0);
		b->lock_mode = (__u32)arg(ctx, 5);
		stamp_start(b, PG_LOCK_WAIT);
		return 0;
	case PGP_LOCK_WAIT_DONE:
		b = bpf_task_storage_get(&pg_backends, bpf_get_current_task_btf(), 0, 0);
		return b && !b->skip ? phase_done(PG_LOCK_WAIT, b->lock_tag, b->lock_mode) : 0;
	case PGP_BUFFER_READ_START:
		/* Fires for every buffer access, hit or miss: the price of seeing the misses. */
		return phase_start(PG_BUFFER_READ);
	case PGP_BUFFER_READ_DONE:
		if (!arg(ctx, 7))
			return phase_done(PG_BUFFER_READ, (__u32)arg(ctx, 4), (__u32)arg(ctx, 1));
		b = bpf_task_storage_get(&pg_backends, bpf_get_current_task_btf(), 0, 0);
		if (b)
			b->start_ns[PG_BUFFER_READ] = 0;
		return 0;
	case PGP_SMGR_READ_START:
		return phase_start(PG_SMGR_READ);
	case PGP_SMGR_READ_DONE:
		return phase_done(PG_SMGR_READ, (__u32)arg(ctx, 6), (__u32)arg(ctx, 4));
	case PGP_SMGR_WRITE_START:
		return phase_start(PG_SMGR_WRITE);
	case PGP_SMGR_WRITE_DONE:
		return phase_done(PG_SMGR_WRITE, (__u32)arg(ctx, 6), (__u32)arg(ctx, 4));
	case PGP_TXN_COMMIT:
		/* An instant: duration 0, detail0 = the local transaction id. */
		b = current_backend();
		if (b && !b->skip)
			emit_phase(b, PG_TXN_COMMIT, 0, bpf_ktime_get_ns(), (__u32)arg(ctx, 0), 0, 0);
		return 0;
	default:
		return 0;
	}
}
