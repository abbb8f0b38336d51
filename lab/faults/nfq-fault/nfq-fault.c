// SPDX-License-Identifier: MIT
/*
 * nfq-fault: network delay or loss for the packets an iptables NFQUEUE rule hands to one queue,
 * in the network namespace it runs in. For kernels without the netem qdisc.
 *
 * --delay-ms holds each packet and accepts it MS ms after it arrived, in arrival order (one
 * delay for all, so order is kept and TCP sees no reordering). --drop-first drops the first
 * transmission of each TCP data segment and accepts the same segment when it comes again, so
 * every data segment costs exactly one retransmission. Only the packet headers are copied to
 * user space (the queue's copy range), never the payload.
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

/* IPv4 header (≤ 60 bytes) and TCP header (≤ 60 bytes): enough to find a segment's identity. */
#define COPY_RANGE 120
#define MAX_HELD 8192
#define SEEN_SLOTS 4096
#define MAX_DELAY_MS 10000
#define MAX_DURATION_S 3600

static struct env {
	long queue;
	long delay_ms;
	bool drop_first;
	long duration_s;
	bool verbose;
} env = { .queue = -1, .delay_ms = -1, .duration_s = 600 };

const char *argp_program_version = "nfq-fault 1.0";
const char argp_program_doc[] =
	"Delay or drop the packets an iptables NFQUEUE rule sends to one queue.\n"
	"\n"
	"USAGE: nfq-fault --queue N (--delay-ms MS | --drop-first) [--duration S] [-v]\n"
	"\n"
	"Runs in the current network namespace (queues are per namespace). Prints 'ready' on stdout "
	"once the queue is bound; on SIGINT, SIGTERM, its parent's exit or after --duration seconds "
	"it accepts what it still holds, unbinds, and prints one JSON summary line on stdout. Rules "
	"should use --queue-bypass, so packets pass untouched whenever nfq-fault is not running.\n"
	"\n"
	"EXAMPLES:\n"
	"    ip netns exec lab-net nfq-fault --queue 7 --delay-ms 20 --duration 60\n"
	"    ip netns exec lab-net nfq-fault --queue 7 --drop-first\n";

static const struct argp_option opts[] = {
	{ "queue", 'q', "N", 0, "NFQUEUE number, 0..65535", 0 },
	{ "delay-ms", 'd', "MS", 0, "Hold each packet MS ms (1..10000)", 0 },
	{ "drop-first", 'f', NULL, 0, "Drop the first transmission of each TCP data segment", 0 },
	{ "duration", 'D', "S", 0, "Exit after S seconds (1..3600, default 600)", 0 },
	{ "verbose", 'v', NULL, 0, "One stderr line per packet decision", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show the full help", 0 },
	{},
};

static long parse_long(const char *arg, long min, long max, const char *what, struct argp_state *state)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max)
		argp_error(state, "%s must be a whole number from %ld to %ld, got '%s'", what, min, max, arg);
	return v;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'q':
		env.queue = parse_long(arg, 0, 65535, "--queue", state);
		break;
	case 'd':
		env.delay_ms = parse_long(arg, 1, MAX_DELAY_MS, "--delay-ms", state);
		break;
	case 'f':
		env.drop_first = true;
		break;
	case 'D':
		env.duration_s = parse_long(arg, 1, MAX_DURATION_S, "--duration", state);
		break;
	case 'v':
		env.verbose = true;
		break;
	case 'h':
		argp_state_help(state, stderr, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (env.queue < 0)
			argp_error(state, "--queue is required");
		if ((env.delay_ms > 0) == env.drop_first)
			argp_error(state, "give exactly one of --delay-ms and --drop-first");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct held {
	uint32_t id;
	uint64_t due_ns;
};

static struct state {
	struct nfq_q_handle *qh;
	struct held held[MAX_HELD];
	unsigned head, count;
	/* Segments dropped once, awaiting their retransmission; 0 marks a free slot. */
	uint64_t seen[SEEN_SLOTS];
	unsigned long long queued, delayed, dropped, passed, overflow, unparsed, enobufs;
} st;

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void accept_packet(uint32_t id)
{
	nfq_set_verdict(st.qh, id, NF_ACCEPT, 0, NULL);
}

/* FNV-1a over the fields that name one TCP segment; never 0 (0 marks a free slot). */
static uint64_t segment_key(const uint8_t *ip, const uint8_t *tcp, unsigned payload)
{
	uint64_t h = 1469598103934665603ull;
	const uint8_t *parts[] = { ip + 12, tcp, tcp + 4 };
	const unsigned lens[] = { 8, 4, 4 }; /* saddr+daddr, sport+dport, seq */

	for (unsigned p = 0; p < 3; p++)
		for (unsigned i = 0; i < lens[p]; i++)
			h = (h ^ parts[p][i]) * 1099511628211ull;
	h = (h ^ payload) * 1099511628211ull;
	return h ? h : 1;
}

/* True when the segment was seen (and dropped) before; remembers it otherwise. */
static bool seen_before(uint64_t key)
{
	unsigned slot = (unsigned)(key % SEEN_SLOTS);

	for (unsigned i = 0; i < SEEN_SLOTS; i++) {
		unsigned s = (slot + i) % SEEN_SLOTS;

		if (st.seen[s] == key) {
			st.seen[s] = 0;
			return true;
		}
		if (!st.seen[s]) {
			st.seen[s] = key;
			return false;
		}
	}
	/* Table full: forget the home slot's segment rather than drop this one forever. */
	st.seen[slot] = key;
	return false;
}

/* TCP payload length of an IPv4 packet, or -1 when the headers are not an IPv4/TCP pair. */
static int tcp_payload(const uint8_t *pkt, int len, const uint8_t **tcp)
{
	unsigned ihl, tot, doff;

	if (len < 20 || (pkt[0] >> 4) != 4 || pkt[9] != IPPROTO_TCP)
		return -1;
	ihl = (pkt[0] & 0x0f) * 4u;
	tot = ((unsigned)pkt[2] << 8) | pkt[3];
	if (ihl < 20 || (int)ihl + 20 > len)
		return -1;
	*tcp = pkt + ihl;
	doff = ((*tcp)[12] >> 4) * 4u;
	if (doff < 20 || tot < ihl + doff)
		return -1;
	return (int)(tot - ihl - doff);
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa, void *data)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	unsigned char *pkt = NULL;
	const uint8_t *tcp = NULL;
	uint32_t id;
	int len, payload;

	(void)qh;
	(void)msg;
	(void)data;
	if (!ph)
		return 0;
	id = ntohl(ph->packet_id);
	st.queued++;
	if (env.delay_ms > 0) {
		if (st.count == MAX_HELD) {
			st.overflow++;
			accept_packet(id);
			return 0;
		}
		st.held[(st.head + st.count) % MAX_HELD] = (struct held){ id, now_ns() + (uint64_t)env.delay_ms * 1000000ull };
		st.count++;
		st.delayed++;
		return 0;
	}
	len = nfq_get_payload(nfa, &pkt);
	payload = len > 0 ? tcp_payload(pkt, len, &tcp) : -1;
	if (payload < 0) {
		st.unparsed++;
		accept_packet(id);
		return 0;
	}
	if (payload == 0 || seen_before(segment_key(pkt, tcp, (unsigned)payload))) {
		st.passed++;
		accept_packet(id);
		return 0;
	}
	st.dropped++;
	if (env.verbose)
		fprintf(stderr, "nfq-fault: dropped a %d-byte segment (first transmission)\n", payload);
	nfq_set_verdict(st.qh, id, NF_DROP, 0, NULL);
	return 0;
}

/* Accepts every held packet that is due (all of them with `all`); returns ms to the next, or -1. */
static int release_due(bool all)
{
	uint64_t now = now_ns();

	while (st.count) {
		struct held *h = &st.held[st.head];

		if (!all && h->due_ns > now) {
			uint64_t wait = (h->due_ns - now + 999999) / 1000000;
			return wait > INT_MAX ? INT_MAX : (int)wait;
		}
		accept_packet(h->id);
		st.head = (st.head + 1) % MAX_HELD;
		st.count--;
	}
	return -1;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .doc = argp_program_doc };
	static char buf[65536] __attribute__((aligned));
	struct nfq_handle *h = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t deadline;
	int err, fd;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return err;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* The run that started it may be killed outright: end with it, not --duration later. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		exiting = 1;

	h = nfq_open();
	if (!h) {
		err = -errno;
		fprintf(stderr, "nfq-fault: cannot open a netfilter queue handle: %s (needs CAP_NET_ADMIN)\n", strerror(errno));
		goto cleanup;
	}
	if (nfq_bind_pf(h, AF_INET) < 0) {
		err = -errno;
		fprintf(stderr, "nfq-fault: cannot bind the queue handler to IPv4: %s\n", strerror(errno));
		goto cleanup;
	}
	st.qh = nfq_create_queue(h, (uint16_t)env.queue, &on_packet, NULL);
	if (!st.qh) {
		err = -errno;
		fprintf(stderr, "nfq-fault: cannot bind queue %ld: %s (another program holds it?)\n", env.queue, strerror(errno));
		goto cleanup;
	}
	if (nfq_set_mode(st.qh, NFQNL_COPY_PACKET, COPY_RANGE) < 0) {
		err = -errno;
		fprintf(stderr, "nfq-fault: cannot set the copy mode of queue %ld: %s\n", env.queue, strerror(errno));
		goto cleanup;
	}
	if (nfq_set_queue_maxlen(st.qh, MAX_HELD) < 0)
		fprintf(stderr, "nfq-fault: warning: cannot raise the queue length to %d\n", MAX_HELD);
	fd = nfq_fd(h);
	deadline = now_ns() + (uint64_t)env.duration_s * 1000000000ull;
	printf("ready\n");
	fflush(stdout);

	while (!exiting && now_ns() < deadline) {
		int wait = release_due(false);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n;

		n = poll(&p, 1, wait < 0 || wait > 100 ? 100 : wait);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			fprintf(stderr, "nfq-fault: poll failed: %s\n", strerror(errno));
			goto cleanup;
		}
		if (!n)
			continue;
		n = (int)recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			/* The kernel's queue outran us: it accepts or drops per --queue-bypass; go on. */
			if (errno == ENOBUFS) {
				st.enobufs++;
				continue;
			}
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err = -errno;
			fprintf(stderr, "nfq-fault: reading the queue failed: %s\n", strerror(errno));
			goto cleanup;
		}
		nfq_handle_packet(h, buf, n);
	}
	err = 0;

cleanup:
	if (st.qh) {
		release_due(true);
		nfq_destroy_queue(st.qh);
	}
	if (h)
		nfq_close(h);
	printf("{\"event\":\"exit\",\"queued\":%llu,\"delayed\":%llu,\"dropped\":%llu,\"passed\":%llu,"
	       "\"overflow\":%llu,\"unparsed\":%llu,\"enobufs\":%llu,\"error\":%d}\n",
	       st.queued, st.delayed, st.dropped, st.passed, st.overflow, st.unparsed, st.enobufs, err);
	fflush(stdout);
	return err ? 1 : 0;
}
