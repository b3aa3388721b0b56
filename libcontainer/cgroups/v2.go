package cgroups

import (
	"errors"
	"os"

	"github.com/containerd/cgroups/v3/cgroup2"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// v2 is a cgroup on a unified (cgroup2 only) host.
type v2 struct {
	path string
	m    *cgroup2.Manager
}

func (m *v2) Path() string { return m.path }

func (m *v2) Apply(pid int) error { return m.m.AddProc(uint64(pid)) }

func (m *v2) Set(r *rspec.LinuxResources) error {
	if r == nil {
		return nil
	}
	return m.m.Update(cgroup2.ToResources(r))
}

func (m *v2) Pids() ([]int, error) {
	ps, err := m.m.Procs(true)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	pids := make([]int, len(ps))
	for i, p := range ps {
		pids[i] = int(p)
	}
	return pids, nil
}

func (m *v2) Freeze() error { return m.m.Freeze() }
func (m *v2) Thaw() error   { return m.m.Thaw() }

func (m *v2) Destroy() error {
	err := m.m.Delete()
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func (m *v2) Stats() (*Stats, error) {
	mt, err := m.m.Stat()
	if err != nil {
		return nil, err
	}
	s := &Stats{}
	if c := mt.CPU; c != nil {
		// cgroup2 counts microseconds; runc's events report nanoseconds.
		s.CPU.Usage = CPUUsage{Total: c.UsageUsec * 1000, Kernel: c.SystemUsec * 1000, User: c.UserUsec * 1000}
		s.CPU.Throttling = Throttling{Periods: c.NrPeriods, ThrottledPeriods: c.NrThrottled, ThrottledTime: c.ThrottledUsec * 1000}
	}
	if mem := mt.Memory; mem != nil {
		s.Memory.Cache = mem.File
		s.Memory.Usage = MemoryEntry{Usage: mem.Usage, Limit: mem.UsageLimit}
		s.Memory.Swap = MemoryEntry{Usage: mem.SwapUsage, Limit: mem.SwapLimit}
		s.Memory.Raw = map[string]uint64{"anon": mem.Anon, "file": mem.File, "kernel_stack": mem.KernelStack, "slab": mem.Slab, "sock": mem.Sock, "shmem": mem.Shmem}
	}
	if ev := mt.MemoryEvents; ev != nil {
		s.Memory.Usage.Failcnt = ev.Max
	}
	if p := mt.Pids; p != nil {
		s.Pids = PidsStats{Current: p.Current, Limit: p.Limit}
	}
	return s, nil
}

// OOMEvents watches memory.events for new oom_kill counts.
func (m *v2) OOMEvents() (<-chan struct{}, error) {
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
