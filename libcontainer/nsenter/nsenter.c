// The part of joining namespaces that cannot be done from Go: setns() into a
// user namespace fails in a multi-threaded process, and the Go runtime starts
// threads before main. This constructor runs first, while the process has one
// thread. It acts only in gorun's re-exec'd child, which the parent marks with
// _GORUN_NSENTER="user=PATH,mnt=PATH" (either may be absent); it joins those
// namespaces in that order and becomes root in the joined user namespace.
// Errors go to the parent as an initmsg "error" message on the sync fd
// (_GORUN_SYNC), then the child exits.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void nsenter_fail(const char *field, const char *value, const char *what, int err)
{
	const char *sync = getenv("_GORUN_SYNC");
	char msg[1024];
	int n;

	/* Paths and names here come from gorun itself: no JSON escaping needed
	 * beyond refusing quotes. */
	if (strchr(value, '"') || strchr(value, '\\'))
		value = "(path)";
	n = snprintf(msg, sizeof(msg),
		     "{\"type\":\"error\",\"error\":{\"op\":\"join namespaces\",\"field\":\"%s\",\"value\":\"%s\",\"msg\":\"%s: %s\"}}\n",
		     field, value, what, strerror(err));
	if (sync && n > 0) {
		int fd = atoi(sync);
		if (write(fd, msg, (size_t)n) < 0) {
			/* nothing more to do */
		}
	} else {
		fprintf(stderr, "gorun: %s", msg);
	}
	_exit(1);
}

static int open_ns(const char *field, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		nsenter_fail(field, path, "open namespace", errno);
	return fd;
}

__attribute__((constructor)) static void gorun_nsenter(void)
{
	const char *spec = getenv("_GORUN_NSENTER");
	char buf[4096], *tok, *save = NULL;
	int userfd = -1, mntfd = -1;

	/* gorun's child: from its first instruction, no process of the
	 * container may open /proc/PID/exe of it (CVE-2019-5736). */
	if (getenv("_GORUN_SYNC"))
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (!spec || !*spec)
		return;
	if (strlen(spec) >= sizeof(buf))
		nsenter_fail("linux.namespaces", "(too long)", "namespace paths", ENAMETOOLONG);
	strcpy(buf, spec);
	/* Open every namespace before joining any: after joining the mount
	 * namespace, host paths are gone. */
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "user=", 5))
			userfd = open_ns("linux.namespaces[user].path", tok + 5);
		else if (!strncmp(tok, "mnt=", 4))
			mntfd = open_ns("linux.namespaces[mount].path", tok + 4);
	}
	if (userfd >= 0) {
		if (setns(userfd, CLONE_NEWUSER) < 0)
			nsenter_fail("linux.namespaces[user].path", "", "setns user", errno);
		if (setresgid(0, 0, 0) < 0)
			nsenter_fail("linux.namespaces[user].path", "", "become gid 0 in the user namespace", errno);
		if (setresuid(0, 0, 0) < 0)
			nsenter_fail("linux.namespaces[user].path", "", "become uid 0 in the user namespace", errno);
		close(userfd);
	}
	if (mntfd >= 0) {
		if (setns(mntfd, CLONE_NEWNS) < 0)
			nsenter_fail("linux.namespaces[mount].path", "", "setns mount", errno);
		close(mntfd);
	}
	unsetenv("_GORUN_NSENTER");
}
