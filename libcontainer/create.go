package libcontainer

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/moby/sys/userns"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/caps"
	"github.com/gorun/gorun/libcontainer/cgroups"
	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/fault"
	"github.com/gorun/gorun/libcontainer/hooks"
	"github.com/gorun/gorun/libcontainer/initmsg"
	"github.com/gorun/gorun/libcontainer/seccomp"
	"github.com/gorun/gorun/libcontainer/state"
)

// CreateOpts is what Create needs besides the config.
type CreateOpts struct {
	Root   string // state root (--root)
	ID     string
	Bundle string      // absolute bundle directory
	Spec   *rspec.Spec // validated config
	// ConsoleSocket is the unix socket the pty master is sent to when
	// process.terminal is set; Console is an already connected one (gorun
	// run in the foreground makes its own).
	ConsoleSocket string
	Console       *os.File
	PidFile       string
	NoPivot       bool
	NoNewKeyring  bool
	PreserveFDs   int
	// SystemdCgroup has systemd make the cgroup, a transient scope that
	// linux.cgroupsPath names as "slice:prefix:name" (--systemd-cgroup).
	SystemdCgroup bool
	// Stdio for the container's process; nil entries mean this process's.
	Stdio [3]*os.File
}

// Create sets up a container and leaves its init waiting for Start. On
// error nothing is left behind: no state directory, cgroup or process.
func Create(o CreateOpts) (_ *Container, retErr error) {
	s := o.Spec
	if err := checkOwnMaps(s); err != nil {
		return nil, err
	}
	warnUngrantable(s.Process)
	filter, execSeccomp := compileSeccomp(o.Root, s.Linux.Seccomp)
	netDevs, err := findNetDevices(s.Linux.NetDevices)
	if err != nil {
		return nil, err
	}
	store := state.Store{Root: o.Root}
	lock, err := store.Create(o.ID)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	var cg cgroups.Manager
	var ch *child
	defer func() {
		if retErr == nil {
			return
		}
		if ch != nil {
			ch.kill()
		}
		if cg != nil {
			cg.Destroy()
			cgroups.RemoveEmptyParents(cg.Path())
		}
		store.Remove(o.ID)
	}()

	rootfs := s.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(o.Bundle, rootfs)
	}
	s = withAbsoluteSources(s, o.Bundle)
	created := time.Now().UTC()
	var cgPath string
	var unit cgroups.SystemdUnit
	if o.SystemdCgroup {
		if rootless() {
			return nil, &errs.Error{Field: "--systemd-cgroup", Err: errors.New("the systemd cgroup driver needs root (gorun does not talk to systemd's user instance)"),
				Hint: `drop the flag: without root gorun uses a cgroup delegated to you, or none (rootless podman: cgroup_manager = "cgroupfs")`}
		}
		if unit, err = cgroups.ParseSystemdPath(s.Linux.CgroupsPath, o.ID); err != nil {
			return nil, err
		}
		cgPath = unit.Path
		unit.Description = cgroups.OwnerDescription(o.ID, created)
	} else if cgPath, err = cgroups.ResolvePath(s.Linux.CgroupsPath, o.ID); err != nil {
		return nil, err
	}
	c := &Container{store: store, st: &state.State{
		ID:          o.ID,
		Bundle:      o.Bundle,
		Rootfs:      rootfs,
		Created:     created,
		Owner:       owner(),
		Cgroup:      cgPath,
		SystemdUnit: unit.Unit,
		Annotations: s.Annotations,
		Hooks:       s.Hooks,
	}, spec: s}
	execInfo := &state.ExecInfo{Seccomp: execSeccomp, Personality: s.Linux.Personality, MemoryPolicy: s.Linux.MemoryPolicy}
	// Record the container before making anything of it on the host, so
	// that `delete --force` can find the cgroup and any process even if
	// this create is killed half way. With no init pid yet, its status is
	// "creating" while this create holds the lock. (The config is recorded
	// once the init has its own, see below.)
	if err := store.Save(c.st); err != nil {
		return nil, &errs.Error{Field: "--root", Value: o.Root, Err: err, Hint: "the state directory must be writable and have space"}
	}
	fault.Point("after-state")
	if o.SystemdCgroup {
		if err := store.SaveSystemdUnit(o.ID, &unit); err != nil {
			return nil, &errs.Error{Field: "--root", Value: o.Root, Err: err, Hint: "the state directory must be writable and have space"}
		}
		cg, err = cgroups.NewSystemd(unit, s.Linux.Resources, s.Annotations)
	} else {
		cg, err = cgroups.New(cgPath, s.Linux.Resources)
	}
	if err != nil {
		if !rootless() || !errors.Is(err, os.ErrPermission) {
			return nil, err
		}
		// Without root and without a delegated cgroup: run without a
		// cgroup, unless the config asks for limits that need one.
		if what := requestedLimit(s.Linux.Resources); what != "" {
			return nil, &errs.Error{Field: "linux.resources." + what, Value: cgPath, Err: err,
				Hint: "without root, limits need a cgroup delegated to you; remove the limit or give linux.cgroupsPath a cgroup you own"}
		}
		slog.Debug("rootless: no writable cgroup, running the container without one", "cgroup", cgPath)
		cg, cgPath, c.st.Cgroup = nil, "", ""
	}
	fault.Point("after-cgroup")

	fifoPath := filepath.Join(store.Dir(o.ID), state.FifoName)
	if err := unix.Mkfifo(fifoPath, 0o622); err != nil {
		return nil, fmt.Errorf("make exec fifo: %w", err)
	}
	// Any user the process runs as may open it for writing.
	if err := os.Chmod(fifoPath, 0o622); err != nil {
		return nil, err
	}
	fifo, err := os.OpenFile(fifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer fifo.Close()
	extra := []*os.File{fifo}
	consoleFD := -1
	if s.Process.Terminal {
		console := o.Console
		if console == nil {
			if console, err = dialConsole(o.ConsoleSocket); err != nil {
				return nil, err
			}
			defer console.Close()
		}
		extra = append(extra, console)
		consoleFD = 3 + o.PreserveFDs + 2
	}
	agent, seccompFD, err := dialSeccompAgent(s.Linux.Seccomp, o.PreserveFDs, &extra)
	if err != nil {
		return nil, err
	}
	if agent != nil {
		defer agent.Close()
	}
	trees, treeMounts, err := idmappedTrees(s)
	if err != nil {
		return nil, err
	}
	var idmapped map[int]int
	for k, t := range trees {
		defer t.Close()
		if idmapped == nil {
			idmapped = make(map[int]int, len(trees))
		}
		idmapped[treeMounts[k]] = 3 + o.PreserveFDs + 1 + len(extra)
		extra = append(extra, t)
	}

	if cg != nil {
		// (None yet for systemd's driver: its scope is made with the
		// init in it.)
		if p := cg.Placement(); !p.IsZero() {
			execInfo.CgroupPlacement = &p
		}
	}
	ch, err = spawn(spawnOpts{
		cgroup:     execInfo.CgroupPlacement,
		namespaces: s.Linux.Namespaces,
		uidMap:     s.Linux.UIDMappings,
		gidMap:     s.Linux.GIDMappings,
		stdio:      stdio(o.Stdio),
		preserve:   o.PreserveFDs,
		extra:      extra,
	})
	if err != nil {
		return nil, errs.Wrap("start container init", err)
	}
	pid := ch.pid
	fault.Point("after-clone")
	cfg := &initmsg.InitConfig{
		ID:          o.ID,
		Bundle:      o.Bundle,
		Rootfs:      rootfs,
		Pid:         pid,
		Cgroup:      cgPath,
		NewCgroupNS: hasNewNamespace(s, rspec.CgroupNamespace),
		// The systemd driver makes the cgroup when it places the init.
		CgroupMadeLate: o.SystemdCgroup && cg != nil,
		NoPivot:        o.NoPivot,
		NoNewKeyring:   o.NoNewKeyring,
		PreserveFDs:    o.PreserveFDs,
		FifoFD:         3 + o.PreserveFDs + 1,
		ConsoleFD:      consoleFD,
		IDMapped:       idmapped,
		SeccompFD:      seccompFD,
	}
	if err := cfg.SetSpec(withoutSeccomp(s)); err != nil {
		return nil, err
	}
	if cfg.Seccomp, err = filter(); err != nil {
		return nil, err
	}
	if seccompFD != 0 {
		st := c.hookState(rspec.StateCreated)
		st.Pid = pid
		cfg.SeccompState = seccomp.ProcessState(s.Linux.Seccomp, pid, *st)
	}
	var place func() error
	if cg != nil {
		place = func() error {
			if err := cg.Apply(pid); err != nil {
				var named *errs.Error
				if errors.As(err, &named) {
					return errs.Wrap("create", err) // systemd's driver names what failed
				}
				return &errs.Error{Op: "create", Field: "linux.cgroupsPath", Value: cgPath, Err: fmt.Errorf("move init into its cgroup: %w", err)}
			}
			return nil
		}
	}
	if err := ch.configure(cfg, place); err != nil {
		return nil, err
	}
	if cg != nil && execInfo.CgroupPlacement == nil {
		p := cg.Placement()
		execInfo.CgroupPlacement = &p
	}
	if len(netDevs) > 0 {
		if err := moveNetDevices(netDevs, namespacePaths(s, pid)[rspec.NetworkNamespace]); err != nil {
			return nil, err
		}
	}
	// Recorded for exec and update while the init sets up, off the start
	// path: encoding/json builds its encoders for all of runtime-spec on
	// the first encode in this process.
	if err := store.SaveSpec(o.ID, s); err != nil {
		return nil, &errs.Error{Field: "--root", Value: o.Root, Err: err, Hint: "the state directory must be writable and have space"}
	}
	if err := store.SaveExecInfo(o.ID, execInfo); err != nil {
		return nil, &errs.Error{Field: "--root", Value: o.Root, Err: err, Hint: "the state directory must be writable and have space"}
	}
	fault.Point("after-config")
	_, start, err := procStat(pid)
	if err != nil {
		return nil, err
	}
	c.initPid = pid
	runtimeHooks := func() error {
		if s.Hooks == nil {
			return nil
		}
		st := c.hookState(rspec.StateCreating)
		st.Pid = pid // not recorded yet: the state is saved once the init is ready
		if err := hooks.Run("prestart", s.Hooks.Prestart, st); err != nil {
			return err
		}
		return hooks.Run("createRuntime", s.Hooks.CreateRuntime, st)
	}
	if _, err := ch.recvReady(runtimeHooks); err != nil {
		return nil, errs.Wrap("create", err)
	}
	ch.sock.Close()
	fault.Point("after-ready")
	c.st.InitPid, c.st.InitStart = pid, start
	c.st.NamespacePaths = namespacePaths(s, pid)
	if err := store.Save(c.st); err != nil {
		return nil, &errs.Error{Field: "--root", Value: o.Root, Err: err, Hint: "the state directory must be writable and have space"}
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, pid); err != nil {
			return nil, &errs.Error{Field: "--pid-file", Value: o.PidFile, Err: err}
		}
	}
	return c, nil
}

// withAbsoluteSources returns s with relative bind mount sources made
// absolute against the bundle, as runc resolves them. The init need not
// start in the bundle directory, which a container's root in a user
// namespace may not be allowed to enter.
func withAbsoluteSources(s *rspec.Spec, bundle string) *rspec.Spec {
	var ms []rspec.Mount
	for i, m := range s.Mounts {
		if m.Source == "" || filepath.IsAbs(m.Source) || !(m.Type == "bind" || rootfsIsBind(m.Options)) {
			continue
		}
		if ms == nil {
			ms = append([]rspec.Mount(nil), s.Mounts...)
		}
		ms[i].Source = filepath.Join(bundle, m.Source)
	}
	if ms == nil {
		return s
	}
	c := *s
	c.Mounts = ms
	return &c
}

func rootfsIsBind(opts []string) bool {
	for _, o := range opts {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

func stdio(s [3]*os.File) [3]*os.File {
	def := [3]*os.File{os.Stdin, os.Stdout, os.Stderr}
	for i := range s {
		if s[i] == nil {
			s[i] = def[i]
		}
	}
	return s
}

func hasNewNamespace(s *rspec.Spec, t rspec.LinuxNamespaceType) bool {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == t && ns.Path == "" {
			return true
		}
	}
	return false
}

var nsProcName = map[rspec.LinuxNamespaceType]string{
	rspec.PIDNamespace: "pid", rspec.NetworkNamespace: "net", rspec.MountNamespace: "mnt",
	rspec.IPCNamespace: "ipc", rspec.UTSNamespace: "uts", rspec.UserNamespace: "user",
	rspec.CgroupNamespace: "cgroup", rspec.TimeNamespace: "time",
}

// namespacePaths records where each of the container's namespaces can be
// joined (by exec): its own /proc/PID/ns entry, or the path it joined.
func namespacePaths(s *rspec.Spec, pid int) map[rspec.LinuxNamespaceType]string {
	m := make(map[rspec.LinuxNamespaceType]string, len(s.Linux.Namespaces))
	for _, ns := range s.Linux.Namespaces {
		if ns.Path != "" {
			m[ns.Type] = ns.Path
		} else {
			m[ns.Type] = fmt.Sprintf("/proc/%d/ns/%s", pid, nsProcName[ns.Type])
		}
	}
	return m
}

// dialSeccompAgent connects to linux.seccomp.listenerPath when the profile
// has SCMP_ACT_NOTIFY rules, here on the host where the path resolves, and
// appends the connection to the child's extra files; it returns the
// connection (the caller closes it once the child is started) and the fd
// number the child finds it at (0 for none). The child sends the notify fd
// on it after loading the filter.
func dialSeccompAgent(sc *rspec.LinuxSeccomp, preserve int, extra *[]*os.File) (*os.File, int, error) {
	if !seccomp.NeedsListener(sc) {
		return nil, 0, nil
	}
	l, err := seccomp.DialListener(sc.ListenerPath)
	if err != nil {
		return nil, 0, err
	}
	fd := 3 + preserve + 1 + len(*extra)
	*extra = append(*extra, l)
	return l, fd, nil
}

// dialConsole connects to the console socket the pty master is sent to.
func dialConsole(path string) (*os.File, error) {
	if path == "" {
		return nil, errs.Field("process.terminal", "true", "pass --console-socket, or set process.terminal to false", "a terminal needs a console socket")
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, &errs.Error{Field: "--console-socket", Value: path, Err: err, Hint: "something must listen on that unix socket to receive the terminal"}
	}
	defer conn.Close()
	f, err := conn.(*net.UnixConn).File()
	if err != nil {
		return nil, err
	}
	return f, nil
}

// writePidFile writes pid atomically: a reader never sees an empty file.
func writePidFile(path string, pid int) error {
	path, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func owner() string {
	if uid := os.Getuid(); uid != 0 {
		return strconv.Itoa(uid)
	}
	return "root"
}

var errInitGone = errors.New("the container's init has exited")

// rootless reports whether gorun runs without root on the host: as a user,
// or as root of a user namespace (podman's rootless mode).
func rootless() bool {
	return os.Geteuid() != 0 || userns.RunningInUserNS()
}

// requestedLimit names the first kind of limit r asks for ("" for none):
// a section that sets nothing (an empty object, zero values) asks for
// nothing, as runc takes it. Device rules do not count: without root they
// cannot be enforced by a cgroup, and a user namespace cannot create device
// nodes anyway.
func requestedLimit(r *rspec.LinuxResources) string {
	if r == nil {
		return ""
	}
	nz := func(p *int64) bool { return p != nil && *p != 0 }
	nzu := func(p *uint64) bool { return p != nil && *p != 0 }
	if m := r.Memory; m != nil && (nz(m.Limit) || nz(m.Reservation) || nz(m.Swap) || nz(m.Kernel) || nz(m.KernelTCP) ||
		nzu(m.Swappiness) || m.DisableOOMKiller != nil && *m.DisableOOMKiller) {
		return "memory"
	}
	if c := r.CPU; c != nil && (nzu(c.Shares) || nz(c.Quota) || nzu(c.Burst) || nzu(c.Period) || nz(c.RealtimeRuntime) ||
		nzu(c.RealtimePeriod) || c.Cpus != "" || c.Mems != "" || nz(c.Idle)) {
		return "cpu"
	}
	switch {
	case r.Pids != nil && r.Pids.Limit != nil:
		return "pids"
	case r.BlockIO != nil && blockIOSet(r.BlockIO):
		return "blockIO"
	case len(r.HugepageLimits) > 0:
		return "hugepageLimits"
	case r.Network != nil && (r.Network.ClassID != nil || len(r.Network.Priorities) > 0):
		return "network"
	case len(r.Rdma) > 0:
		return "rdma"
	case len(r.Unified) > 0:
		return "unified"
	}
	return ""
}

func blockIOSet(b *rspec.LinuxBlockIO) bool {
	return b.Weight != nil && *b.Weight != 0 || b.LeafWeight != nil && *b.LeafWeight != 0 || len(b.WeightDevice) > 0 ||
		len(b.ThrottleReadBpsDevice) > 0 || len(b.ThrottleWriteBpsDevice) > 0 ||
		len(b.ThrottleReadIOPSDevice) > 0 || len(b.ThrottleWriteIOPSDevice) > 0
}

// warnUngrantable warns of the ambient capabilities of p the kernel cannot
// raise (see caps.UngrantableAmbient); the process gets the others.
func warnUngrantable(p *rspec.Process) {
	if p == nil {
		return
	}
	for _, n := range caps.UngrantableAmbient(p.Capabilities) {
		slog.Warn("process.capabilities.ambient: " + n + " is not also inheritable and permitted, which the kernel requires: not raised")
	}
}
