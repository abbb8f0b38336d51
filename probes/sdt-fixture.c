// SPDX-License-Identifier: MIT
/*
 * sdt-fixture: a tiny server that fires the app's reqtrace:* USDT probes (same names, argument
 * types and semaphores as the addon) around real socket and file I/O, so the loader can be
 * tested without the lab.
 *
 * USAGE: sdt-fixture PORT DIR
 *   Listens on 127.0.0.1:PORT (one thread per connection) and runs a "database" on PORT+1.
 *   Each line "METHOD PATH ID DB_DELAY_MS\n" is one request: request_start on the connection's
 *   fd; with DB_DELAY_MS 0 a cache_hit, otherwise a cache_miss and one query on the thread's
 *   database connection (the database sleeps DB_DELAY_MS); a file DIR/<ID> opened, written and
 *   read back by a worker thread; response "200 ID\n" ("500 ID\n" for a path starting /fail);
 *   request_end. The line "SEM\n" answers the sum of the probes' semaphores.
 *   Prints "ready PORT" on stdout once listening.
 */
#define _GNU_SOURCE
#define _SDT_HAS_SEMAPHORES 1
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "id-words.h"

#define SEM(name) \
	unsigned short reqtrace_##name##_semaphore __attribute__((section(".probes"), used))
SEM(request_start);
SEM(request_end);
SEM(db_query_start);
SEM(db_query_end);
SEM(cache_hit);
SEM(cache_miss);
SEM(file_open);
SEM(file_close);

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 128)) {
		fprintf(stderr, "sdt-fixture: listening on %d failed: %s\n", port, strerror(errno));
		exit(1);
	}
	return fd;
}

static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		fprintf(stderr, "sdt-fixture: connecting to %d failed: %s\n", port, strerror(errno));
		exit(1);
	}
	return fd;
}

/* One line into buf (without the newline); 0 at EOF. Reads byte-wise only past the first
 * read, so a whole request line normally arrives in one read(). */
static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, len - 1 - n);

		if (r <= 0)
			return 0;
		n += r;
		if (memchr(buf, '\n', n))
			break;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 1;
}

static unsigned long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

static void *db_conn(void *arg)
{
	int fd = (int)(long)arg;
	char line[64];

	while (read_line(fd, line, sizeof(line))) {
		usleep(atoi(line) * 1000);
		if (write(fd, "ok\n", 3) != 3)
			break;
	}
	close(fd);
	return NULL;
}

static void *db_server(void *arg)
{
	int lfd = (int)(long)arg;

	for (;;) {
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		pthread_create(&t, NULL, db_conn, (void *)(long)fd);
		pthread_detach(t);
	}
	return NULL;
}

static int db_port;
static const char *dir;

struct file_job {
	int fd;
	ssize_t done;
};

/* File I/O on another thread, as libuv does. */
static void *file_worker(void *arg)
{
	struct file_job *job = arg;
	char buf[4096];

	memset(buf, 'x', sizeof(buf));
	job->done = pwrite(job->fd, buf, sizeof(buf), 0);
	if (job->done == sizeof(buf))
		job->done = pread(job->fd, buf, sizeof(buf), 0);
	return NULL;
}

static void serve(int fd, int dbfd, char *line)
{
	char method[16], path[128], id[64], path_buf[256], out[96];
	unsigned long long t0 = now_us(), q0;
	uint64_t hi, lo;
	struct file_job job;
	pthread_t worker;
	int delay, n, status;

	if (sscanf(line, "%15s %127s %63s %d", method, path, id, &delay) != 4) {
		n = snprintf(out, sizeof(out), "400\n");
		if (write(fd, out, n) != n)
			return;
		return;
	}
	id_words(id, &hi, &lo);
	DTRACE_PROBE6(reqtrace, request_start, id, method, path, fd, hi, lo);
	if (delay == 0) {
		DTRACE_PROBE4(reqtrace, cache_hit, id, path, hi, lo);
		goto file;
	}
	DTRACE_PROBE4(reqtrace, cache_miss, id, path, hi, lo);

	q0 = now_us();
	DTRACE_PROBE5(reqtrace, db_query_start, id, "/* request */ SELECT pg_sleep($1)", dbfd, hi, lo);
	n = snprintf(out, sizeof(out), "%d\n", delay);
	if (write(dbfd, out, n) != n || !read_line(dbfd, out, sizeof(out)))
		exit(1);
	DTRACE_PROBE6(reqtrace, db_query_end, id, (unsigned long long)(now_us() - q0), 1ull, dbfd, hi, lo);

file:
	snprintf(path_buf, sizeof(path_buf), "%s/%s", dir, id);
	job.fd = open(path_buf, O_RDWR | O_CREAT | O_TRUNC, 0600);
	DTRACE_PROBE5(reqtrace, file_open, id, job.fd, path_buf, hi, lo);
	pthread_create(&worker, NULL, file_worker, &job);
	pthread_join(worker, NULL);
	DTRACE_PROBE4(reqtrace, file_close, id, job.fd, hi, lo);
	close(job.fd);
	unlink(path_buf);

	status = strncmp(path, "/fail", 5) ? 200 : 500;
	n = snprintf(out, sizeof(out), "%d %s\n", status, id);
	if (write(fd, out, n) != n)
		return;
	DTRACE_PROBE6(reqtrace, request_end, id, status, (unsigned long long)(now_us() - t0), fd, hi, lo);
}

static void *client_conn(void *arg)
{
	int fd = (int)(long)arg;
	int dbfd = connect_to(db_port);
	char line[256];

	while (read_line(fd, line, sizeof(line))) {
		if (!strcmp(line, "SEM")) {
			char out[32];
			int n = snprintf(out, sizeof(out), "%d\n",
					 reqtrace_request_start_semaphore + reqtrace_request_end_semaphore +
					 reqtrace_db_query_start_semaphore + reqtrace_db_query_end_semaphore +
					 reqtrace_cache_hit_semaphore + reqtrace_cache_miss_semaphore +
					 reqtrace_file_open_semaphore + reqtrace_file_close_semaphore);

			if (write(fd, out, n) != n)
				break;
			continue;
		}
		serve(fd, dbfd, line);
	}
	close(dbfd);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	int port, lfd;

	if (argc != 3 || (port = atoi(argv[1])) < 1024 || port > 65534) {
		fprintf(stderr, "usage: sdt-fixture PORT DIR\n");
		return 1;
	}
	dir = argv[2];
	db_port = port + 1;
	pthread_create(&t, NULL, db_server, (void *)(long)listen_on(db_port));
	lfd = listen_on(port);
	printf("ready %d\n", port);
	fflush(stdout);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		pthread_create(&t, NULL, client_conn, (void *)(long)fd);
		pthread_detach(t);
	}
}
