/* SPDX-License-Identifier: MIT */
/* The listening ports of traced processes (lab-ports.c), shared with BPF as `lab_port_roles`. */
#ifndef REQTRACE_LAB_PORTS_H
#define REQTRACE_LAB_PORTS_H

#include <linux/types.h>

/* Reads the listening TCP ports of each of `count` processes, with that process's role. */
void lab_ports_find(const __u32 *tgids, const __u32 *roles, int count);

/* Writes the ports lab_ports_find found, with their roles, into `lab_port_roles`, and the lowest
 * and highest into `lab_port_span`. 0 or a negative errno (explained on stderr). */
int lab_ports_fill(int roles_fd, int span_fd);

/* The ports lab_ports_find found, and their roles (roles may be NULL); returns how many. */
int lab_ports_list(const __u16 **ports, const __u8 **roles);

#endif /* REQTRACE_LAB_PORTS_H */
