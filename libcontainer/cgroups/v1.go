package cgroups

import (
	"errors"
	"os"

	"github.com/containerd/cgroups/v3/cgroup1"
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
