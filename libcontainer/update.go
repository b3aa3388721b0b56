package libcontainer

import (
	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/cgroups"
	"github.com/gorun/gorun/libcontainer/errs"
)

// Update applies new resource limits to a live container and records them
// in its state. Fields left nil in r keep their current values.
func (c *Container) Update(r *rspec.LinuxResources) error {
	lock, err := c.store.Lock(c.st.ID)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if status := c.Status(); status == rspec.StateStopped {
		return wrongState(c.st.ID, status, "a stopped container cannot be updated")
	}
	m, err := c.cgroup()
	if err != nil {
		return err
	}
	if c.st.Spec.Linux.Resources == nil {
		c.st.Spec.Linux.Resources = &rspec.LinuxResources{}
	}
	merged := cgroups.Merge(c.st.Spec.Linux.Resources, r)
	if err := m.Set(merged); err != nil {
		return &errs.Error{Op: "update", Field: "linux.resources", Err: err, Hint: "check the values against what this kernel's cgroup controllers accept"}
	}
	c.st.Spec.Linux.Resources = merged
	return c.store.Save(c.st)
}

// Stats reads the container's resource usage from its cgroup.
func (c *Container) Stats() (*cgroups.Stats, error) {
	m, err := c.cgroup()
	if err != nil {
		return nil, err
	}
	return m.Stats()
}

// OOMEvents returns a channel that receives a value each time the kernel's
// OOM killer acts in the container's cgroup.
func (c *Container) OOMEvents() (<-chan struct{}, error) {
	m, err := c.cgroup()
	if err != nil {
		return nil, err
	}
	return m.OOMEvents()
}
