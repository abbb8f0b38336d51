// SPDX-License-Identifier: MIT
/*
 * Prints the USDT sites usdt-notes.c reads from a binary as JSON (one object per site: file
 * offsets and argument specs), for the test that compares them with readelf's view of the notes.
 * Usage: build/print-usdt-sites BINARY [PROVIDER]
 */
#include <stdio.h>
#include <string.h>
#include "usdt-notes.h"

#define MAX_SITES 256

int main(int argc, char **argv)
{
	static struct usdt_site sites[MAX_SITES];
	int n;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s BINARY [PROVIDER]\n", argv[0]);
		return 2;
	}
	n = usdt_read_sites(argv[1], argc == 3 ? argv[2] : NULL, NULL, sites, MAX_SITES);
	if (n < 0) {
		fprintf(stderr, "print-usdt-sites: reading %s failed: %s\n", argv[1], strerror(-n));
		return 1;
	}
	printf("[");
	for (int i = 0; i < n; i++) {
		const struct usdt_site *s = &sites[i];

		printf("%s\n  { \"provider\": \"%s\", \"name\": \"%s\", \"offset\": %lu, \"refCtr\": %lu, \"args\": [", i ? "," : "",
		       s->provider, s->name, s->offset, s->ref_ctr);
		for (int a = 0; a < s->spec.arg_cnt; a++) {
			const struct usdt_arg_spec *g = &s->spec.args[a];

			printf("%s{ \"type\": %u, \"valOff\": %lld, \"regOff\": %d, \"signed\": %s, \"bitshift\": %d }", a ? ", " : "",
			       g->arg_type, (long long)g->val_off, g->reg_off, g->arg_signed ? "true" : "false", g->arg_bitshift);
		}
		printf("] }");
	}
	printf("\n]\n");
	return 0;
}
