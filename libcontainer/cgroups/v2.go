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
