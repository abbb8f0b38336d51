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

/*
 * The glue such a family shares, for skeleton `NAME_bpf`: the skeleton, which kind was chosen, and
 * open (filters from env), attach (the whole skeleton, hook named by the kind) and destroy. The
 * family's own file adds its load (choose_tp_pair over its handlers, then NAME_bpf__load) and its
 * `struct family`.
 */
#define TP_PAIR_GLUE(NAME)                                                        \
	static struct NAME##_bpf *skel;                                               \
	static bool use_tp_btf;                                                       \
                                                                                      \
	static int NAME##_open(const struct env *env, struct bpf_object **obj)        \
	{                                                                             \
		skel = NAME##_bpf__open();                                            \
		if (!skel)                                                            \
			return -errno;                                                \
		skel->rodata->targ_sample_threshold = env->sample_threshold;          \
		*obj = skel->obj;                                                     \
		return 0;                                                             \
	}                                                                             \
                                                                                      \
	static int NAME##_attach(const struct env *env, char hook[HOOK_LEN])          \
	{                                                                             \
		int err = NAME##_bpf__attach(skel);                                   \
                                                                                      \
		if (!err)                                                             \
			snprintf(hook, HOOK_LEN, "%s", use_tp_btf ? "tp_btf" : "raw_tp"); \
		return err;                                                           \
	}                                                                             \
                                                                                      \
	static void NAME##_destroy(void)                                              \
	{                                                                             \
		NAME##_bpf__destroy(skel);                                            \
		skel = NULL;                                                          \
	}

#endif /* REQTRACE_TP_PAIR_H */
