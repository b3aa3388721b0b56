package specs

import (
	"runtime"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// DefaultSeccomp returns the seccomp profile `gorun spec` writes: a list of
// allowed syscalls, refusing the rest with EPERM. In spirit it is the
// common container default: what ordinary programs need is allowed; what
// reaches past the container is not, for a container with the default
// capabilities (no CAP_SYS_ADMIN): mount and the new mount API, unshare,
// setns and clone with namespace flags (no user namespaces), keyctl and
// the key syscalls (the kernel keyring is not namespaced), bpf,
// perf_event_open, userfaultfd, io_uring, kernel modules, kexec, reboot,
// swap, the clocks, quotactl, open_by_handle_at (the "shocker" escape),
// syslog, personality beyond the usual personas, and ptrace on kernels
// before 4.8, where ptrace could bypass seccomp.
//
// Syscall names this libseccomp does not know are skipped when the filter
// is built, so the list names the syscalls of every architecture.
func DefaultSeccomp() *rspec.LinuxSeccomp {
	allowed := defaultSyscalls()
	if kernelAtLeast(4, 8) {
		allowed = append(allowed, "ptrace", "process_vm_readv", "process_vm_writev")
	}
	enosys := uint(unix.ENOSYS)
	cloneFlagsArg := uint(0)
	if runtime.GOARCH == "s390x" {
		cloneFlagsArg = 1 // clone's first two arguments are swapped there
	}
	sc := &rspec.LinuxSeccomp{
		DefaultAction: rspec.ActErrno,
		Architectures: defaultArchs(),
		Syscalls: []rspec.LinuxSyscall{
			{Names: allowed, Action: rspec.ActAllow},
			// clone only without namespace flags (CLONE_NEWNS,
			// NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET).
			{Names: []string{"clone"}, Action: rspec.ActAllow, Args: []rspec.LinuxSeccompArg{{
				Index: cloneFlagsArg, Value: namespaceCloneFlags, ValueTwo: 0, Op: rspec.OpMaskedEqual,
			}}},
			// clone3 passes its flags in memory, out of seccomp's reach:
			// ENOSYS makes the C library fall back to clone.
			{Names: []string{"clone3"}, Action: rspec.ActErrno, ErrnoRet: &enosys},
		},
	}
	// personality: Linux, Linux32, UNAME26 and the query only. Rules on the
	// same argument match any of them.
	var personas []rspec.LinuxSeccompArg
	for _, p := range []uint64{0x0, 0x0008, 0x20000, 0x20008, 0xffffffff} {
		personas = append(personas, rspec.LinuxSeccompArg{Index: 0, Value: p, Op: rspec.OpEqualTo})
	}
	sc.Syscalls = append(sc.Syscalls, rspec.LinuxSyscall{Names: []string{"personality"}, Action: rspec.ActAllow, Args: personas})
	return sc
}

const namespaceCloneFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

func defaultArchs() []rspec.Arch {
	switch runtime.GOARCH {
	case "amd64":
		return []rspec.Arch{rspec.ArchX86_64, rspec.ArchX86, rspec.ArchX32}
	case "386":
		return []rspec.Arch{rspec.ArchX86}
	case "arm64":
		return []rspec.Arch{rspec.ArchAARCH64, rspec.ArchARM}
	case "arm":
		return []rspec.Arch{rspec.ArchARM}
	case "ppc64le":
		return []rspec.Arch{rspec.ArchPPC64LE}
	case "s390x":
		return []rspec.Arch{rspec.ArchS390X, rspec.ArchS390}
	case "riscv64":
		return []rspec.Arch{rspec.ArchRISCV64}
	}
	return nil
}

// kernelAtLeast reports whether the running kernel is at least
// major.minor (false if uname cannot tell).
func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return false
	}
	var ma, mi int
	rel := unix.ByteSliceToString(u.Release[:])
	i := 0
	for ; i < len(rel) && rel[i] >= '0' && rel[i] <= '9'; i++ {
		ma = ma*10 + int(rel[i]-'0')
	}
	if i < len(rel) && rel[i] == '.' {
		for i++; i < len(rel) && rel[i] >= '0' && rel[i] <= '9'; i++ {
			mi = mi*10 + int(rel[i]-'0')
		}
	}
	return ma > major || ma == major && mi >= minor
}

// defaultSyscalls are allowed without conditions, grouped by what they are
// for. A function, not a variable: only `gorun spec` needs the list.
func defaultSyscalls() []string {
	return concat(
		// Files: reading, writing, descriptors.
		[]string{
			"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
			"preadv2", "pwritev2", "open", "openat", "openat2", "creat", "close", "close_range",
			"lseek", "_llseek", "dup", "dup2", "dup3", "pipe", "pipe2", "fcntl", "fcntl64",
			"ioctl", "flock", "fsync", "fdatasync", "sync", "syncfs", "sync_file_range",
			"sync_file_range2", "fallocate", "ftruncate", "ftruncate64", "truncate", "truncate64",
			"sendfile", "sendfile64", "splice", "tee", "vmsplice", "copy_file_range", "readahead",
			"fadvise64", "fadvise64_64", "arm_fadvise64_64", "memfd_create",
		},
		// Files: names and metadata.
		[]string{
			"stat", "stat64", "fstat", "fstat64", "lstat", "lstat64", "newfstatat", "fstatat64",
			"statx", "statfs", "statfs64", "fstatfs", "fstatfs64", "access", "faccessat",
			"faccessat2", "readlink", "readlinkat", "getdents", "getdents64", "getcwd", "chdir",
			"fchdir", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "chown32", "fchown",
			"fchown32", "fchownat", "lchown", "lchown32", "utime", "utimes", "utimensat",
			"utimensat_time64", "futimesat", "umask", "mkdir", "mkdirat", "rmdir", "rename",
			"renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "unlink", "unlinkat",
			"mknod", "mknodat", "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr",
			"fsetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr",
			"fremovexattr", "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
		},
		// Processes, threads, signals, credentials, scheduling.
		[]string{
			"execve", "execveat", "exit", "exit_group", "fork", "vfork", "wait4", "waitid", "waitpid",
			"kill", "tkill", "tgkill", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigreturn",
			"rt_sigpending", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_sigqueueinfo",
			"rt_tgsigqueueinfo", "rt_sigsuspend", "sigaltstack", "signalfd", "signalfd4", "pause",
			"alarm", "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid",
			"getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32",
			"getresuid", "getresuid32", "getresgid", "getresgid32", "getgroups", "getgroups32",
			"setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid",
			"setregid32", "setresuid", "setresuid32", "setresgid", "setresgid32", "setgroups",
			"setgroups32", "setfsuid", "setfsuid32", "setfsgid", "setfsgid32", "capget", "capset",
			"prctl", "arch_prctl", "set_tid_address", "set_robust_list", "get_robust_list",
			"futex", "futex_time64", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue",
			"rseq", "membarrier", "restart_syscall", "seccomp", "set_thread_area", "get_thread_area",
			"modify_ldt", "set_tls", "sched_yield", "sched_getaffinity", "sched_setaffinity",
			"sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
			"sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval",
			"sched_rr_get_interval_time64", "sched_getattr", "sched_setattr", "getpriority",
			"setpriority", "ioprio_get", "ioprio_set", "getrlimit", "setrlimit", "prlimit64",
			"ugetrlimit", "getrusage", "times", "uname", "sysinfo", "getcpu", "pidfd_open",
			"pidfd_getfd", "pidfd_send_signal", "process_mrelease", "landlock_create_ruleset",
			"landlock_add_rule", "landlock_restrict_self",
		},
		// Memory.
		[]string{
			"brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "pkey_alloc", "pkey_free",
			"pkey_mprotect", "madvise", "process_madvise", "mlock", "mlock2", "munlock", "mlockall",
			"munlockall", "mincore", "msync", "remap_file_pages", "map_shadow_stack", "mseal",
			"cachestat",
		},
		// Time (reading it, sleeping, timers; setting the clocks is refused).
		[]string{
			"clock_gettime", "clock_gettime64", "clock_getres", "clock_getres_time64",
			"clock_nanosleep", "clock_nanosleep_time64", "gettimeofday", "time", "nanosleep",
			"getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun",
			"timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
			"timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
			"timerfd_settime64",
		},
		// Waiting on descriptors, events, asynchronous I/O (not io_uring).
		[]string{
			"select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll", "ppoll_time64",
			"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
			"eventfd", "eventfd2", "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents",
			"io_pgetevents", "io_pgetevents_time64", "getrandom",
		},
		// System V and POSIX IPC (namespaced).
		[]string{
			"shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop",
			"semtimedop_time64", "semctl", "msgget", "msgsnd", "msgrcv", "msgctl", "ipc", "mq_open",
			"mq_unlink", "mq_timedsend", "mq_timedsend_time64", "mq_timedreceive",
			"mq_timedreceive_time64", "mq_notify", "mq_getsetattr",
		},
		// Sockets.
		[]string{
			"socket", "socketpair", "bind", "connect", "listen", "accept", "accept4", "getsockname",
			"getpeername", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
			"recvmmsg_time64", "shutdown", "setsockopt", "getsockopt", "socketcall", "send", "recv",
		},
		// Architecture helpers.
		[]string{"breakpoint", "cacheflush", "riscv_flush_icache", "riscv_hwprobe"},
	)
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
