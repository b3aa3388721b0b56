// sectool: small attacks and probes for gorun's security tests. Built
// statically by the tests (gcc -static) and copied into a busybox rootfs.
//
//   sectool euid                   print the real and effective uid
//   sectool sys NR [ARG...]        make syscall NR, print its result
//   sectool thread-mkdir PATH      mkdir from a second thread; main reports
//   sectool trap-mkdir PATH        mkdir with a SIGSYS handler installed
//   sectool write-exe PID          open /proc/PID/exe for writing, directly
//                                  and by reopening a read-only fd (it never
//                                  writes: "OPENED" is the failure)
//   sectool exchange A B MS        swap A and B (RENAME_EXCHANGE) for MS ms
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void *thread_mkdir(void *path) {
	mkdir((const char *)path, 0755);
	printf("thread survived\n");
	return NULL;
}

static void on_sigsys(int sig, siginfo_t *si, void *uc) {
	(void)sig;
	(void)uc;
	char buf[64];
	int n = snprintf(buf, sizeof buf, "trapped syscall=%d\n", si->si_syscall);
	write(1, buf, n);
	_exit(0);
}

static long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void try_write(const char *what, const char *path) {
	int fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0) {
		printf("%s: open for writing failed: %s\n", what, strerror(errno));
		return;
	}
	printf("%s: OPENED for writing\n", what);
	close(fd);
}

static void write_exe(const char *pid) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%s/exe", pid);
	try_write("direct", path);
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("reopen: open read-only failed: %s\n", strerror(errno));
		return;
	}
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
	try_write("reopen", self);
	close(fd);
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2)
		return 2;
	const char *cmd = argv[1];
	if (!strcmp(cmd, "euid")) {
		printf("uid=%d euid=%d\n", getuid(), geteuid());
		return 0;
	}
	if (!strcmp(cmd, "sys") && argc >= 3) {
		long a[6] = {0};
		for (int i = 3; i < argc && i < 9; i++)
			a[i - 3] = strtol(argv[i], NULL, 0);
		errno = 0;
		long r = syscall(strtol(argv[2], NULL, 0), a[0], a[1], a[2], a[3], a[4], a[5]);
		if (r == -1)
			printf("errno=%d %s\n", errno, strerror(errno));
		else
			printf("ret=%ld\n", r);
		return 0;
	}
	if (!strcmp(cmd, "thread-mkdir") && argc == 3) {
		pthread_t t;
		pthread_create(&t, NULL, thread_mkdir, argv[2]);
		struct timespec ts = {0, 300 * 1000000};
		nanosleep(&ts, NULL);
		printf("main alive\n");
		return 0;
	}
	if (!strcmp(cmd, "trap-mkdir") && argc == 3) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_sigsys;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSYS, &sa, NULL);
		mkdir(argv[2], 0755);
		printf("not trapped: %s\n", strerror(errno));
		return 0;
	}
	if (!strcmp(cmd, "write-exe") && argc == 3) {
		write_exe(argv[2]);
		return 0;
	}
	if (!strcmp(cmd, "exchange") && argc == 5) {
		long end = now_ms() + strtol(argv[4], NULL, 0);
		long n = 0;
		while (now_ms() < end) {
			if (syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], 2 /* RENAME_EXCHANGE */) == 0)
				n++;
		}
		printf("exchanged %ld times\n", n);
		return 0;
	}
	fprintf(stderr, "sectool: bad arguments\n");
	return 2;
}
