package libcontainer

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/cgroups"
	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/hooks"
	"github.com/gorun/gorun/libcontainer/initmsg"
	"github.com/gorun/gorun/libcontainer/state"
)

// Start releases the init of a created container to exec the user's
// program, then runs the poststart hooks.
func (c *Container) Start() error {
	lock, err := c.lock()
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if status := c.Status(); status != rspec.StateCreated {
		return wrongState(c.st.ID, status, "only a created container can be started")
	}
	fifoPath := filepath.Join(c.store.Dir(c.st.ID), state.FifoName)
	if err := c.awaitFifo(fifoPath); err != nil {
		return err
	}
	os.Remove(fifoPath)
	if h := c.st.Hooks; h != nil {
		if err := hooks.Run("poststart", h.Poststart, c.hookState(rspec.StateRunning)); err != nil {
			// runtime-spec: an error, and the container stopped.
			signalInit(c.st.InitPid, c.st.InitStart, unix.SIGKILL)
			return err
		}
	}
	return nil
}

// awaitFifo opens the read side of the exec fifo and waits until the init
// has run the startContainer hooks, written its byte and exec'd the user's
// program: the init keeps its write end open (close-on-exec), so
// end-of-file after the byte means the program runs. Only then are the
// poststart hooks due. A failed hook comes back as initmsg.FifoFailed and the
// error's text.
func (c *Container) awaitFifo(path string) error {
	// The pidfd first: opening the fifo releases the init, whose program
	// may run and exit before a pidfd opened afterwards finds it (start
	// then failed for a program that ran).
	pidfd, err := openPidfd(c.st.InitPid, c.st.InitStart)
	if err != nil {
		return err
	}
	if pidfd < 0 {
		return &errs.Error{Field: "container " + c.st.ID, Err: errInitGone, Hint: "its stderr says why; `gorun delete` removes it"}
	}
	defer unix.Close(pidfd)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer unix.Close(fd)
	released := false
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if fds[0].Revents&(unix.POLLIN|unix.POLLHUP) != 0 {
			var b [4096]byte
			n, err := unix.Read(fd, b[:])
			switch {
			case n > 0 && b[0] == initmsg.FifoFailed:
				// The init could not go on (a startContainer hook
				// failed) and said why before it exited.
				return errors.New(string(b[1:n]))
			case n > 0:
				released = true
				continue
			case n == 0 && err == nil && released:
				return nil // the init exec'd
			case n == 0 && err == nil:
				return &errs.Error{Field: "container " + c.st.ID, Err: errInitGone, Hint: "its stderr says why; `gorun delete` removes it"}
			}
		}
		if fds[1].Revents != 0 {
			if released {
				return nil // released, then exited: the program ran
			}
			return &errs.Error{Field: "container " + c.st.ID, Err: errInitGone, Hint: "its stderr says why; `gorun delete` removes it"}
		}
	}
}

// Wait waits for the init of a container this process created (gorun run)
// and returns its wait status. It reaps every other child that exits
// meanwhile too: orphans of the container, reparented to this process when
// it is their subreaper, would otherwise stay zombies until it exits. So
// nothing else of this process may wait for a child while Wait runs.
func (c *Container) Wait() (unix.WaitStatus, error) {
	if c.initPid == 0 {
		return 0, errors.New("not the parent of this container's init")
	}
	var ws unix.WaitStatus
	for {
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return ws, err
		case pid == c.initPid:
			return ws, nil
		}
	}
}

// Delete removes a container: its processes (with force, or when it never
// started), its cgroup on every hierarchy, and its state; then it runs the
// poststop hooks.
func (c *Container) Delete(force bool) error {
	lock, err := c.lock()
	if err != nil {
		return err
	}
	defer lock.Unlock()
	status := c.Status()
	if (status == rspec.StateRunning || status == statePaused) && !force {
		return wrongState(c.st.ID, status, "stop it first (`gorun kill`) or use `gorun delete --force`")
	}
	if status != rspec.StateStopped {
		signalInit(c.st.InitPid, c.st.InitStart, unix.SIGKILL)
	}
	var cg cgroups.Manager
	if c.st.Cgroup != "" {
		if cg, err = c.loadCgroup(); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if cg == nil && c.st.SystemdUnit != "" {
		// The cgroup is gone; systemd may still hold the unit, failed.
		if err := cgroups.ReleaseSystemdUnit(c.systemdUnit()); err != nil {
			slog.Warn("systemd cgroup driver: cannot stop the container's unit", "unit", c.st.SystemdUnit, "err", err)
		}
	}
	if cg != nil {
		// Whatever else lives in the cgroup (exec'd processes, or all of
		// them when there is no pid namespace) goes too.
		if pids, _ := cg.Pids(); len(pids) > 0 {
			for _, p := range pids {
				unix.Kill(p, unix.SIGKILL)
			}
			cg.Thaw()
		}
	}
	if err := waitExit(c.st.InitPid, c.st.InitStart, 10*time.Second); err != nil {
		return err
	}
	if cg != nil {
		if err := destroyCgroup(cg); err != nil {
			return &errs.Error{Field: "linux.cgroupsPath", Value: c.st.Cgroup, Err: err, Hint: "a process is still in the cgroup; retry `gorun delete --force`"}
		}
		cgroups.RemoveEmptyParents(c.st.Cgroup)
	}
	if h := c.st.Hooks; h != nil {
		if err := hooks.RunAll("poststop", h.Poststop, c.hookState(rspec.StateStopped)); err != nil {
			slog.Warn(err.Error())
		}
	}
	return c.store.Remove(c.st.ID)
}

// destroyCgroup removes the cgroup, killing stragglers until it is empty.
func destroyCgroup(cg cgroups.Manager) error {
	var err error
	for i := 0; i < 100; i++ {
		if err = cg.Destroy(); err == nil {
			return nil
		}
		pids, _ := cg.Pids()
		for _, p := range pids {
			unix.Kill(p, unix.SIGKILL)
		}
		time.Sleep(time.Duration(i+1) * time.Millisecond)
	}
	return err
}

// ForceRemove cleans up a container whose state is missing or corrupt: a
// create that died half way, or a damaged state.json. It kills and removes
// the container's cgroup (from the recorded config.json, else the default
// place) and the state directory.
func ForceRemove(root, id string) error {
	store := state.Store{Root: root}
	if _, err := os.Stat(store.Dir(id)); err != nil {
		return &errs.Error{Field: "container id", Value: id, Err: errs.ErrNotExist}
	}
	// The config recorded beside the state names the cgroup; without it,
	// only the default place can be tried.
	cgroupsPath := ""
	if spec, err := store.LoadSpec(id); err == nil && spec.Linux != nil {
		cgroupsPath = spec.Linux.CgroupsPath
	}
	if p, err := cgroups.ResolvePath(cgroupsPath, id); err == nil {
		if cg, err := cgroups.Load(p); err == nil {
			destroyCgroup(cg)
		}
		cgroups.RemoveEmptyParents(p)
	}
	// Or, made with --systemd-cgroup, the scope recorded beside the state.
	if u := store.LoadSystemdUnit(id); u != nil {
		if cg, err := cgroups.LoadSystemd(*u); err == nil {
			destroyCgroup(cg)
		} else if errors.Is(err, os.ErrNotExist) {
			cgroups.ReleaseSystemdUnit(*u)
		}
	}
	return store.Remove(id)
}
