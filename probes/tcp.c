// SPDX-License-Identifier: MIT
/* Glue for the TCP family (tcp.bpf.c): retransmits on the lab's connections. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "family.h"
#include "hook-detect.h"
#include "lab-ports.h"
#include "tcp.skel.h"

static struct tcp_bpf *skel;
static bool use_tp_btf;

static int tcp_open(const struct env *env, struct bpf_object **obj)
{
	skel = tcp_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->targ_sample_threshold = env->sample_threshold;
	*obj = skel->obj;
	return 0;
}

static int tcp_load(const struct env *env)
{
	use_tp_btf = tp_btf_loads("tcp_retransmit_skb");
	bpf_program__set_autoload(skel->progs.btf_retransmit, use_tp_btf);
	bpf_program__set_autoload(skel->progs.tp_retransmit, !use_tp_btf);
	return tcp_bpf__load(skel);
}

/* The loader filled the shared `lab_port_roles` before attach (lab-ports.c). */
static int tcp_attach(const struct env *env, char hook[HOOK_LEN])
{
	const __u16 *ports;
	int port_count = lab_ports_list(&ports, NULL);
	int err;

	if (!port_count)
		fprintf(stderr, "tcp: no traced process listens on a TCP port; only sockets the sockets "
				"family resolved are watched\n");
	err = tcp_bpf__attach(skel);
	if (!err)
		snprintf(hook, HOOK_LEN, "%s", use_tp_btf ? "tp_btf" : "tracepoint");
	return err;
}

static void tcp_summary(FILE *out)
{
	const __u16 *ports;
	int port_count = lab_ports_list(&ports, NULL);

	fprintf(out, "tcp: lab_ports=");
	for (int i = 0; i < port_count; i++)
		fprintf(out, "%s%u", i ? "," : "", ports[i]);
	fprintf(out, "%s\n", port_count ? "" : "none");
}

static void tcp_destroy(void)
{
	tcp_bpf__destroy(skel);
	skel = NULL;
}

const struct family tcp_family = {
	.name = "tcp",
	.doc = "TCP retransmits on connections of traced processes or to/from their listening ports",
	.open = tcp_open,
	.load = tcp_load,
	.attach = tcp_attach,
	.summary = tcp_summary,
	.destroy = tcp_destroy,
};
