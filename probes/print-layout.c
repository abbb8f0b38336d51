// SPDX-License-Identifier: MIT
/*
 * Prints the size of every events.h struct and the offset of each field as JSON, for the test
 * that compares it with shared/event-layout.ts. Usage: make -C probes layout
 */
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>
#include "events.h"

static int first_struct = 1, first_field;

static void begin(const char *name, size_t size)
{
	printf("%s\n  \"%s\": { \"size\": %zu, \"fields\": {", first_struct ? "{" : ",", name, size);
	first_struct = 0;
	first_field = 1;
}

static void field(const char *name, size_t offset, size_t size)
{
	printf("%s \"%s\": [%zu, %zu]", first_field ? "" : ",", name, offset, size);
	first_field = 0;
}

static void end(void)
{
	printf(" } }");
}

#define F(type, name) field(#name, offsetof(struct type, name), sizeof(((struct type *)0)->name))

int main(void)
{
	begin("event_header", sizeof(struct event_header));
	F(event_header, ts_ns); F(event_header, request_id); F(event_header, pid);
	F(event_header, tid); F(event_header, kind); F(event_header, size); F(event_header, fd);
	end();
	begin("tuple", sizeof(struct tuple));
	F(tuple, saddr); F(tuple, daddr); F(tuple, sport); F(tuple, dport); F(tuple, family);
	end();
	begin("ev_request_start", sizeof(struct ev_request_start));
	F(ev_request_start, method); F(ev_request_start, path); F(ev_request_start, run_delay_ns);
	end();
	begin("ev_request_end", sizeof(struct ev_request_end));
	F(ev_request_end, status); F(ev_request_end, duration_us); F(ev_request_end, run_delay_ns);
	end();
	begin("ev_db_query_start", sizeof(struct ev_db_query_start));
	F(ev_db_query_start, query); F(ev_db_query_start, run_delay_ns);
	end();
	begin("ev_db_query_end", sizeof(struct ev_db_query_end));
	F(ev_db_query_end, duration_us); F(ev_db_query_end, rows); F(ev_db_query_end, run_delay_ns);
	end();
	begin("ev_cache", sizeof(struct ev_cache));
	F(ev_cache, key);
	end();
	begin("ev_file_open", sizeof(struct ev_file_open));
	F(ev_file_open, path);
	end();
	begin("ev_request_kept", sizeof(struct ev_request_kept));
	F(ev_request_kept, reason); F(ev_request_kept, complete); F(ev_request_kept, threshold_us);
	end();
	begin("ev_sock_io", sizeof(struct ev_sock_io));
	F(ev_sock_io, duration_ns); F(ev_sock_io, bytes); F(ev_sock_io, arrival_ns);
	F(ev_sock_io, syscall_nr); F(ev_sock_io, syscalls); F(ev_sock_io, tuple);
	end();
	begin("ev_file_io", sizeof(struct ev_file_io));
	F(ev_file_io, duration_ns); F(ev_file_io, bytes); F(ev_file_io, inode);
	F(ev_file_io, syscall_nr);
	end();
	begin("ev_sock_conn", sizeof(struct ev_sock_conn));
	F(ev_sock_conn, duration_ns); F(ev_sock_conn, ret); F(ev_sock_conn, tuple);
	end();
	begin("ev_tcp_retransmit", sizeof(struct ev_tcp_retransmit));
	F(ev_tcp_retransmit, state); F(ev_tcp_retransmit, tuple);
	end();
	begin("ev_runq_delay", sizeof(struct ev_runq_delay));
	F(ev_runq_delay, delay_ns);
	end();
	begin("ev_proc", sizeof(struct ev_proc));
	F(ev_proc, child_pid); F(ev_proc, comm);
	end();
	begin("ev_tracer_shed", sizeof(struct ev_tracer_shed));
	F(ev_tracer_shed, family); F(ev_tracer_shed, family_pct_x100); F(ev_tracer_shed, total_pct_x100);
	F(ev_tracer_shed, budget_pct_x100);
	end();
	begin("ev_pg_phase", sizeof(struct ev_pg_phase));
	F(ev_pg_phase, duration_ns); F(ev_pg_phase, phase); F(ev_pg_phase, detail0);
	F(ev_pg_phase, detail1); F(ev_pg_phase, run_delay_start_ns); F(ev_pg_phase, run_delay_ns);
	end();
	begin("ev_pool_wait", sizeof(struct ev_pool_wait));
	F(ev_pool_wait, wait_ns); F(ev_pool_wait, pool_size); F(ev_pool_wait, busy);
	F(ev_pool_wait, waiting); F(ev_pool_wait, new_connection);
	end();
	begin("ev_conn_setup", sizeof(struct ev_conn_setup));
	F(ev_conn_setup, syn_ns); F(ev_conn_setup, side); F(ev_conn_setup, rtt_us);
	F(ev_conn_setup, retransmits); F(ev_conn_setup, error); F(ev_conn_setup, tuple);
	end();
	begin("ev_major_fault", sizeof(struct ev_major_fault));
	F(ev_major_fault, duration_ns); F(ev_major_fault, error_code);
	end();
	begin("ev_block_io", sizeof(struct ev_block_io));
	F(ev_block_io, duration_ns); F(ev_block_io, queued_ns); F(ev_block_io, sector);
	F(ev_block_io, bytes); F(ev_block_io, dev); F(ev_block_io, op); F(ev_block_io, error);
	end();
	begin("ev_offcpu", sizeof(struct ev_offcpu));
	F(ev_offcpu, duration_ns); F(ev_offcpu, syscall_nr); F(ev_offcpu, state); F(ev_offcpu, futex_addr);
	end();
	begin("ev_slow_syscall", sizeof(struct ev_slow_syscall));
	F(ev_slow_syscall, duration_ns); F(ev_slow_syscall, ret); F(ev_slow_syscall, syscall_nr);
	end();
	begin("ev_direct_reclaim", sizeof(struct ev_direct_reclaim));
	F(ev_direct_reclaim, duration_ns); F(ev_direct_reclaim, reclaimed);
	end();
	begin("ev_net_xmit", sizeof(struct ev_net_xmit));
	F(ev_net_xmit, queued_ns); F(ev_net_xmit, len); F(ev_net_xmit, ifindex); F(ev_net_xmit, rc);
	F(ev_net_xmit, tuple);
	end();
	printf("\n}\n");
	return 0;
}
