package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/cgroups"
	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/initmsg"
	"github.com/gorun/gorun/libcontainer/seccomp"
	"github.com/gorun/gorun/libcontainer/state"
)

// ExecOpts describes a process to run in a running container.
type ExecOpts struct {
	Process       *rspec.Process // validated
	ConsoleSocket string
	Console       *os.File
	PidFile       string
	PreserveFDs   int
	Stdio         [3]*os.File
	// IgnorePaused allows exec into a paused container: the process
	// freezes as it joins the cgroup, and Exec returns after a resume.
	IgnorePaused bool
	// SubCgroups places the process in existing cgroups below the
	// container's (cgroups.ParseSubCgroups).
	SubCgroups map[string]string
}

// Process is a process started by Exec.
type Process struct {
	Pid int
}

// Wait waits for the process and returns its wait status.
func (p *Process) Wait() (unix.WaitStatus, error) {
	return reap(p.Pid)
}

// execOrder is the order in which a process joins the container's
// namespaces: user first (it owns the others), mount last but one.
var execOrder = []rspec.LinuxNamespaceType{
	rspec.UserNamespace, rspec.MountNamespace, rspec.PIDNamespace, rspec.NetworkNamespace,
	rspec.IPCNamespace, rspec.UTSNamespace, rspec.CgroupNamespace, rspec.TimeNamespace,
}

// execSeccomp returns the seccomp program of an exec'd process, from the
// cache when create named it (ref, see state.ExecInfo), and the config's
// profile when exec needs more of it (a listener) or the cache has lost it.
func (c *Container) execSeccomp(ref string, config func() (*execLinux, error)) (func() (*seccomp.Program, error), *rspec.LinuxSeccomp, error) {
	switch ref {
	case state.NoSeccomp:
		return func() (*seccomp.Program, error) { return nil, nil }, nil, nil
	case "":
	default:
		if p := readCachedProgram(seccompCacheDir(c.store.Root), ref); p != nil {
			return func() (*seccomp.Program, error) { return p, nil }, nil, nil
		}
	}
	l, err := config()
	if err != nil {
		return nil, nil, err
	}
	filter, _ := compileSeccomp(c.store.Root, l.Seccomp)
	return filter, l.Seccomp, nil
}

// Exec starts a process in every namespace and the cgroup of the running
// container, set up as o.Process says, and returns once it is about to exec.
func (c *Container) Exec(o ExecOpts) (_ *Process, retErr error) {
	switch status := c.Status(); {
	case status == rspec.StateRunning, status == rspec.StateCreated:
	case status == statePaused && o.IgnorePaused:
	case status == statePaused:
		return nil, wrongState(c.st.ID, status, "resume it first (`gorun resume`), or pass --ignore-paused to run the process frozen until then")
	default:
		return nil, wrongState(c.st.ID, status, "exec needs a running container")
	}
	warnUngrantable(o.Process)
	var nss []rspec.LinuxNamespace
	for _, t := range execOrder {
		if p, ok := c.st.NamespacePaths[t]; ok {
			nss = append(nss, rspec.LinuxNamespace{Type: t, Path: p})
		}
	}
	var extra []*os.File
	consoleFD := -1
	if o.Process.Terminal {
		console := o.Console
		if console == nil {
			var err error
			if console, err = dialConsole(o.ConsoleSocket); err != nil {
				return nil, err
			}
			defer console.Close()
		}
		extra = append(extra, console)
		consoleFD = 3 + o.PreserveFDs + 1
	}
	info := c.store.LoadExecInfo(c.st.ID)
	config := sync.OnceValues(c.execLinux)
	filter, profile, err := c.execSeccomp(info.Seccomp, config)
	if err != nil {
		return nil, err
	}
	personality, memoryPolicy := info.Personality, info.MemoryPolicy
	if info.Seccomp == "" {
		// No usable exec.json (or a profile with a listener): the
		// config has the rest too.
		l, err := config()
		if err != nil {
			return nil, err
		}
		personality, memoryPolicy = l.Personality, l.MemoryPolicy
	}
	agent, seccompFD, err := dialSeccompAgent(profile, o.PreserveFDs, &extra)
	if err != nil {
		return nil, err
	}
	if agent != nil {
		defer agent.Close()
	}
	var cg cgroups.Manager
	loadCgroup := func() error {
		if cg != nil {
			return nil
		}
		var err error
		if cg, err = c.loadCgroup(); err != nil {
			return fmt.Errorf("exec: load cgroup %s: %w", c.st.Cgroup, err)
		}
		return nil
	}
	placement := info.CgroupPlacement
	if c.st.Cgroup != "" && placement == nil {
		if err := loadCgroup(); err != nil {
			return nil, err
		}
		p := cg.Placement()
		placement = &p
	}
	if o.SubCgroups != nil {
		if placement == nil {
			return nil, errs.Field("--cgroup", c.st.ID, "drop --cgroup", "the container has no cgroup")
		}
		sub, err := placement.Sub(o.SubCgroups)
		if err != nil {
			return nil, err
		}
		placement = &sub
	}
	opts := spawnOpts{
		cgroup:     placement,
		namespaces: nss,
		stdio:      stdio(o.Stdio),
		preserve:   o.PreserveFDs,
		extra:      extra,
		affinity:   initialAffinity(o.Process),
	}
	ch, err := spawn(opts)
	if errors.Is(err, unix.EBUSY) && o.SubCgroups == nil {
		if q := c.initCgroup(placement); q != nil {
			placement, opts.cgroup = q, q
			ch, err = spawn(opts)
		}
	}
	if err != nil {
		return nil, errs.Wrap("exec", err)
	}
	defer func() {
		if retErr != nil {
			ch.kill()
		}
	}()
	pid := ch.pid
	cfg := &initmsg.InitConfig{
		ID:     c.st.ID,
		Bundle: c.st.Bundle,
		Rootfs: c.st.Rootfs,
		// The exec'd process needs its process only: the rest of the
		// config (mounts, masked paths, the seccomp profile, which the
		// child gets compiled) is the init's, and decoding it cost the
		// child ~0.5 ms.
		Process:      o.Process,
		Personality:  personality,
		MemoryPolicy: memoryPolicy,
		Pid:          pid,
		Cgroup:       c.st.Cgroup,
		Exec:         true,
		PreserveFDs:  o.PreserveFDs,
		FifoFD:       -1,
		ConsoleFD:    consoleFD,
		SeccompFD:    seccompFD,
	}
	if cfg.Seccomp, err = filter(); err != nil {
		return nil, err
	}
	if seccompFD != 0 {
		cfg.SeccompState = seccomp.ProcessState(profile, pid, *c.hookState(rspec.StateRunning))
	}
	var place func() error
	switch {
	case o.SubCgroups != nil:
		place = func() error { return placement.Join(pid) }
	case c.st.Cgroup != "":
		place = func() error {
			if err := loadCgroup(); err != nil {
				return err
			}
			err := cg.Apply(pid)
			if errors.Is(err, unix.EBUSY) {
				if q := c.initCgroup(placement); q != nil {
					err = q.Join(pid)
				}
			}
			if err != nil {
				return fmt.Errorf("exec: join cgroup %s: %w", c.st.Cgroup, err)
			}
			return nil
		}
	}
	if err := ch.configure(cfg, place); err != nil {
		return nil, err
	}
	if _, err := ch.recvReady(func() error { return nil }); err != nil {
		return nil, errs.Wrap("exec", err)
	}
	ch.sock.Close()
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, pid); err != nil {
			return nil, &errs.Error{Field: "--pid-file", Value: o.PidFile, Err: err}
		}
	}
	return &Process{Pid: pid}, nil
}

// initialAffinity is process.execCPUAffinity.initial: the CPUs the exec'd
// process starts on, until it joins the container's cgroup.
func initialAffinity(p *rspec.Process) string {
	if p.ExecCPUAffinity == nil {
		return ""
	}
	return p.ExecCPUAffinity.Initial
}

// initCgroup is p with its cgroup2 directory replaced by the one the
// container's init is in now, or nil if that is the same. An exec'd process
// goes there when the container's own cgroup refuses it (EBUSY): in cgroup
// v2 a cgroup that hands controllers to sub-cgroups holds no process, and
// a container that runs systemd or a container engine makes its cgroup so,
// moving its init below it.
func (c *Container) initCgroup(p *cgroups.Placement) *cgroups.Placement {
	if p == nil || p.Dir == "" || !strings.HasSuffix(p.Dir, c.st.Cgroup) {
		return nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", c.st.InitPid))
	if err != nil {
		return nil
	}
	for _, l := range strings.Split(string(b), "\n") {
		rel, ok := strings.CutPrefix(l, "0::")
		if !ok || rel == c.st.Cgroup || !strings.HasPrefix(rel, c.st.Cgroup+"/") {
			continue
		}
		q := *p
		q.Dir = strings.TrimSuffix(p.Dir, c.st.Cgroup) + rel
		return &q
	}
	return nil
}
