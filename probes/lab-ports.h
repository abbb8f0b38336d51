/* SPDX-License-Identifier: MIT */
/* The listening ports of traced processes (lab-ports.c), shared with BPF as `lab_port_roles`. */
#ifndef REQTRACE_LAB_PORTS_H
#define REQTRACE_LAB_PORTS_H

#include <linux/types.h>

/* Reads the listening TCP ports of every tgid in the `traced` map, with the role of the process
 * listening on each, into `lab_port_roles`. 0 or a negative errno (explained on stderr). */
int lab_ports_fill(int traced_fd, int roles_fd);

/* The ports found by lab_ports_fill; returns how many. */
int lab_ports_list(const __u16 **ports);

#endif /* REQTRACE_LAB_PORTS_H */
