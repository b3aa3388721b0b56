package initproc

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/moby/sys/userns"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/hooks"
	"github.com/gorun/gorun/libcontainer/initmsg"
	"github.com/gorun/gorun/libcontainer/lsm"
	"github.com/gorun/gorun/libcontainer/rootfs"
)

// newNamespace reports whether the spec asks for a new namespace of type t.
func newNamespace(s *rspec.Spec, t rspec.LinuxNamespaceType) bool {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == t && ns.Path == "" {
			return true
		}
	}
	return false
}

// initContainer sets up a new container and execs its process at start.
func (c *child) initContainer() error {
	s := c.spec
	if err := lsm.Check(s.Process, s.Linux); err != nil {
		return err
	}
	if c.cfg.NewCgroupNS || c.cfg.CgroupMadeLate {
		// Once the parent has put this process in its cgroup, the new
		// namespace's root is the container's cgroup, and the cgroup's
		// directories, bound into the container without one, exist.
		if err := c.waitPlaced(); err != nil {
			return err
		}
	}
	if c.cfg.NewCgroupNS {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("unshare cgroup namespace: %w", err)
		}
	}
	if newNamespace(s, rspec.TimeNamespace) {
		if err := setupTimeNamespace(s.Linux.TimeOffsets); err != nil {
			return err
		}
	}
	if !c.cfg.NoNewKeyring {
		if err := lsm.SetKeyLabel(s.Process); err != nil {
			return err
		}
		// A session keyring of its own, so the container cannot read the
		// host's keys.
		if _, err := unix.KeyctlJoinSessionKeyring(c.cfg.ID); err != nil && !errors.Is(err, unix.ENOSYS) {
			return fmt.Errorf("join a new session keyring: %w", err)
		}
	}
	setup := &rootfs.Setup{
		Spec:   s,
		Rootfs: c.cfg.Rootfs,
		Cgroup: c.cfg.Cgroup,
		// New, joined, or inherited (rootless podman runs the runtime in
		// its own user namespace): no mknod either way.
		UserNS:   newNamespace(s, rspec.UserNamespace) || userns.RunningInUserNS(),
		CgroupNS: c.cfg.NewCgroupNS,
		IDMapped: c.cfg.IDMapped,
	}
	if err := rootfs.Prepare(setup); err != nil {
		return errs.Wrap("prepare rootfs", err)
	}
	if s.Hooks != nil {
		// Hooks see the container's init in its cgroup.
		if err := c.waitPlaced(); err != nil {
			return err
		}
	}
	if s.Hooks != nil && (len(s.Hooks.Prestart) > 0 || len(s.Hooks.CreateRuntime) > 0) {
		if err := c.conn.Send(initmsg.Message{Type: initmsg.RunHooks}); err != nil {
			return err
		}
		if _, err := c.conn.Expect(initmsg.HooksDone); err != nil {
			return err
		}
	}
	if s.Hooks != nil {
		if err := hooks.Run("createContainer", s.Hooks.CreateContainer, c.hookState(rspec.StateCreating)); err != nil {
			return err
		}
	}
	enter := rootfs.PivotRoot
	if c.cfg.NoPivot {
		enter = rootfs.MoveRoot
	}
	if err := enter(c.cfg.Rootfs); err != nil {
		return &errs.Error{Op: "enter rootfs", Field: "root.path", Value: c.cfg.Rootfs, Err: err}
	}
	var console *os.File
	if s.Process.Terminal {
		var err error
		if console, err = setupConsole(c.cfg.ConsoleFD, s.Process.ConsoleSize, true, s.Process.User.UID); err != nil {
			return err
		}
	}
	if err := setHostnames(s); err != nil {
		return err
	}
	if err := writeSysctls(s.Linux.Sysctl); err != nil {
		return err
	}
	if err := rootfs.ReadonlyPaths(s.Linux.ReadonlyPaths); err != nil {
		return err
	}
	if err := rootfs.MaskPaths(s.Linux.MaskedPaths); err != nil {
		return err
	}
	if s.Root.Readonly {
		if err := rootfs.ReadonlyRoot(); err != nil {
			return err
		}
	}
	// Last of the mount work: "unbindable" would stop the binds above.
	if err := rootfs.ApplyPropagation(s.Linux.RootfsPropagation); err != nil {
		return err
	}
	// Open the exec fifo's write side through the O_PATH fd the parent
	// passed, before the process loses its privileges.
	fifoPath := fmt.Sprintf("/proc/self/fd/%d", c.cfg.FifoFD)
	target, err := c.prepareProcess(s.Process)
	if err != nil {
		return err
	}
	if console != nil {
		console.Close()
	}
	if err := c.ready(); err != nil {
		return err
	}
	// The init may wait for start a long time: its copy of gorun's code
	// need not stay resident meanwhile.
	releaseImage()
	// Block until `gorun start` opens the other end.
	fifo, err := os.OpenFile(fifoPath, os.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fatal("open exec fifo", err)
	}
	unix.Close(c.cfg.FifoFD)
	// `start` is waiting: its startContainer hooks run now, and it hears
	// of their failure.
	if s.Hooks != nil {
		if err := hooks.Run("startContainer", s.Hooks.StartContainer, c.hookState(rspec.StateCreated)); err != nil {
			fifo.Write([]byte(string(initmsg.FifoFailed) + err.Error()))
			return fatal("startContainer hooks", err)
		}
	}
	if _, err := fifo.Write([]byte{initmsg.FifoStarted}); err != nil {
		return fatal("signal start", err)
	}
	// The write end stays open until exec closes it (O_CLOEXEC): `start`
	// waits for that, so its poststart hooks run after the program started.
	return fatal("exec", target.exec())
}

// fatal reports an error that happens after the parent has gone: the
// container's stderr is the only place left to say it.
func fatal(what string, err error) error {
	fmt.Fprintf(os.Stderr, "gorun: %s: %v\n", what, err)
	os.Exit(127)
	return err
}

func setHostnames(s *rspec.Spec) error {
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return &errs.Error{Field: "hostname", Value: s.Hostname, Err: err}
		}
	}
	if s.Domainname != "" {
		if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
			return &errs.Error{Field: "domainname", Value: s.Domainname, Err: err}
		}
	}
	return nil
}

// writeSysctls writes linux.sysctl through the container's own /proc/sys.
func writeSysctls(sysctl map[string]string) error {
	for k, v := range sysctl {
		p := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
		if err := writeProcFile(p, v); err != nil {
			return &errs.Error{Field: "linux.sysctl", Value: k, Err: err, Hint: "the key must exist and be namespaced"}
		}
	}
	return nil
}

// writeProcFile writes a file of the container's procfs. It opens the file
// beneath the root of the procfs at /proc without crossing a mount point
// and without magic links: a /proc that is not a procfs (CVE-2019-16884,
// CVE-2019-19921), or a file that a bind mount covers — a host file, or
// another procfs file such as a host process's — fails, rather than taking
// a write meant for the container (CVE-2025-52881).
func writeProcFile(p, v string) error {
	rel, ok := strings.CutPrefix(p, "/proc/")
	if !ok {
		return fmt.Errorf("%s is not under /proc", p)
	}
	proc, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /proc: %w", err)
	}
	defer unix.Close(proc)
	var sfs unix.Statfs_t
	var st unix.Stat_t
	if err := unix.Fstatfs(proc, &sfs); err != nil {
		return err
	}
	if err := unix.Fstat(proc, &st); err != nil {
		return err
	}
	if sfs.Type != unix.PROC_SUPER_MAGIC || st.Ino != procRootIno {
		return fmt.Errorf("%s: /proc is not the root of a procfs", p)
	}
	fd, err := unix.Openat2(proc, rel, &unix.OpenHow{
		Flags:   unix.O_WRONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.EXDEV) {
		return fmt.Errorf("%s is covered by a mount: refusing to write through it", p)
	}
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	_, err = f.WriteString(v)
	return err
}

// procRootIno is the inode number of a procfs's root directory.
const procRootIno = 1

func setupTimeNamespace(offsets map[string]rspec.LinuxTimeOffset) error {
	if err := unix.Unshare(unix.CLONE_NEWTIME); err != nil {
		return &errs.Error{Field: "linux.namespaces", Value: "time", Err: err, Hint: "this kernel has no time namespaces; remove it"}
	}
	for clock, off := range offsets {
		if err := writeProcFile("/proc/self/timens_offsets", fmt.Sprintf("%s %d %d", clock, off.Secs, off.Nanosecs)); err != nil {
			return &errs.Error{Field: "linux.timeOffsets", Value: clock, Err: err}
		}
	}
	return nil
}
