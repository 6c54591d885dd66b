/* runit.c — runs one command and reports its own wall time, CPU time and peak RSS, for make bench.
 * A small static launcher, because a child's ru_maxrss starts from the memory of the process
 * that forked it (exec_mmap keeps the old mm's high-water mark): measured from Python it would
 * be at least Python's ~13 MiB. Here the floor is this program's own few KiB, reported too.
 * wait4(2) https://man7.org/linux/man-pages/man2/wait4.2.html ; getrusage(2) for the fields.
 *
 * Usage: runit EXE ARGV0 [ARGS...]   (stdin, stdout, stderr are passed through)
 * Writes to fd 3: "wall_ns user_us sys_us maxrss_kib status floor_kib\n", where status is the
 * exit code, or 128+signal, and floor_kib this launcher's own peak RSS (VmHWM) before the fork:
 * the most of maxrss that may not be the command's. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* This process's VmHWM (KiB) from /proc/self/status; -1 if unknown. */
static __attribute__((noinline)) long
hwm_kib(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			v = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	long floor;
	int status;
	pid_t pid;
	char out[200];

	if (argc < 3) {
		fprintf(stderr, "usage: runit EXE ARGV0 [ARGS...]\n");
		return 2;
	}
	floor = hwm_kib();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = vfork();
	if (pid == 0) {
		execv(argv[1], argv + 2);
		_exit(127);
	}
	if (pid < 0) {
		perror("runit: vfork");
		return 1;
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("runit: wait4");
			return 1;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	int n = snprintf(out, sizeof out, "%lld %lld %lld %ld %d %ld\n",
			 (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec),
			 (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
			 (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss, code, floor);
	if (write(3, out, (size_t)n) != n)
		return 1;
	return 0;
}
