// SPDX-License-Identifier: MIT
/* Every probe family the loader knows, in load order. Add a family with one X(...) line. */
#include "family.h"

/* X(var) names `const struct family var_family`; core must stay first: it owns the maps. */
#define REQTRACE_FAMILIES(X) \
	X(core)              \
	X(app_usdt)          \
	X(sockets)           \
	X(files)             \
	X(sched)             \
	X(postgres)          \
	X(tcp)               \
	X(app_pool)          \
	X(conn)              \
	X(blockio)           \
	X(reclaim)           \
	X(faults)            \
	X(offcpu)            \
	X(slowsys)           \
	X(netdev)

#define DECLARE(var) extern const struct family var##_family;
REQTRACE_FAMILIES(DECLARE)

#define ENTRY(var) &var##_family,
const struct family *const all_families[] = { REQTRACE_FAMILIES(ENTRY) NULL };
