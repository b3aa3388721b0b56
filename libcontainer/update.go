package libcontainer

import (
	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/cgroups"
	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/specs"
)

// Update applies new resource limits to a live container and records them
// in its state. Fields left nil in r keep their current values; the result
// is validated as a config's would be before anything is written. Device
// rules are not changed live.
func (c *Container) Update(r *rspec.LinuxResources) error {
	lock, err := c.lock()
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
	spec, err := c.Spec()
	if err != nil {
		return err
	}
	if spec.Linux.Resources == nil {
		spec.Linux.Resources = &rspec.LinuxResources{}
	}
	merged := cgroups.Merge(spec.Linux.Resources, r)
	if err := specs.ValidateResources(merged); err != nil {
		return errs.Wrap("update", err)
	}
	if err := m.Set(merged); err != nil {
		return errs.Wrap("update", err)
	}
	spec.Linux.Resources = merged
	return c.store.SaveSpec(c.st.ID, spec)
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
