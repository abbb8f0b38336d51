// SPDX-License-Identifier: MIT
/* The ports traced processes listen on, read from /proc once at start into `lab_port_roles`, with
 * the role of the process listening on each, and their span into `lab_port_span`. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "lab-ports.h"
#include "sizes.h"

#define MAX_SOCKET_INODES 1024

static __u16 ports[MAX_LAB_PORTS];
static __u8 roles[MAX_LAB_PORTS];
static int port_count;

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

static void add_port(__u16 port, __u32 role)
{
	for (int i = 0; i < port_count; i++)
		if (ports[i] == port)
			return;
	if (port_count < MAX_LAB_PORTS) {
		roles[port_count] = role;
		ports[port_count++] = port;
	}
}

/* Listening ports of one process, read in its own network namespace (/proc/PID/net). */
static void listening_ports(__u32 pid, __u32 role)
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
					add_port(port, role);
		}
		fclose(f);
	}
}

static int set_bits(int map_fd, __u32 word, __u64 bits)
{
	__u64 old = 0;
	int err = bpf_map_lookup_elem(map_fd, &word, &old);

	if (!err)
		err = bpf_map_update_elem(map_fd, &word, &(__u64){ old | bits }, BPF_ANY);
	return err ? -errno : 0;
}

void lab_ports_find(const __u32 *tgids, const __u32 *proc_roles, int count)
{
	port_count = 0;
	for (int i = 0; i < count; i++)
		listening_ports(tgids[i], proc_roles[i]);
}

int lab_ports_fill(int roles_fd, int span_fd)
{
	struct { __u16 lo, hi; } span = { 0, 0 };
	__u32 zero = 0;

	for (int i = 0; i < port_count; i++) {
		int err = set_bits(roles_fd, ports[i] >> 3, (__u64)roles[i] << ((ports[i] & 7) * 8));

		if (err) {
			fprintf(stderr, "reqtrace: adding port %u to lab_port_roles failed: %s\n", ports[i],
				strerror(-err));
			return err;
		}
		if (!i || ports[i] < span.lo)
			span.lo = ports[i];
		if (!i || ports[i] > span.hi)
			span.hi = ports[i];
	}
	if (bpf_map_update_elem(span_fd, &zero, &span, BPF_ANY)) {
		int err = -errno;

		fprintf(stderr, "reqtrace: setting lab_port_span failed: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

int lab_ports_list(const __u16 **out, const __u8 **out_roles)
{
	*out = ports;
	if (out_roles)
		*out_roles = roles;
	return port_count;
}
