package cgroups

import (
	"maps"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// Merge returns cur with every field that upd sets replaced (gorun update
// and containerd's `update --resources -` send only what changes). Devices
// are not updated live.
func Merge(cur, upd *rspec.LinuxResources) *rspec.LinuxResources {
	out := *cur
	if upd == nil {
		return &out
	}
	if upd.Memory != nil {
		m := rspec.LinuxMemory{}
		if cur.Memory != nil {
			m = *cur.Memory
		}
		u := upd.Memory
		setIfGiven(&m.Limit, u.Limit)
		setIfGiven(&m.Reservation, u.Reservation)
		setIfGiven(&m.Swap, u.Swap)
		if u.Limit != nil && *u.Limit == -1 && u.Swap == nil {
			// Memory made unlimited, swap not named: unlimited too (as
			// runc's update), not a swap limit left without a memory one.
			unlimited := int64(-1)
			m.Swap = &unlimited
		}
		setIfGiven(&m.Kernel, u.Kernel)
		setIfGiven(&m.KernelTCP, u.KernelTCP)
		setIfGiven(&m.Swappiness, u.Swappiness)
		setIfGiven(&m.DisableOOMKiller, u.DisableOOMKiller)
		setIfGiven(&m.UseHierarchy, u.UseHierarchy)
		setIfGiven(&m.CheckBeforeUpdate, u.CheckBeforeUpdate)
		out.Memory = &m
	}
	if upd.CPU != nil {
		c := rspec.LinuxCPU{}
		if cur.CPU != nil {
			c = *cur.CPU
		}
		u := upd.CPU
		setIfGiven(&c.Shares, u.Shares)
		setIfGiven(&c.Quota, u.Quota)
		setIfGiven(&c.Burst, u.Burst)
		setIfGiven(&c.Period, u.Period)
		setIfGiven(&c.RealtimeRuntime, u.RealtimeRuntime)
		setIfGiven(&c.RealtimePeriod, u.RealtimePeriod)
		if u.Cpus != "" {
			c.Cpus = u.Cpus
		}
		if u.Mems != "" {
			c.Mems = u.Mems
		}
		setIfGiven(&c.Idle, u.Idle)
		out.CPU = &c
	}
	setIfGiven(&out.Pids, upd.Pids)
	setIfGiven(&out.BlockIO, upd.BlockIO)
	if upd.HugepageLimits != nil {
		out.HugepageLimits = upd.HugepageLimits
	}
	setIfGiven(&out.Network, upd.Network)
	if upd.Rdma != nil {
		out.Rdma = upd.Rdma
	}
	if len(upd.Unified) > 0 {
		u := make(map[string]string, len(cur.Unified)+len(upd.Unified))
		maps.Copy(u, cur.Unified)
		maps.Copy(u, upd.Unified)
		out.Unified = u
	}
	return &out
}

// setIfGiven replaces *dst with v when the update gives v.
func setIfGiven[T any](dst **T, v *T) {
	if v != nil {
		*dst = v
	}
}
