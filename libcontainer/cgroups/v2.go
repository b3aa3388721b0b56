package cgroups

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/containerd/cgroups/v3/cgroup2"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// v2Controllers are the controllers a container's cgroup gets on a unified
// host, where the parents have them: all those that limit or account, so
// that `gorun update` can set any limit later and `events` finds usage.
var v2Controllers = []string{"cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"}

// v2 is a cgroup on a unified (cgroup2 only) host.
type v2 struct {
	path string
	dir  string // the cgroup's directory: mount point + path
	m    *cgroup2.Manager
}

// loadDevices attaches the eBPF device filter made of rules to the cgroup,
// through the library. Tests replace it: a fake cgroupfs cannot take BPF
// programs.
var loadDevices = func(m *cgroup2.Manager, rules []rspec.LinuxDeviceCgroup) error {
	return m.Update(&cgroup2.Resources{Devices: rules})
}

// newV2 creates the cgroup p below the cgroup2 mount point mount, enables
// the controllers, writes the settings and attaches the device filter made
// of devs (none if nil).
func newV2(mount, p string, ss []setting, devs []rspec.LinuxDeviceCgroup) (_ *v2, retErr error) {
	m, err := loadV2Manager(mount, p)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return nil, explain(p, err)
	}
	defer func() {
		if retErr != nil {
			m.Destroy()
		}
	}()
	if err := enableControllers(mount, p, v2Controllers); err != nil {
		return nil, err
	}
	if err := applySettings(ss, func(setting) (string, error) { return m.dir, nil }); err != nil {
		return nil, err
	}
	if devs != nil {
		if err := loadDevices(m.m, devs); err != nil {
			return nil, &errs.Error{Field: "linux.resources.devices", Err: fmt.Errorf("load the eBPF device filter: %w", err)}
		}
	}
	return m, nil
}

func loadV2Manager(mount, p string) (*v2, error) {
	cm, err := cgroup2.Load(p, cgroup2.WithMountpoint(mount))
	if err != nil {
		return nil, &errs.Error{Field: "linux.cgroupsPath", Value: p, Err: err}
	}
	return &v2{path: p, dir: filepath.Join(mount, p), m: cm}, nil
}

func loadV2(mount, p string) (Manager, error) {
	m, err := loadV2Manager(mount, p)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(m.dir); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *v2) Path() string { return m.path }

func (m *v2) Apply(pid int) error {
	return writeFile(filepath.Join(m.dir, "cgroup.procs"), strconv.Itoa(pid))
}

func (m *v2) Placement() Placement { return Placement{Dir: m.dir} }

func (m *v2) Set(r *rspec.LinuxResources) error {
	ss, err := v2Settings(r)
	if err != nil {
		return err
	}
	if r != nil {
		if err := checkBeforeUpdate(r.Memory, m.dir, "memory.current"); err != nil {
			return err
		}
	}
	return applySettings(ss, func(setting) (string, error) { return m.dir, nil })
}

func (m *v2) Pids() ([]int, error) { return readProcs(m.dir) }

func (m *v2) Freeze() error { return v2Freezer(m.dir, true) }
func (m *v2) Thaw() error   { return v2Freezer(m.dir, false) }

// Signal sends sig to every process of the cgroup: for SIGKILL through
// cgroup.kill, which also kills frozen processes; for other signals with
// the cgroup frozen meanwhile, so that none forks a child the signal
// misses.
func (m *v2) Signal(sig unix.Signal) error {
	if sig == unix.SIGKILL {
		if err := writeFile(filepath.Join(m.dir, "cgroup.kill"), "1"); err == nil || errors.Is(err, os.ErrNotExist) && !exists(m.dir) {
			return nil
		}
	}
	frozen := isFrozenV2(m.dir)
	thaw := false
	if !frozen {
		// Frozen, no process forks past the signal. A cgroup that will
		// not freeze (a process stuck in the kernel) is signalled all the
		// same, as runc does.
		if err := m.Freeze(); err != nil {
			slog.Warn("kill --all: signalling without freezing the cgroup first", "cgroup", m.dir, "err", err)
		}
		thaw = true
	}
	err := signalPids(m, sig)
	if thaw {
		if terr := m.Thaw(); err == nil {
			err = terr
		}
	}
	return err
}

func isFrozenV2(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.freeze"))
	return err == nil && string(b) == "1\n"
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (m *v2) Destroy() error { return removeV2Dir(m.dir) }

// removeV2Dir is removeCgroupDir; the tests on a fake cgroupfs, made of
// plain directories and files, which rmdir cannot remove, replace it.
var removeV2Dir = removeCgroupDir

func (m *v2) Stats() (*Stats, error) {
	mt, err := m.m.Stat()
	if err != nil {
		return nil, err
	}
	s := newStats()
	if c := mt.CPU; c != nil {
		// cgroup2 counts microseconds; runc's events report nanoseconds.
		s.CPU.Usage = CPUUsage{Total: c.UsageUsec * 1000, Kernel: c.SystemUsec * 1000, User: c.UserUsec * 1000}
		s.CPU.Throttling = Throttling{Periods: c.NrPeriods, ThrottledPeriods: c.NrThrottled, ThrottledTime: c.ThrottledUsec * 1000}
	}
	if mem := mt.Memory; mem != nil {
		s.Memory.Cache = mem.File
		s.Memory.Usage = MemoryEntry{Usage: mem.Usage, Limit: mem.UsageLimit, Max: mem.MaxUsage}
		s.Memory.Swap = MemoryEntry{Usage: mem.SwapUsage, Limit: mem.SwapLimit, Max: mem.SwapMaxUsage}
		s.Memory.Raw = map[string]uint64{"anon": mem.Anon, "file": mem.File, "kernel_stack": mem.KernelStack, "slab": mem.Slab,
			"sock": mem.Sock, "shmem": mem.Shmem, "file_mapped": mem.FileMapped, "pgfault": mem.Pgfault, "pgmajfault": mem.Pgmajfault}
	}
	if ev := mt.MemoryEvents; ev != nil {
		s.Memory.Usage.Failcnt = ev.Max
	}
	if p := mt.Pids; p != nil {
		s.Pids = PidsStats{Current: p.Current, Limit: p.Limit}
	}
	for _, h := range mt.Hugetlb {
		s.Hugetlb[h.Pagesize] = Hugetlb{Usage: h.Current, Failcnt: h.Failcnt}
	}
	return s, nil
}

// OOMEvents watches memory.events for new oom_kill counts.
func (m *v2) OOMEvents() (<-chan struct{}, error) {
	// Without the memory controller there is no memory.events: the
	// library's watch would end at once, which would read as the
	// container having stopped.
	if _, err := os.Stat(filepath.Join(m.dir, "memory.events")); err != nil {
		return nil, fmt.Errorf("no memory controller in cgroup %s: %w", m.dir, err)
	}
	evs, errc := m.m.EventChan()
	out := make(chan struct{})
	go func() {
		defer close(out)
		var last uint64
		for {
			select {
			case e, ok := <-evs:
				if !ok {
					return
				}
				if e.OOMKill > last {
					last = e.OOMKill
					out <- struct{}{}
				}
			case <-errc:
				return
			}
		}
	}()
	return out, nil
}
