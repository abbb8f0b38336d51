// SPDX-License-Identifier: MIT
/* Glue for the blockio family (blockio.bpf.c): block request insert/issue/complete. */
#include <errno.h>
#include "family.h"
#include "tp-pair.h"
#include "blockio.skel.h"

static struct blockio_bpf *skel;
static bool use_tp_btf;

static int blockio_open(const struct env *env, struct bpf_object **obj)
{
	skel = blockio_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->targ_sample_threshold = env->sample_threshold;
	*obj = skel->obj;
	return 0;
}

static int blockio_load(const struct env *env)
{
	struct bpf_program *btf[] = { skel->progs.btf_insert, skel->progs.btf_issue, skel->progs.btf_complete };
	struct bpf_program *raw[] = { skel->progs.raw_insert, skel->progs.raw_issue, skel->progs.raw_complete };

	use_tp_btf = choose_tp_pair("block_rq_complete", btf, raw, 3);
	return blockio_bpf__load(skel);
}

static int blockio_attach(const struct env *env, char hook[HOOK_LEN])
{
	int err = blockio_bpf__attach(skel);

	if (!err)
		snprintf(hook, HOOK_LEN, "%s", use_tp_btf ? "tp_btf" : "raw_tp");
	return err;
}

static void blockio_destroy(void)
{
	blockio_bpf__destroy(skel);
	skel = NULL;
}

const struct family blockio_family = {
	.name = "blockio",
	.doc = "block requests the lab's threads queued, timed insert → issue → complete (block:block_rq_*)",
	.open = blockio_open,
	.load = blockio_load,
	.attach = blockio_attach,
	.destroy = blockio_destroy,
};
