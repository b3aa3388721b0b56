// Package libcontainer runs OCI containers: it creates a container from a
// validated runtime-spec config, starts it, signals it, reports its state
// and deletes it, keeping what it knows in a state directory under --root.
// The parent side lives here; the child side (the init that runs inside the
// namespaces) is package initproc.
package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/cgroups"
	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/smallfile"
	"github.com/gorun/gorun/libcontainer/state"
)

// Container is one container under a state root.
type Container struct {
	store state.Store
	st    *state.State
	// initPid is set when this process created the container (for
	// `run`): it can wait for the init.
	initPid int
	// spec is the container's config, read from the store when needed.
	spec *rspec.Spec
}

// statePaused is the status of a container whose cgroup is frozen
// (runc's; runtime-spec has no word for it).
const statePaused rspec.ContainerState = "paused"

// ID returns the container's id.
func (c *Container) ID() string { return c.st.ID }

// Pid returns the host pid of the container's init.
func (c *Container) Pid() int { return c.st.InitPid }

// Spec returns the container's config.
func (c *Container) Spec() (*rspec.Spec, error) {
	if c.spec == nil {
		s, err := c.store.LoadSpec(c.st.ID)
		if err != nil {
			return nil, err
		}
		c.spec = s
	}
	return c.spec, nil
}

// BaseProcess returns the process of the container's config: the defaults
// of a process `gorun exec` starts from its command line. Only that part of
// the config is decoded: encoding/json builds its field tables (and
// encoders) for every type reachable from what it decodes into, and for
// the whole runtime-spec that cost each exec ~0.6 ms.
func (c *Container) BaseProcess() (*rspec.Process, error) {
	if c.spec != nil {
		return c.spec.Process, nil
	}
	var part struct {
		Process *rspec.Process `json:"process,omitempty"`
	}
	if err := c.store.LoadSpecInto(c.st.ID, &part); err != nil {
		return nil, err
	}
	if part.Process == nil {
		return nil, errs.Field("process", "", "give the process with --process", "the container's config has no process")
	}
	return part.Process, nil
}

// execLinux is what an exec'd process takes from the config's linux
// section.
type execLinux struct {
	Seccomp      *rspec.LinuxSeccomp      `json:"seccomp,omitempty"`
	Personality  *rspec.LinuxPersonality  `json:"personality,omitempty"`
	MemoryPolicy *rspec.LinuxMemoryPolicy `json:"memoryPolicy,omitempty"`
}

// execLinux reads those fields of the container's config, and nothing
// else of it.
func (c *Container) execLinux() (*execLinux, error) {
	if c.spec != nil {
		if l := c.spec.Linux; l != nil {
			return &execLinux{Seccomp: l.Seccomp, Personality: l.Personality, MemoryPolicy: l.MemoryPolicy}, nil
		}
		return &execLinux{}, nil
	}
	var part struct {
		Linux *execLinux `json:"linux,omitempty"`
	}
	if err := c.store.LoadSpecInto(c.st.ID, &part); err != nil {
		return nil, err
	}
	if part.Linux == nil {
		return &execLinux{}, nil
	}
	return part.Linux, nil
}

// Load opens the container id under root.
func Load(root, id string) (*Container, error) {
	s := state.Store{Root: root}
	st, err := s.Load(id)
	if err != nil {
		return nil, err
	}
	return &Container{store: s, st: st}, nil
}

// lock takes the container's lock and reads its state again under it:
// another gorun may have started, updated or deleted the container while
// this one waited for the lock.
func (c *Container) lock() (*state.Lock, error) {
	l, err := c.store.Lock(c.st.ID)
	if err != nil {
		return nil, err
	}
	st, err := c.store.Load(c.st.ID)
	if err != nil {
		l.Unlock()
		return nil, err
	}
	c.st = st
	return l, nil
}

// Status is the container's runtime-spec status now.
func (c *Container) Status() rspec.ContainerState {
	if c.st.InitPid == 0 {
		// Recorded, but create has not finished: it is still under way
		// if it holds the container's lock, and died otherwise.
		if c.store.Locked(c.st.ID) {
			return rspec.StateCreating
		}
		return rspec.StateStopped
	}
	if !alive(c.st.InitPid, c.st.InitStart) {
		return rspec.StateStopped
	}
	if c.st.Cgroup != "" && frozen(c.st.Cgroup) {
		return statePaused
	}
	if _, err := os.Lstat(filepath.Join(c.store.Dir(c.st.ID), state.FifoName)); err == nil {
		return rspec.StateCreated
	}
	return rspec.StateRunning
}

// State is what `gorun state` prints: the runtime-spec state plus runc's
// rootfs, created and owner fields.
type State struct {
	rspec.State
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
}

// State returns the container's state now.
func (c *Container) State() *State {
	st := &State{
		State: rspec.State{
			Version:     rspec.Version,
			ID:          c.st.ID,
			Status:      c.Status(),
			Bundle:      c.st.Bundle,
			Annotations: c.st.Annotations,
		},
		Rootfs:  c.st.Rootfs,
		Created: c.st.Created,
		Owner:   c.st.Owner,
	}
	if st.Status != rspec.StateStopped {
		st.Pid = c.st.InitPid
	}
	return st
}

func (c *Container) hookState(status rspec.ContainerState) *rspec.State {
	s := c.State().State
	s.Status = status
	s.Pid = c.st.InitPid
	return &s
}

// List returns the state of every container under root. A container whose
// state cannot be read is skipped: list never fails because one directory
// is half written.
func List(root string) ([]*State, error) {
	s := state.Store{Root: root}
	ids, err := s.IDs()
	if err != nil {
		return nil, &errs.Error{Field: "--root", Value: root, Err: err}
	}
	// Each container costs a state file, its init's /proc stat and its
	// freezer state: the reads are spread over the CPUs (in id order).
	states := make([]*State, len(ids))
	workers := min(runtime.GOMAXPROCS(0), (len(ids)+15)/16)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(ids); i += workers {
				if st, err := s.Load(ids[i]); err == nil {
					states[i] = (&Container{store: s, st: st}).State()
				}
			}
		}()
	}
	wg.Wait()
	out := make([]*State, 0, len(ids))
	for _, st := range states {
		if st != nil {
			out = append(out, st)
		}
	}
	return out, nil
}

func wrongState(id string, status rspec.ContainerState, hint string) error {
	return &errs.Error{Field: "container " + id, Value: string(status), Err: errs.ErrBadState, Hint: hint}
}

// Signal sends sig to the init, or with all to every process of the
// container's cgroup.
func (c *Container) Signal(sig unix.Signal, all bool) error {
	status := c.Status()
	if all {
		// As runc: --all also reaches what is left in the cgroup after
		// the init exited (processes of a container sharing another's
		// pid namespace); containerd's shim sends it on every exit.
		if status == rspec.StateStopped && c.st.Cgroup == "" {
			return nil
		}
		return c.signalAll(sig)
	}
	if status == rspec.StateStopped {
		// "container not running" is runc's text: containerd's shim
		// matches it to report "process already finished".
		return wrongState(c.st.ID, status, "container not running; `gorun delete` removes it")
	}
	if err := signalInit(c.st.InitPid, c.st.InitStart, sig); err != nil {
		return err
	}
	if sig == unix.SIGKILL && status == statePaused {
		// A frozen process dies only once thawed (cgroup v1).
		if m, err := c.cgroup(); err == nil {
			return m.Thaw()
		}
	}
	return nil
}

// signalInit signals the init through a pidfd, so that a pid reused by
// another process after the init died is never signalled.
func signalInit(pid int, start uint64, sig unix.Signal) error {
	pidfd, err := openPidfd(pid, start)
	if err != nil || pidfd < 0 {
		return err
	}
	defer unix.Close(pidfd)
	if err := unix.PidfdSendSignal(pidfd, sig, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signal %d: %w", pid, err)
	}
	return nil
}

func (c *Container) signalAll(sig unix.Signal) error {
	if c.st.Cgroup == "" {
		pids, err := c.Pids()
		if err != nil {
			return err
		}
		for _, p := range pids {
			unix.Kill(p, sig)
		}
		return nil
	}
	m, err := c.loadCgroup()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return signalInit(c.st.InitPid, c.st.InitStart, sig)
		}
		return err
	}
	return m.Signal(sig)
}

func frozen(cgroup string) bool {
	for _, p := range []string{
		filepath.Join("/sys/fs/cgroup/freezer", cgroup, "freezer.state"),
		filepath.Join("/sys/fs/cgroup", cgroup, "cgroup.freeze"),
	} {
		b, err := smallfile.Read(p)
		if err == nil {
			s := string(b)
			return s == "FROZEN\n" || s == "FREEZING\n" || s == "1\n"
		}
	}
	return false
}

// Pids lists the host pids of every process of the container.
func (c *Container) Pids() ([]int, error) {
	if c.st.Cgroup == "" {
		if !alive(c.st.InitPid, c.st.InitStart) {
			return nil, nil
		}
		return pidsInNamespaceOf(c.st.InitPid)
	}
	m, err := c.loadCgroup()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	return m.Pids()
}

// Pause freezes every process of the container.
func (c *Container) Pause() error {
	lock, err := c.lock()
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if status := c.Status(); status != rspec.StateRunning && status != rspec.StateCreated {
		return wrongState(c.st.ID, status, "only a running or created container can be paused")
	}
	m, err := c.cgroup()
	if err != nil {
		return err
	}
	return m.Freeze()
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	lock, err := c.lock()
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if status := c.Status(); status != statePaused {
		return wrongState(c.st.ID, status, "only a paused container can be resumed")
	}
	m, err := c.cgroup()
	if err != nil {
		return err
	}
	return m.Thaw()
}

func (c *Container) cgroup() (cgroups.Manager, error) {
	if c.st.Cgroup == "" {
		return nil, &errs.Error{Field: "container " + c.st.ID, Err: errors.New("has no cgroup"), Hint: "pause, resume, update and events need one"}
	}
	return c.loadCgroup()
}

// loadCgroup opens the container's cgroup, through systemd's driver if
// it made it.
func (c *Container) loadCgroup() (cgroups.Manager, error) {
	if c.st.SystemdUnit != "" {
		return cgroups.LoadSystemd(c.systemdUnit())
	}
	return cgroups.Load(c.st.Cgroup)
}

// systemdUnit is the scope systemd's driver made for the container.
func (c *Container) systemdUnit() cgroups.SystemdUnit {
	return cgroups.SystemdUnit{Unit: c.st.SystemdUnit, Path: c.st.Cgroup, Description: cgroups.OwnerDescription(c.st.ID, c.st.Created)}
}
