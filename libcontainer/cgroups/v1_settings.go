package cgroups

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

const res = "linux.resources"

const (
	hugetlbHint = "use a page size this kernel has: /sys/kernel/mm/hugepages lists them"
	bfqHint     = "I/O weights need the BFQ scheduler, with group scheduling, on the device (/sys/block/DEV/queue/scheduler)"
	unifiedHint = "a cgroup v2 file exists only for the controllers in the cgroup's cgroup.controllers " +
		"(on a hybrid host, few or none: the others are v1 hierarchies)"
)

// v1Opts says how linux.resources map onto this host's v1 hierarchies.
type v1Opts struct {
	// update leaves the device rules alone: rewriting them would deny
	// every device to the running container for a moment (the first rule
	// is usually deny-all).
	update bool
	// hugetlbV2: the hugetlb controller is not a v1 hierarchy but is
	// available in the cgroup2 hierarchy of a hybrid host.
	hugetlbV2 bool
}

// v1Settings converts linux.resources into writes to cgroup v1 files. Zero
// means "unset" for the memory limits and for cpu shares, quota, period
// and the realtime values, as runc treats it; -1 means unlimited.
func v1Settings(r *rspec.LinuxResources, o v1Opts) ([]setting, error) {
	if r == nil {
		r = &rspec.LinuxResources{}
	}
	var out []setting
	add := func(ctrl, file, field, value string) {
		out = append(out, setting{ctrl: ctrl, file: file, field: field, value: value})
	}
	if !o.update {
		out = append(out, v1DeviceSettings(r.Devices)...)
	}
	if m := r.Memory; m != nil {
		const f = res + ".memory."
		if set(m.Limit) {
			add("memory", "memory.limit_in_bytes", f+"limit", itoa(*m.Limit))
		}
		if set(m.Swap) {
			if *m.Swap != -1 && (!set(m.Limit) || *m.Limit == -1) {
				return nil, errField(f+"swap", itoa(*m.Swap), "a swap limit (memory plus swap) needs a memory limit",
					"set linux.resources.memory.limit too, or swap to -1")
			}
			s := setting{ctrl: "memory", file: "memory.memsw.limit_in_bytes", field: f + "swap", value: itoa(*m.Swap)}
			// Unlimited is what a kernel without swap accounting has.
			s.optional = *m.Swap == -1
			out = append(out, s)
		}
		if set(m.Reservation) {
			add("memory", "memory.soft_limit_in_bytes", f+"reservation", itoa(*m.Reservation))
		}
		//nolint:staticcheck // Kernel is deprecated, and honoured where the kernel still has it.
		if set(m.Kernel) {
			out = append(out, setting{ctrl: "memory", file: "memory.kmem.limit_in_bytes", field: f + "kernel",
				value: itoa(*m.Kernel), optional: true})
		}
		if set(m.KernelTCP) {
			out = append(out, setting{ctrl: "memory", file: "memory.kmem.tcp.limit_in_bytes", field: f + "kernelTCP",
				value: itoa(*m.KernelTCP), optional: true})
		}
		// -1 (the largest uint64 once parsed) leaves the kernel's default.
		if s := m.Swappiness; s != nil && *s != math.MaxUint64 {
			add("memory", "memory.swappiness", f+"swappiness", strconv.FormatUint(*s, 10))
		}
		if m.DisableOOMKiller != nil {
			add("memory", "memory.oom_control", f+"disableOOMKiller", boolNum(*m.DisableOOMKiller))
		}
		if m.UseHierarchy != nil {
			add("memory", "memory.use_hierarchy", f+"useHierarchy", boolNum(*m.UseHierarchy))
		}
	}
	if c := r.CPU; c != nil {
		const f = res + ".cpu."
		if err := checkIdle(c); err != nil {
			return nil, err
		}
		if nonZero(c.Shares) {
			add("cpu", "cpu.shares", f+"shares", utoa(*c.Shares))
		}
		if c.Idle != nil {
			add("cpu", "cpu.idle", f+"idle", itoa(*c.Idle))
		}
		if nonZero(c.Period) {
			add("cpu", "cpu.cfs_period_us", f+"period", utoa(*c.Period))
		}
		if set(c.Quota) {
			add("cpu", "cpu.cfs_quota_us", f+"quota", itoa(*c.Quota))
		}
		if c.Burst != nil {
			add("cpu", "cpu.cfs_burst_us", f+"burst", utoa(*c.Burst))
		}
		// The period first: the kernel checks the runtime against it.
		if nonZero(c.RealtimePeriod) {
			add("cpu", "cpu.rt_period_us", f+"realtimePeriod", utoa(*c.RealtimePeriod))
		}
		if set(c.RealtimeRuntime) {
			add("cpu", "cpu.rt_runtime_us", f+"realtimeRuntime", itoa(*c.RealtimeRuntime))
		}
		if c.Cpus != "" {
			add("cpuset", "cpuset.cpus", f+"cpus", c.Cpus)
		}
		if c.Mems != "" {
			add("cpuset", "cpuset.mems", f+"mems", c.Mems)
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		add("pids", "pids.max", res+".pids.limit", pidsMax(*p.Limit))
	}
	if b := r.BlockIO; b != nil {
		out = append(out, v1BlkioSettings(b)...)
	}
	for i, h := range r.HugepageLimits {
		field := fmt.Sprintf("%s.hugepageLimits[%d]", res, i)
		v := strconv.FormatUint(h.Limit, 10)
		if o.hugetlbV2 {
			out = append(out,
				setting{ctrl: "hugetlb", v2: true, file: "hugetlb." + h.Pagesize + ".max", field: field, value: v, hint: hugetlbHint},
				setting{ctrl: "hugetlb", v2: true, file: "hugetlb." + h.Pagesize + ".rsvd.max", field: field, value: v, optional: true})
			continue
		}
		out = append(out,
			setting{ctrl: "hugetlb", file: "hugetlb." + h.Pagesize + ".limit_in_bytes", field: field, value: v, hint: hugetlbHint},
			setting{ctrl: "hugetlb", file: "hugetlb." + h.Pagesize + ".rsvd.limit_in_bytes", field: field, value: v, optional: true})
	}
	if n := r.Network; n != nil {
		if n.ClassID != nil {
			add("net_cls", "net_cls.classid", res+".network.classID", strconv.FormatUint(uint64(*n.ClassID), 10))
		}
		for i, p := range n.Priorities {
			add("net_prio", "net_prio.ifpriomap", fmt.Sprintf("%s.network.priorities[%d]", res, i),
				fmt.Sprintf("%s %d", p.Name, p.Priority))
		}
	}
	for _, dev := range sortedKeys(r.Rdma) {
		add("rdma", "rdma.max", res+".rdma."+dev, rdmaLine(dev, r.Rdma[dev]))
	}
	for _, k := range sortedKeys(r.Unified) {
		if err := checkUnifiedKey(k, r.Unified[k]); err != nil {
			return nil, err
		}
		out = append(out, setting{ctrl: unifiedController(k), v2: true, file: k, field: res + ".unified." + k, value: r.Unified[k], hint: unifiedHint})
	}
	return out, nil
}

func v1BlkioSettings(b *rspec.LinuxBlockIO) []setting {
	const f = res + ".blockIO."
	var out []setting
	if nonZero16(b.Weight) {
		out = append(out, setting{ctrl: "blkio", file: "blkio.weight", alt: "blkio.bfq.weight", field: f + "weight", value: utoa16(*b.Weight), hint: bfqHint})
	}
	if nonZero16(b.LeafWeight) {
		out = append(out, setting{ctrl: "blkio", file: "blkio.leaf_weight", field: f + "leafWeight", value: utoa16(*b.LeafWeight)})
	}
	for i, d := range b.WeightDevice {
		field := fmt.Sprintf("%sweightDevice[%d]", f, i)
		if d.Weight != nil {
			out = append(out, setting{ctrl: "blkio", file: "blkio.weight_device", alt: "blkio.bfq.weight_device", field: field + ".weight",
				value: fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.Weight), hint: bfqHint})
		}
		if d.LeafWeight != nil {
			out = append(out, setting{ctrl: "blkio", file: "blkio.leaf_weight_device", field: field + ".leafWeight",
				value: fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.LeafWeight)})
		}
	}
	for _, t := range []struct {
		name, file string
		devs       []rspec.LinuxThrottleDevice
	}{
		{"throttleReadBpsDevice", "blkio.throttle.read_bps_device", b.ThrottleReadBpsDevice},
		{"throttleWriteBpsDevice", "blkio.throttle.write_bps_device", b.ThrottleWriteBpsDevice},
		{"throttleReadIOPSDevice", "blkio.throttle.read_iops_device", b.ThrottleReadIOPSDevice},
		{"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", b.ThrottleWriteIOPSDevice},
	} {
		for i, d := range t.devs {
			out = append(out, setting{ctrl: "blkio", file: t.file, field: fmt.Sprintf("%s%s[%d]", f, t.name, i),
				value: fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.Rate)})
		}
	}
	return out
}

// checkIdle refuses shares for an idle cgroup: the kernel gives it the
// least weight and rejects any other.
func checkIdle(c *rspec.LinuxCPU) error {
	if c.Idle != nil && *c.Idle == 1 && nonZero(c.Shares) {
		return errField(res+".cpu.shares", utoa(*c.Shares), "an idle cgroup (cpu.idle 1) takes no shares", "set shares to 0 (unset), or idle to 0")
	}
	return nil
}

// rdmaLine is one line of rdma.max ("mlx4_0 hca_handle=2 hca_object=max").
func rdmaLine(dev string, l rspec.LinuxRdma) string {
	v := func(p *uint32) string {
		if p == nil {
			return "max"
		}
		return strconv.FormatUint(uint64(*p), 10)
	}
	return fmt.Sprintf("%s hca_handle=%s hca_object=%s", dev, v(l.HcaHandles), v(l.HcaObjects))
}

// pidsMax is pids.max for a limit: -1 means no limit; 0 is a limit
// (runtime-spec 1.3: the kernel takes it, runtimes should too).
func pidsMax(limit int64) string {
	if limit < 0 {
		return "max"
	}
	return itoa(limit)
}

func itoa(v int64) string      { return strconv.FormatInt(v, 10) }
func utoa(v uint64) string     { return strconv.FormatUint(v, 10) }
func utoa16(v uint16) string   { return strconv.FormatUint(uint64(v), 10) }
func nonZero(p *uint64) bool   { return p != nil && *p != 0 }
func set(p *int64) bool        { return p != nil && *p != 0 }
func nonZero16(p *uint16) bool { return p != nil && *p != 0 }

func boolNum(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
