package initproc

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/caps"
	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/lsm"
	"github.com/gorun/gorun/libcontainer/nsenter"
	"github.com/gorun/gorun/libcontainer/seccomp"
)

// rlimitByName maps process.rlimits[].type to its resource number.
var rlimitByName = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}

// target is a program ready to be exec'd.
type target struct {
	path string
	args []string
	env  []string
	// seccomp is loaded by exec, last, unless prepareProcess had to load
	// it already (then nil).
	seccomp *seccomp.Program
	c       *child
}

func (t *target) exec() error {
	if t.seccomp != nil {
		if err := t.c.loadSeccomp(t.seccomp); err != nil {
			return err
		}
	}
	err := unix.Exec(t.path, t.args, t.env)
	return &errs.Error{Field: "process.args[0]", Value: t.args[0], Err: err}
}

// prepareProcess applies everything of process that is not the exec
// itself: rlimits, oomScoreAdj, scheduling (see schedule), AppArmor and
// SELinux exec labels, user and groups, capabilities, umask, cwd,
// no_new_privileges, the fds the process keeps. The seccomp filter (compiled by the parent) is loaded by the
// target just before the exec (or, without no_new_privileges, prepareProcess loads before the
// process drops CAP_SYS_ADMIN). It finds the program to run and returns it.
// It runs in the container, after pivot_root.
func (c *child) prepareProcess(p *rspec.Process) (*target, error) {
	// gorun runs with a raised timer slack; the process gets its caller's.
	if err := nsenter.RestoreTimerSlack(); err != nil {
		return nil, fmt.Errorf("restore the timer slack: %w", err)
	}
	for i, rl := range p.Rlimits {
		res, ok := rlimitByName[rl.Type]
		if !ok {
			return nil, errs.Field(fmt.Sprintf("process.rlimits[%d].type", i), rl.Type, "use a name such as RLIMIT_NOFILE", "unknown rlimit")
		}
		lim := unix.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		if err := unix.Prlimit(0, res, &lim, nil); err != nil {
			hint := ""
			if errors.Is(err, unix.EPERM) {
				hint = "raising a hard limit needs CAP_SYS_RESOURCE, which gorun does not hold here; keep it at or below the current hard limit"
			}
			return nil, &errs.Error{Field: fmt.Sprintf("process.rlimits[%d]", i), Value: fmt.Sprintf("%s %d/%d", rl.Type, rl.Soft, rl.Hard), Err: err, Hint: hint}
		}
	}
	if p.OOMScoreAdj != nil {
		if err := writeProcFile("/proc/self/oom_score_adj", strconv.Itoa(*p.OOMScoreAdj)); err != nil {
			hint := ""
			if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
				hint = "lowering it needs CAP_SYS_RESOURCE, which gorun does not hold here"
			}
			return nil, &errs.Error{Field: "process.oomScoreAdj", Value: strconv.Itoa(*p.OOMScoreAdj), Err: err, Hint: hint}
		}
	}
	if err := c.schedule(p); err != nil {
		return nil, err
	}
	// AppArmor and SELinux labels take effect at the exec.
	if err := lsm.ApplyExec(p); err != nil {
		return nil, err
	}
	filter := c.cfg.Seccomp
	set, err := caps.New(p.Capabilities)
	if err != nil {
		return nil, err
	}
	if err := set.ApplyBounding(); err != nil {
		return nil, errs.Wrap("process.capabilities.bounding", err)
	}
	if filter != nil && !p.NoNewPrivileges {
		// Without no_new_privileges, loading a filter needs CAP_SYS_ADMIN:
		// load it before the process gives that up. The rest of the setup
		// then runs under the filter.
		if err := c.loadSeccomp(filter); err != nil {
			return nil, err
		}
		filter = nil
	}
	if err := ownStdio(p.User); err != nil {
		return nil, err
	}
	if err := setUser(p.User); err != nil {
		return nil, err
	}
	if err := set.Apply(); err != nil {
		return nil, &errs.Error{Field: "process.capabilities", Err: err}
	}
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask))
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if err := unix.Chdir(cwd); err != nil {
		return nil, &errs.Error{Field: "process.cwd", Value: cwd, Err: err, Hint: "the directory must exist in the rootfs and be reachable by the process's user"}
	}
	if err := verifyCwd(); err != nil {
		return nil, err
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return nil, &errs.Error{Field: "process.noNewPrivileges", Value: "true", Err: err}
		}
	}
	env := withHome(p.Env, p.User.UID)
	prog, err := lookPath(p.Args[0], env)
	if err != nil {
		return nil, &errs.Error{Field: "process.args[0]", Value: p.Args[0], Err: err, Hint: "the program must exist in the container and be executable"}
	}
	if err := closeExtraFds(3 + c.cfg.PreserveFDs); err != nil {
		return nil, err
	}
	return &target{path: prog, args: p.Args, env: env, seccomp: filter, c: c}, nil
}

// verifyCwd checks that the working directory is inside the container's
// root. A cwd reached through a host fd (CVE-2024-21626: process.cwd
// "/proc/self/fd/N" naming a leaked host directory) shows as "(unreachable)".
func verifyCwd() error {
	wd, err := unix.Getwd()
	if err != nil || !strings.HasPrefix(wd, "/") {
		return errs.Field("process.cwd", wd, "use a directory inside the container", "working directory is outside the container's root")
	}
	return nil
}

// ownStdio gives the process's user its standard streams when they are
// pipes or sockets (what containerd's shim and conmon pass), so that a
// process that is not root can reopen them: /dev/stdout is
// /proc/self/fd/1, and a caller's pipe is mode 0600. Files and terminals
// of the host are never re-owned, and a stream gorun may not change
// (another user's, seen from a user namespace) is left as it is: the
// process still writes through the inherited fd.
func ownStdio(u rspec.User) error {
	for fd := 0; fd <= 2; fd++ {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			if errors.Is(err, unix.EBADF) {
				continue
			}
			return fmt.Errorf("stat fd %d: %w", fd, err)
		}
		kind := st.Mode & unix.S_IFMT
		if (kind != unix.S_IFIFO && kind != unix.S_IFSOCK) || st.Uid == u.UID {
			continue
		}
		err := unix.Fchown(fd, int(u.UID), -1)
		switch {
		case err == nil, errors.Is(err, unix.EPERM), errors.Is(err, unix.EINVAL):
		default:
			return fmt.Errorf("give fd %d to uid %d: %w", fd, u.UID, err)
		}
	}
	return nil
}

// threadSetres sets the real, effective and saved uid (SYS_SETRESUID) or
// gid (SYS_SETRESGID) of this thread only: the one that execs, where the
// groups (setgroups(2) is per thread too) and capabilities are set as well.
// syscall.Setresuid changes every thread of the process, through the C
// library's signal round trip to each: ~1 ms here for the two calls. The
// other threads are the Go runtime's own and end at the exec.
func threadSetres(nr uintptr, id uint32) error {
	if _, _, e := unix.RawSyscall(nr, uintptr(id), uintptr(id), uintptr(id)); e != 0 {
		return e
	}
	return nil
}

// setUser sets groups, gid and uid. PR_SET_KEEPCAPS keeps the permitted
// capabilities across the uid change, so caps.Set.Apply can set them after.
func setUser(u rspec.User) error {
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return err
	}
	gids := make([]int, len(u.AdditionalGids))
	for i, g := range u.AdditionalGids {
		gids[i] = int(g)
	}
	if len(gids) > 0 || setgroupsAllowed() {
		if err := unix.Setgroups(gids); err != nil {
			return &errs.Error{Field: "process.user.additionalGids", Value: fmt.Sprint(u.AdditionalGids), Err: err, Hint: "each gid must be mapped in the container's user namespace"}
		}
	}
	if err := threadSetres(unix.SYS_SETRESGID, u.GID); err != nil {
		return &errs.Error{Field: "process.user.gid", Value: strconv.Itoa(int(u.GID)), Err: err, Hint: "the gid must be mapped in the container's user namespace"}
	}
	if err := threadSetres(unix.SYS_SETRESUID, u.UID); err != nil {
		return &errs.Error{Field: "process.user.uid", Value: strconv.Itoa(int(u.UID)), Err: err, Hint: "the uid must be mapped in the container's user namespace"}
	}
	return unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0)
}

func setgroupsAllowed() bool {
	b, err := os.ReadFile("/proc/self/setgroups")
	return err != nil || strings.TrimSpace(string(b)) != "deny"
}

// withHome adds HOME from the container's /etc/passwd when the config sets
// none, as runc does.
func withHome(env []string, uid uint32) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "HOME=") {
			return env
		}
	}
	home := "/"
	if f, err := os.Open("/etc/passwd"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Split(sc.Text(), ":")
			if len(fields) >= 6 && fields[2] == strconv.Itoa(int(uid)) {
				home = fields[5]
				break
			}
		}
		f.Close()
	}
	return append(env[:len(env):len(env)], "HOME="+home)
}

// lookPath finds prog with the container's PATH, as execvp would.
func lookPath(prog string, env []string) (string, error) {
	if strings.Contains(prog, "/") {
		return prog, executable(prog)
	}
	pathEnv := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			pathEnv = e[5:]
		}
	}
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		p := path.Join(dir, prog)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("executable file not found in $PATH (%s)", pathEnv)
}

func executable(p string) error {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return errors.New("is a directory")
	}
	if err := unix.Faccessat(unix.AT_FDCWD, p, unix.X_OK, unix.AT_EACCESS); err != nil {
		return fmt.Errorf("not executable: %w", err)
	}
	return nil
}

// closeExtraFds marks every fd from first on close-on-exec, so the process
// gets only its stdio and the preserved fds: no host fd reaches it
// (CVE-2024-21626).
func closeExtraFds(first int) error {
	if err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("mark fds close-on-exec: %w", err)
	}
	return nil
}
