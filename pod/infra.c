// The pod's namespace helper, run before the Go runtime starts (a
// constructor): gorun re-executes itself with _GORUN_POD_INFRA set, in new
// namespaces (see sandbox.go). It sets the pod's hostname in the new UTS
// namespace, then reports "ok" (or "error WHAT: REASON") on the sync fd.
//
//   once: it waits until gorun closes the sync socket (gorun bind-mounts
//         the helper's /proc/PID/ns files meanwhile) and exits.
//   hold: it stays as the init of the pod's PID namespace, which dies with
//         its init: it reaps the orphans reparented to it and does nothing
//         else. Containers share that PID namespace, so it first jails
//         itself: a private mount namespace whose root is an empty
//         read-only tmpfs, no capabilities, uid/gid 65534, no_new_privs and
//         not dumpable, so that no process of the pod can reach the host
//         through it (ptrace, /proc/1/root, /proc/1/exe: CVE-2019-5736).
//         It ignores every signal but SIGKILL, which only the host can
//         send to a PID namespace's init: `gorun pod rm`.
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int infra_sync = -1;

static void infra_fail(const char *what, int err)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "error %s: %s\n", what, strerror(err));

	if (infra_sync >= 0 && n > 0) {
		if (write(infra_sync, msg, (size_t)n) < 0) {
			/* the parent reports the exit status instead */
		}
	}
	_exit(1);
}

static void infra_report_ok(void)
{
	if (write(infra_sync, "ok\n", 3) != 3)
		_exit(1);
}

/* infra_jail makes dir (an empty directory) an empty read-only tmpfs and
 * the process's root, in its own mount namespace (cloned by gorun). */
static void infra_jail(const char *dir)
{
	if (!dir || !*dir)
		infra_fail("jail", EINVAL);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		infra_fail("make the mounts private", errno);
	if (mount("gorun-pod-infra", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") < 0)
		infra_fail("mount an empty root", errno);
	if (chdir(dir) < 0)
		infra_fail("enter the empty root", errno);
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			infra_fail("detach the host's root", errno);
	} else if (chroot(".") < 0) {
		infra_fail("change root", errno);
	}
	if (chdir("/") < 0)
		infra_fail("enter the empty root", errno);
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") < 0)
		infra_fail("make the root read-only", errno);
}

static void infra_drop_privileges(void)
{
	int c;

	for (c = 0; c <= 63; c++)
		prctl(PR_CAPBSET_DROP, c, 0, 0, 0); /* EINVAL past the last one */
	if (setgroups(0, NULL) < 0)
		infra_fail("drop supplementary groups", errno);
	if (setresgid(65534, 65534, 65534) < 0)
		infra_fail("become gid 65534", errno);
	/* Leaving uid 0 clears the permitted and effective capabilities. */
	if (setresuid(65534, 65534, 65534) < 0)
		infra_fail("become uid 65534", errno);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		infra_fail("set no_new_privs", errno);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		infra_fail("clear dumpable", errno);
}

static void infra_reap_forever(void)
{
	sigset_t set;

	/* A blocked SIGCHLD is queued even though its default action is to
	 * ignore it; no other signal is waited for. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		infra_fail("block SIGCHLD", errno);
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		sigwaitinfo(&set, NULL);
	}
}

__attribute__((constructor)) static void gorun_pod_infra(void)
{
	const char *mode = getenv("_GORUN_POD_INFRA");
	const char *sync = getenv("_GORUN_POD_SYNC");
	const char *host = getenv("_GORUN_POD_HOSTNAME");
	char b;

	if (!mode)
		return;
	infra_sync = sync ? atoi(sync) : -1;
	if (infra_sync < 3)
		_exit(2);
	/* Exec'd through /proc/self/fd/N, its name would be "N". */
	prctl(PR_SET_NAME, "gorun-pod-infra", 0, 0, 0);
	if (host && *host && sethostname(host, strlen(host)) < 0)
		infra_fail("set the hostname", errno);
	if (!strcmp(mode, "hold")) {
		infra_jail(getenv("_GORUN_POD_JAIL"));
		infra_drop_privileges();
		infra_report_ok();
		close(infra_sync);
		infra_reap_forever();
	}
	infra_report_ok();
	for (;;) {
		ssize_t n = read(infra_sync, &b, 1);

		if (n < 0 && errno == EINTR)
			continue;
		_exit(0);
	}
}
