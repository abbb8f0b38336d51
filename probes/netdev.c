// SPDX-License-Identifier: MIT
/* Glue for the netdev family (netdev.bpf.c): net_dev_queue → net_dev_xmit of the lab's packets. */
#include <errno.h>
#include "family.h"
#include "tp-pair.h"
#include "netdev.skel.h"

static struct netdev_bpf *skel;
static bool use_tp_btf;

static int netdev_open(const struct env *env, struct bpf_object **obj)
{
	skel = netdev_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->targ_sample_threshold = env->sample_threshold;
	*obj = skel->obj;
	return 0;
}

static int netdev_load(const struct env *env)
{
	struct bpf_program *btf[] = { skel->progs.btf_queue, skel->progs.btf_xmit };
	struct bpf_program *raw[] = { skel->progs.raw_queue, skel->progs.raw_xmit };

	use_tp_btf = choose_tp_pair("net_dev_xmit", btf, raw, 2);
	return netdev_bpf__load(skel);
}

static int netdev_attach(const struct env *env, char hook[HOOK_LEN])
{
	int err = netdev_bpf__attach(skel);

	if (!err)
		snprintf(hook, HOOK_LEN, "%s", use_tp_btf ? "tp_btf" : "raw_tp");
	return err;
}

static void netdev_destroy(void)
{
	netdev_bpf__destroy(skel);
	skel = NULL;
}

const struct family netdev_family = {
	.name = "netdev",
	.doc = "packets of the lab's connections from the device layer to the driver (net_dev_queue/xmit); runs for every packet sent",
	.opt_in = true,
	.open = netdev_open,
	.load = netdev_load,
	.attach = netdev_attach,
	.destroy = netdev_destroy,
};
