// SPDX-License-Identifier: MIT
/*
 * fsync-delay: a slow disk where no cgroup can throttle one. Preloaded into a process
 * (LD_PRELOAD), it makes each fsync and fdatasync wait, after the real call, the number of ms
 * written in the file LAB_FSYNC_DELAY_FILE names (read at every call, so the delay can be set and
 * cleared while the process runs; no file, no number, or 0: no delay; at most 10000).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAX_DELAY_MS 10000

static long delay_ms(void)
{
	const char *path = getenv("LAB_FSYNC_DELAY_FILE");
	char buf[16];
	ssize_t n;
	long v;
	int fd;

	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	v = strtol(buf, NULL, 10);
	return v > 0 && v <= MAX_DELAY_MS ? v : 0;
}

/* Waits after the real call and leaves its errno as it was: the caller sees only a slow disk. */
static int delayed(int ret)
{
	int saved = errno;
	long ms = delay_ms();
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (ms && nanosleep(&ts, &ts) && errno == EINTR)
		;
	errno = saved;
	return ret;
}

int fsync(int fd)
{
	static int (*real)(int);

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return delayed(real(fd));
}

int fdatasync(int fd)
{
	static int (*real)(int);

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	return delayed(real(fd));
}
