// The part of joining namespaces that cannot be done from Go: setns() into a
// user namespace fails in a multi-threaded process, and the Go runtime starts
// threads before main. This constructor runs first, while the process has one
// thread. It acts only in gorun's re-exec'd child, which the parent marks with
// _GORUN_NSENTER="TYPE=PATH,..." (TYPE one of user mnt net ipc uts cgroup
// time pid). It opens every path first, then joins them in the order given;
// after joining a user namespace it becomes root there. A pid namespace only
// applies to children, so after joining one the process forks: the parent
// reports the child's pid to gorun on the sync fd ({"type":"forked","pid":N})
// and exits, the child goes on into the Go runtime inside the namespace.
// Before any of that it moves itself into its v1 cgroups when the parent
// names them (_GORUN_CGROUP_TASKS, see join_cgroup). Errors go to gorun as
// an initmsg "error" message on the sync fd (_GORUN_SYNC), then the process
// exits.
//
// In every gorun process, it also raises the timer slack (see
// raise_timerslack) before the Go runtime starts its threads.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

extern char **environ;

struct ns {
	const char *type;
	int flag;
};

static const struct ns kinds[] = {
	{"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},	  {"net", CLONE_NEWNET},       {"ipc", CLONE_NEWIPC},
	{"uts", CLONE_NEWUTS},	 {"cgroup", CLONE_NEWCGROUP}, {"time", 0x00000080 /* CLONE_NEWTIME */}, {"pid", CLONE_NEWPID},
};

static int sync_fd(void)
{
	const char *s = getenv("_GORUN_SYNC");
	return s ? atoi(s) : -1;
}

static void say(const char *msg, int n)
{
	int fd = sync_fd();
	if (fd >= 0) {
		if (write(fd, msg, (size_t)n) < 0) {
			/* nothing more to do */
		}
	} else if (write(2, msg, (size_t)n) < 0) {
		/* nothing more to do */
	}
}

#define CGROUP_HINT \
	"the cgroup must exist on every hierarchy and be writable by gorun; check linux.cgroupsPath, or `gorun delete --force` a half-removed container"
#define NS_HINT "the path must name a namespace of a running process (/proc/PID/ns/TYPE) or a bind mount of one"

static void fail(const char *op, const char *field, const char *value, const char *what, int err, const char *hint)
{
	char msg[8192];
	int n;

	/* Values come from gorun's own state: refuse quotes rather than escape;
	 * a path too long for the message is left out. */
	if (strchr(value, '"') || strchr(value, '\\') || strlen(value) > 4096)
		value = "(path)";
	n = snprintf(msg, sizeof(msg),
		     "{\"type\":\"error\",\"error\":{\"op\":\"%s\",\"field\":\"%s\",\"value\":\"%s\",\"msg\":\"%s: %s\",\"hint\":\"%s\"}}\n",
		     op, field, value, what, strerror(err), hint);
	if (n > 0)
		say(msg, n);
	_exit(1);
}

static void nsenter_fail(const char *type, const char *path, const char *what, int err, const char *hint)
{
	char field[64];

	snprintf(field, sizeof(field), "linux.namespaces[%s].path", type);
	fail("join namespaces", field, path, what, err, hint);
}

/*
 * _GORUN_CGROUP_TASKS="FILE\nFILE...": the v1 "tasks" files of the cgroup
 * the process belongs in. Writing "0" into one moves the calling thread,
 * which, while the process has only this one thread, is the whole process;
 * unlike a pid written into cgroup.procs it does not take the kernel's
 * global threadgroup lock, whose first use after an idle spell waits for an
 * RCU grace period (~10 ms). The Go runtime's threads start later, inside.
 */
static void join_cgroup(const char *list)
{
	char buf[8192], *tok, *save = NULL;

	if (strlen(list) >= sizeof(buf))
		fail("join cgroup", "linux.cgroupsPath", "(too long)", "cgroup paths", ENAMETOOLONG, CGROUP_HINT);
	strcpy(buf, list);
	for (tok = strtok_r(buf, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
		int fd = open(tok, O_WRONLY | O_CLOEXEC);

		if (fd < 0)
			fail("join cgroup", "linux.cgroupsPath", tok, "open", errno, CGROUP_HINT);
		if (write(fd, "0", 1) != 1)
			fail("join cgroup", "linux.cgroupsPath", tok, "move into the cgroup", errno, CGROUP_HINT);
		close(fd);
	}
}

/*
 * A child started in a new user namespace without maps (gorun without root,
 * mapping several ids: newuidmap and newgidmap must write them, which they
 * can only do once the process exists) has lost its capabilities at exec,
 * since its uid was not mapped yet. It waits for gorun to say the maps are
 * written, then execs itself again: now root of its namespace, it gets the
 * namespace's full capabilities.
 */
static void wait_for_maps(void)
{
	/* Constructors get no arguments from musl's start-up (glibc passes
	 * argc, argv): the arguments come from /proc/self/cmdline. */
	static char cmdline[4096];
	char *argv[64], c;
	int fd = sync_fd(), cl, n = 0;
	ssize_t len = 0, r;

	unsetenv("_GORUN_WAIT_MAPS");
	if (fd < 0 || read(fd, &c, 1) != 1 || c != 'M')
		nsenter_fail("user", "", "wait for the uid and gid maps", EPROTO, "");
	cl = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (cl < 0)
		nsenter_fail("user", "/proc/self/cmdline", "read own arguments", errno, "");
	while (len < (ssize_t)sizeof(cmdline) - 1 && (r = read(cl, cmdline + len, sizeof(cmdline) - 1 - len)) > 0)
		len += r;
	close(cl);
	for (r = 0; r < len && n < 63; r += (ssize_t)strlen(cmdline + r) + 1)
		argv[n++] = cmdline + r;
	argv[n] = NULL;
	execve("/proc/self/exe", argv, environ);
	nsenter_fail("user", "/proc/self/exe", "exec again once mapped", errno, "");
}

/*
 * The timer slack the process was started with, when raise_timerslack
 * raised it; 0 when it left it alone. Read from Go (timerslack.go), which
 * gives it back to every program gorun starts.
 */
unsigned long gorun_caller_timerslack;

#define GORUN_TIMERSLACK_NS 1000000UL

/*
 * The Go runtime's monitor thread sleeps 20 us at a time while the process
 * is young, so with the default 50 us slack it wakes ~12 times per
 * millisecond, mostly on the CPU where gorun's main thread is working and
 * the container is being set up: ~0.5 ms of a `gorun run` here. With a 1 ms
 * slack the kernel coalesces those wakeups. gorun waits on no short timers
 * of its own, so it loses nothing; the caller's value is restored before
 * anything else runs (the container's process, exec'd processes, hooks,
 * helpers), since the slack is inherited across fork and exec.
 */
static void raise_timerslack(void)
{
	int cur = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);

	if (cur <= 0 || (unsigned long)cur >= GORUN_TIMERSLACK_NS)
		return;
	if (prctl(PR_SET_TIMERSLACK, GORUN_TIMERSLACK_NS, 0, 0, 0) == 0)
		gorun_caller_timerslack = (unsigned long)cur;
}

__attribute__((constructor)) static void gorun_nsenter(void)
{
	const char *spec = getenv("_GORUN_NSENTER"), *tasks;
	char buf[4096], *tok, *save = NULL;
	const char *types[16], *paths[16];
	int fds[16], flags[16], n = 0, i, k;

	/* gorun's child: from its first instruction, no process of the
	 * container may open /proc/PID/exe of it (CVE-2019-5736). */
	if (getenv("_GORUN_SYNC"))
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if ((tasks = getenv("_GORUN_CGROUP_TASKS")) != NULL) {
		join_cgroup(tasks);
		unsetenv("_GORUN_CGROUP_TASKS");
	}
	if (getenv("_GORUN_WAIT_MAPS"))
		wait_for_maps();
	/* After wait_for_maps, which execs the process again. */
	raise_timerslack();
	if (!spec || !*spec)
		return;
	if (strlen(spec) >= sizeof(buf))
		nsenter_fail("?", "(too long)", "namespace paths", ENAMETOOLONG, "");
	strcpy(buf, spec);
	/* Open every namespace before joining any: after joining the mount
	 * namespace, host paths are gone. */
	for (tok = strtok_r(buf, ",", &save); tok && n < 16; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			nsenter_fail("?", tok, "malformed namespace entry", EINVAL, "");
		*eq = '\0';
		for (k = 0; k < (int)(sizeof(kinds) / sizeof(kinds[0])); k++)
			if (!strcmp(tok, kinds[k].type))
				break;
		if (k == (int)(sizeof(kinds) / sizeof(kinds[0])))
			nsenter_fail(tok, eq + 1, "unknown namespace type", EINVAL, "");
		types[n] = kinds[k].type;
		flags[n] = kinds[k].flag;
		paths[n] = eq + 1;
		fds[n] = open(eq + 1, O_RDONLY | O_CLOEXEC);
		if (fds[n] < 0)
			nsenter_fail(types[n], paths[n], "open namespace", errno, NS_HINT);
		n++;
	}
	for (i = 0; i < n; i++) {
		if (setns(fds[i], flags[i]) < 0)
			nsenter_fail(types[i], paths[i], "setns", errno, NS_HINT);
		close(fds[i]);
		if (flags[i] == CLONE_NEWUSER) {
			if (setresgid(0, 0, 0) < 0)
				nsenter_fail(types[i], paths[i], "become gid 0 in the user namespace", errno, "");
			if (setresuid(0, 0, 0) < 0)
				nsenter_fail(types[i], paths[i], "become uid 0 in the user namespace", errno, "");
		}
	}
	unsetenv("_GORUN_NSENTER");
	for (i = 0; i < n; i++) {
		if (flags[i] == CLONE_NEWPID) {
			pid_t child = fork();
			char msg[64];
			int len;

			if (child < 0)
				nsenter_fail("pid", "", "fork into the pid namespace", errno, "");
			if (child == 0)
				return;
			len = snprintf(msg, sizeof(msg), "{\"type\":\"forked\",\"pid\":%d}\n", (int)child);
			say(msg, len);
			_exit(0);
		}
	}
}
