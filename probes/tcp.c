// SPDX-License-Identifier: MIT
/* Glue for the TCP family (tcp.bpf.c): retransmits on the lab's connections. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "family.h"
#include "hook-detect.h"
#include "tcp.skel.h"

#define MAX_SOCKET_INODES 1024

static struct tcp_bpf *skel;
static bool use_tp_btf;
static __u16 ports[MAX_TCP_LAB_PORTS];
static int port_count;

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

/* Socket inodes among a process's fds ("socket:[12345]"). */
static int socket_inodes(__u32 pid, unsigned long *inodes, int max)
{
	char path[64], target[64];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((de = readdir(dir)) && n < max) {
		char fd_path[320];
		ssize_t len;

		snprintf(fd_path, sizeof(fd_path), "%s/%s", path, de->d_name);
		len = readlink(fd_path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (sscanf(target, "socket:[%lu]", &inodes[n]) == 1)
			n++;
	}
	closedir(dir);
	return n;
}

static void add_port(__u16 port)
{
	for (int i = 0; i < port_count; i++)
		if (ports[i] == port)
			return;
	if (port_count < MAX_TCP_LAB_PORTS)
		ports[port_count++] = port;
}

/* Listening ports of one process, read in its own network namespace (/proc/PID/net). */
static void listening_ports(__u32 pid)
{
	static unsigned long inodes[MAX_SOCKET_INODES];
	const char *tables[] = { "tcp", "tcp6" };
	int n = socket_inodes(pid, inodes, MAX_SOCKET_INODES);

	for (size_t t = 0; n && t < sizeof(tables) / sizeof(tables[0]); t++) {
		char path[64], line[512];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%u/net/%s", pid, tables[t]);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned int port, state;
			unsigned long inode;

			/* sl local_address:port rem_address:port st tx:rx tr:when retrnsmt uid timeout inode */
			if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu",
				   &port, &state, &inode) != 3 || state != 0x0A)
				continue;
			for (int i = 0; i < n; i++)
				if (inodes[i] == inode)
					add_port(port);
		}
		fclose(f);
	}
}

static int tcp_attach(const struct env *env, char hook[HOOK_LEN])
{
	int traced_fd = bpf_map__fd(skel->maps.traced);
	int ports_fd = bpf_map__fd(skel->maps.tcp_lab_ports);
	__u32 key, next;
	__u32 *prev = NULL;
	__u8 one = 1;
	int err;

	while (bpf_map_get_next_key(traced_fd, prev, &next) == 0) {
		listening_ports(next);
		key = next;
		prev = &key;
	}
	for (int i = 0; i < port_count; i++)
		if (bpf_map_update_elem(ports_fd, &ports[i], &one, BPF_ANY)) {
			err = -errno;
			fprintf(stderr, "tcp: adding port %u to tcp_lab_ports failed: %s\n", ports[i],
				strerror(errno));
			return err;
		}
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
