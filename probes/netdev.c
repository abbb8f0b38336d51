// SPDX-License-Identifier: MIT
/* Glue for the netdev family (netdev.bpf.c): net_dev_queue → net_dev_xmit of the lab's packets. */
#include <errno.h>
#include "family.h"
#include "tp-pair.h"
#include "netdev.skel.h"

TP_PAIR_GLUE(netdev)

static int netdev_load(const struct env *env)
{
	struct bpf_program *btf[] = { skel->progs.btf_queue, skel->progs.btf_xmit };
	struct bpf_program *raw[] = { skel->progs.raw_queue, skel->progs.raw_xmit };

	use_tp_btf = choose_tp_pair("net_dev_xmit", btf, raw, 2);
	return netdev_bpf__load(skel);
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
