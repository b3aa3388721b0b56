package initproc

import (
	"errors"
	"fmt"
	"os"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/hooks"
	"github.com/gorun/gorun/libcontainer/initmsg"
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
	if c.cfg.NewCgroupNS {
		// The parent put this process in its cgroup first, so the new
		// namespace's root is the container's cgroup.
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
		// A session keyring of its own, so the container cannot read the
		// host's keys.
		if _, err := unix.KeyctlJoinSessionKeyring(c.cfg.ID); err != nil && !errors.Is(err, unix.ENOSYS) {
			return fmt.Errorf("join a new session keyring: %w", err)
		}
	}
	setup := &rootfs.Setup{
		Spec:     s,
		Rootfs:   c.cfg.Rootfs,
		Cgroup:   c.cfg.Cgroup,
		UserNS:   newNamespace(s, rspec.UserNamespace),
		CgroupNS: c.cfg.NewCgroupNS,
	}
	if err := rootfs.Prepare(setup); err != nil {
		return errs.Wrap("prepare rootfs", err)
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
		if console, err = setupConsole(c.cfg.ConsoleFD, s.Process.ConsoleSize, true); err != nil {
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
	// Block until `gorun start` opens the other end.
	fifo, err := os.OpenFile(fifoPath, os.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fatal("open exec fifo", err)
	}
	if _, err := fifo.Write([]byte{'0'}); err != nil {
		return fatal("signal start", err)
	}
	fifo.Close()
	unix.Close(c.cfg.FifoFD)
	if s.Hooks != nil {
		if err := hooks.Run("startContainer", s.Hooks.StartContainer, c.hookState(rspec.StateCreated)); err != nil {
			return fatal("startContainer hooks", err)
		}
	}
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

// writeProcFile writes a file of the container's procfs, refusing to write
// anywhere but a procfs (a /proc that is not one, or a path that a symlink
// redirects off it, fails: CVE-2025-52881).
func writeProcFile(p, v string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("%s is not on a procfs", p)
	}
	_, err = f.WriteString(v)
	return err
}

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
