package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup1"
	v1stats "github.com/containerd/cgroups/v3/cgroup1/stats"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// v1 is a cgroup on the v1 hierarchies (legacy and hybrid hosts).
type v1 struct {
	path string
	c    cgroup1.Cgroup
}

func (m *v1) Path() string { return m.path }

func (m *v1) Apply(pid int) error { return m.c.Add(cgroup1.Process{Pid: pid}) }

func (m *v1) Set(r *rspec.LinuxResources) error { return m.c.Update(withDefaultDevices(r)) }

func (m *v1) Pids() ([]int, error) {
	var procs []cgroup1.Process
	var err error
	for _, s := range []cgroup1.Name{cgroup1.Pids, cgroup1.Freezer, cgroup1.Devices, cgroup1.Memory} {
		procs, err = m.c.Processes(s, true)
		if err == nil || !errors.Is(err, cgroup1.ErrControllerNotActive) {
			break
		}
	}
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	seen := make(map[int]bool, len(procs))
	pids := make([]int, 0, len(procs))
	for _, p := range procs {
		if !seen[p.Pid] {
			seen[p.Pid] = true
			pids = append(pids, p.Pid)
		}
	}
	return pids, nil
}

func (m *v1) Freeze() error { return m.c.Freeze() }
func (m *v1) Thaw() error   { return m.c.Thaw() }

func (m *v1) Destroy() error {
	err := m.c.Delete()
	if errors.Is(err, cgroup1.ErrCgroupDeleted) {
		return nil
	}
	return err
}

func (m *v1) Stats() (*Stats, error) {
	mt, err := m.c.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return nil, err
	}
	s := &Stats{}
	if c := mt.CPU; c != nil {
		if u := c.Usage; u != nil {
			s.CPU.Usage = CPUUsage{Total: u.Total, Percpu: u.PerCPU, Kernel: u.Kernel, User: u.User}
		}
		if t := c.Throttling; t != nil {
			s.CPU.Throttling = Throttling{Periods: t.Periods, ThrottledPeriods: t.ThrottledPeriods, ThrottledTime: t.ThrottledTime}
		}
	}
	if mem := mt.Memory; mem != nil {
		s.Memory.Cache = mem.Cache
		s.Memory.Usage = memEntry(mem.Usage)
		s.Memory.Swap = memEntry(mem.Swap)
		s.Memory.Kernel = memEntry(mem.Kernel)
		s.Memory.KernelTCP = memEntry(mem.KernelTCP)
		s.Memory.Raw = map[string]uint64{
			"cache": mem.Cache, "rss": mem.RSS, "mapped_file": mem.MappedFile, "pgfault": mem.PgFault,
			"pgmajfault": mem.PgMajFault, "total_rss": mem.TotalRSS, "total_cache": mem.TotalCache,
			"hierarchical_memory_limit": mem.HierarchicalMemoryLimit,
		}
	}
	if p := mt.Pids; p != nil {
		s.Pids = PidsStats{Current: p.Current, Limit: p.Limit}
	}
	if b := mt.Blkio; b != nil {
		for _, e := range b.IoServiceBytesRecursive {
			s.Blkio.IoServiceBytesRecursive = append(s.Blkio.IoServiceBytesRecursive, BlkioEntry{Major: e.Major, Minor: e.Minor, Op: e.Op, Value: e.Value})
		}
		for _, e := range b.IoServicedRecursive {
			s.Blkio.IoServicedRecursive = append(s.Blkio.IoServicedRecursive, BlkioEntry{Major: e.Major, Minor: e.Minor, Op: e.Op, Value: e.Value})
		}
	}
	for _, h := range mt.Hugetlb {
		if s.Hugetlb == nil {
			s.Hugetlb = map[string]Hugetlb{}
		}
		s.Hugetlb[h.Pagesize] = Hugetlb{Usage: h.Usage, Max: h.Max, Failcnt: h.Failcnt}
	}
	return s, nil
}

func memEntry(e *v1stats.MemoryEntry) MemoryEntry {
	if e == nil {
		return MemoryEntry{}
	}
	return MemoryEntry{Limit: e.Limit, Usage: e.Usage, Max: e.Max, Failcnt: e.Failcnt}
}

// OOMEvents reads the memory cgroup's OOM notifications (an eventfd
// registered on memory.oom_control).
func (m *v1) OOMEvents() (<-chan struct{}, error) {
	fd, err := m.c.OOMEventFD()
	if err != nil {
		return nil, err
	}
	// The eventfd also fires when the cgroup is removed: pass on only
	// wake-ups that the oom_kill counter confirms.
	ctl := filepath.Join("/sys/fs/cgroup/memory", m.path, "memory.oom_control")
	last := oomKills(ctl)
	out := make(chan struct{})
	go func() {
		defer close(out)
		for range eventfdChan(int(fd)) {
			if n := oomKills(ctl); n > last {
				last = n
				out <- struct{}{}
			}
		}
	}()
	return out, nil
}

// oomKills reads the oom_kill count of a v1 memory.oom_control file.
func oomKills(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "oom_kill "); ok {
			n, _ := strconv.ParseUint(v, 10, 64)
			return n
		}
	}
	return 0
}
