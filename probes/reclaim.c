// SPDX-License-Identifier: MIT
/* Glue for the reclaim family (reclaim.bpf.c): direct reclaim by the lab's threads. */
#include <errno.h>
#include "family.h"
#include "tp-pair.h"
#include "reclaim.skel.h"

TP_PAIR_GLUE(reclaim)

static int reclaim_load(const struct env *env)
{
	struct bpf_program *btf[] = { skel->progs.btf_begin, skel->progs.btf_end };
	struct bpf_program *raw[] = { skel->progs.raw_begin, skel->progs.raw_end };

	use_tp_btf = choose_tp_pair("mm_vmscan_direct_reclaim_begin", btf, raw, 2);
	return reclaim_bpf__load(skel);
}

const struct family reclaim_family = {
	.name = "reclaim",
	.doc = "direct memory reclaim stalls of the lab's threads (vmscan:mm_vmscan_direct_reclaim_*)",
	.open = reclaim_open,
	.load = reclaim_load,
	.attach = reclaim_attach,
	.destroy = reclaim_destroy,
};
