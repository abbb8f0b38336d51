// SPDX-License-Identifier: MIT
/* Glue for the blockio family (blockio.bpf.c): block request insert/issue/complete. */
#include <errno.h>
#include "family.h"
#include "tp-pair.h"
#include "blockio.skel.h"

TP_PAIR_GLUE(blockio)

static int blockio_load(const struct env *env)
{
	struct bpf_program *btf[] = { skel->progs.btf_insert, skel->progs.btf_issue, skel->progs.btf_complete };
	struct bpf_program *raw[] = { skel->progs.raw_insert, skel->progs.raw_issue, skel->progs.raw_complete };

	use_tp_btf = choose_tp_pair("block_rq_complete", btf, raw, 3);
	skel->rodata->targ_io_always = !env->usdt_selected;
	return blockio_bpf__load(skel);
}

const struct family blockio_family = {
	.name = "blockio",
	.doc = "block requests the lab's threads queued, timed insert → issue → complete (block:block_rq_*)",
	.open = blockio_open,
	.load = blockio_load,
	.attach = blockio_attach,
	.destroy = blockio_destroy,
};
