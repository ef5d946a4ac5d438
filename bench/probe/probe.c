/* probe: the command secretexec and the reference exec in the benchmark, and the launcher
 * that starts them.
 *
 * probe (no arguments): its first instruction reads CLOCK_MONOTONIC. It prints that time,
 * the number of environment entries and an order-independent hash of them, so the harness
 * can check that both programs handed over the same environment.
 *
 * probe -launch PROGRAM ARG...: forks; the child reads CLOCK_MONOTONIC, prints it ("t0 ...")
 * and execs PROGRAM; the parent waits (wait4) and prints the child's rusage. A launcher is
 * needed because Go's os/exec starts children with vfork semantics: the pre-exec address
 * space is the harness's own, and Linux carries that mm's high-water mark into ru_maxrss
 * across execve. Forked from this small static program, ru_maxrss is the program's own peak
 * (the probe it execs is far smaller).
 *
 * Static, so nothing runs before main but libc's own start-up, the same for every run. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int launch(char **argv) {
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("probe: fork");
		return 1;
	}
	if (pid == 0) {
		struct timespec t0;
		char buf[64];
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int n = snprintf(buf, sizeof buf, "t0 %lld.%09ld\n", (long long)t0.tv_sec, t0.tv_nsec);
		if (write(1, buf, n) != n)
			_exit(1);
		execve(argv[0], argv, environ);
		perror("probe: execve");
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("probe: wait4");
		return 1;
	}
	printf("rusage %lld %lld %ld %d\n",
	       (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
	       (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec,
	       ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}

int main(int argc, char **argv) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (argc > 2 && strcmp(argv[1], "-launch") == 0)
		return launch(argv + 2);
	int n = 0;
	uint64_t sum = 0;
	for (char **e = environ; *e; e++, n++) {
		uint64_t h = 14695981039346656037ull; /* FNV-1a */
		for (const unsigned char *p = (const unsigned char *)*e; *p; p++)
			h = (h ^ *p) * 1099511628211ull;
		sum += h;
	}
	printf("t1 %lld.%09ld %d %016llx\n", (long long)ts.tv_sec, ts.tv_nsec, n, (unsigned long long)sum);
	return 0;
}
