/* SPDX-License-Identifier: MIT */
/* Shared by postgres.bpf.c and postgres.c: which PostgreSQL probe fired. */
#ifndef REQTRACE_POSTGRES_H
#define REQTRACE_POSTGRES_H

/*
 * One BPF program serves every PostgreSQL probe; the USDT cookie of each probe site says which
 * probe it is. postgres.c maps these to the probe names in the binary.
 */
enum pg_probe_kind {
	PGP_QUERY_START = 1, /* 0 is what bpf_usdt_cookie() returns when it finds no spec */
	PGP_QUERY_DONE,
	PGP_PARSE_START,
	PGP_PARSE_DONE,
	PGP_REWRITE_START,
	PGP_REWRITE_DONE,
	PGP_PLAN_START,
	PGP_PLAN_DONE,
	PGP_EXECUTE_START,
	PGP_EXECUTE_DONE,
	PGP_LOCK_WAIT_START,
	PGP_LOCK_WAIT_DONE,
	PGP_BUFFER_READ_START,
	PGP_BUFFER_READ_DONE,
	PGP_SMGR_READ_START,
	PGP_SMGR_READ_DONE,
	PGP_SMGR_WRITE_START,
	PGP_SMGR_WRITE_DONE,
	PGP_TXN_COMMIT,
	PGP_COUNT,
};


#endif /* REQTRACE_POSTGRES_H */
