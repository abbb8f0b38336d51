/* SPDX-License-Identifier: MIT */
/*
 * For families whose every handler exists twice, tp_btf (preferred) and raw_tp (the fallback),
 * sharing one CO-RE body: choose one kind for all of them by detection, before load.
 */
#ifndef REQTRACE_TP_PAIR_H
#define REQTRACE_TP_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <bpf/libbpf.h>
#include "hook-detect.h"

/* Loads the tp_btf programs when a tp_btf program on `probe_tp` loads here, else the raw_tp ones;
 * returns whether tp_btf was chosen. btf[i] and raw[i] are the two kinds of one handler. */
static inline bool choose_tp_pair(const char *probe_tp, struct bpf_program *const *btf,
				  struct bpf_program *const *raw, size_t n)
{
	bool use_btf = tp_btf_loads(probe_tp);

	for (size_t i = 0; i < n; i++) {
		bpf_program__set_autoload(btf[i], use_btf);
		bpf_program__set_autoload(raw[i], !use_btf);
	}
	return use_btf;
}

#endif /* REQTRACE_TP_PAIR_H */
