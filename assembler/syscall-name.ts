/** x86-64 syscall numbers the lab's waits name, as text ('syscall 123' for the rest). */
const NAMES: Readonly<Record<number, string>> = {
  0: 'read', 1: 'write', 2: 'open', 3: 'close', 4: 'stat', 5: 'fstat', 7: 'poll', 8: 'lseek', 9: 'mmap',
  16: 'ioctl', 17: 'pread64', 18: 'pwrite64', 19: 'readv', 20: 'writev', 23: 'select', 35: 'nanosleep',
  40: 'sendfile', 42: 'connect', 43: 'accept', 44: 'sendto', 45: 'recvfrom', 46: 'sendmsg', 47: 'recvmsg',
  61: 'wait4', 72: 'fcntl', 73: 'flock', 74: 'fsync', 75: 'fdatasync', 76: 'truncate', 77: 'ftruncate',
  82: 'rename', 87: 'unlink', 202: 'futex', 217: 'getdents64', 230: 'clock_nanosleep', 232: 'epoll_wait',
  257: 'openat', 262: 'newfstatat', 270: 'pselect6', 271: 'ppoll', 277: 'sync_file_range', 281: 'epoll_pwait',
  285: 'fallocate', 288: 'accept4', 295: 'preadv', 296: 'pwritev', 327: 'preadv2', 328: 'pwritev2',
  332: 'statx', 441: 'epoll_pwait2', 449: 'futex_waitv', 455: 'futex_wait',
};

/** futex, futex_waitv, futex_wait: a wait for a lock or a condition another thread signals. */
export const FUTEX_SYSCALLS: ReadonlySet<number> = new Set([202, 449, 455]);

export function syscallName(nr: number): string {
  return NAMES[nr] ?? `syscall ${nr}`;
}
