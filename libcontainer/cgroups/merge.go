package cgroups

import rspec "github.com/opencontainers/runtime-spec/specs-go"

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
		setI64(&m.Limit, u.Limit)
		setI64(&m.Reservation, u.Reservation)
		setI64(&m.Swap, u.Swap)
		setI64(&m.Kernel, u.Kernel)
		setI64(&m.KernelTCP, u.KernelTCP)
		if u.Swappiness != nil {
			m.Swappiness = u.Swappiness
		}
		if u.DisableOOMKiller != nil {
			m.DisableOOMKiller = u.DisableOOMKiller
		}
		if u.UseHierarchy != nil {
			m.UseHierarchy = u.UseHierarchy
		}
		if u.CheckBeforeUpdate != nil {
			m.CheckBeforeUpdate = u.CheckBeforeUpdate
		}
		out.Memory = &m
	}
	if upd.CPU != nil {
		c := rspec.LinuxCPU{}
		if cur.CPU != nil {
			c = *cur.CPU
		}
		u := upd.CPU
		if u.Shares != nil {
			c.Shares = u.Shares
		}
		setI64(&c.Quota, u.Quota)
		if u.Burst != nil {
			c.Burst = u.Burst
		}
		if u.Period != nil {
			c.Period = u.Period
		}
		setI64(&c.RealtimeRuntime, u.RealtimeRuntime)
		if u.RealtimePeriod != nil {
			c.RealtimePeriod = u.RealtimePeriod
		}
		if u.Cpus != "" {
			c.Cpus = u.Cpus
		}
		if u.Mems != "" {
			c.Mems = u.Mems
		}
		if u.Idle != nil {
			c.Idle = u.Idle
		}
		out.CPU = &c
	}
	if upd.Pids != nil {
		out.Pids = upd.Pids
	}
	if upd.BlockIO != nil {
		out.BlockIO = upd.BlockIO
	}
	if upd.HugepageLimits != nil {
		out.HugepageLimits = upd.HugepageLimits
	}
	if upd.Network != nil {
		out.Network = upd.Network
	}
	if upd.Rdma != nil {
		out.Rdma = upd.Rdma
	}
	if len(upd.Unified) > 0 {
		u := make(map[string]string, len(cur.Unified)+len(upd.Unified))
		for k, v := range cur.Unified {
			u[k] = v
		}
		for k, v := range upd.Unified {
			u[k] = v
		}
		out.Unified = u
	}
	return &out
}

func setI64(dst **int64, v *int64) {
	if v != nil {
		*dst = v
	}
}
