package cgroups

import (
	"fmt"
	"math"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// v2Settings converts linux.resources into writes to cgroup v2 files, on a
// unified host. It does the conversion itself rather than through the
// library's cgroup2.ToResources, which drops devices, the unified map,
// cpu.burst and cpu.idle, turns -1 (unlimited) into "-1" where the kernel
// wants "max" (memory, swap, pids, quota), needs a period to write a quota,
// and writes io.bfq.weight on the io.weight scale. Device rules are not
// settings: see v2DeviceRules.
//
// Fields with no cgroup v2 counterpart are ignored when they ask for
// nothing a v2 host does not do anyway (kernel memory limits, swappiness,
// useHierarchy true, the OOM killer left on, blkio leaf weights), and are
// an error otherwise (realtime scheduling, net_cls and net_prio): the
// container would run without a limit its config asks for.
func v2Settings(r *rspec.LinuxResources) ([]setting, error) {
	if r == nil {
		return nil, nil
	}
	var out []setting
	add := func(ctrl, file, field, value string) {
		out = append(out, setting{ctrl: ctrl, file: file, field: field, value: value})
	}
	if m := r.Memory; m != nil {
		const f = res + ".memory."
		if set(m.Limit) {
			add("memory", "memory.max", f+"limit", maxOr(*m.Limit))
		}
		if set(m.Swap) {
			swap, err := v2Swap(*m.Swap, m.Limit)
			if err != nil {
				return nil, err
			}
			add("memory", "memory.swap.max", f+"swap", swap)
		}
		if set(m.Reservation) {
			add("memory", "memory.low", f+"reservation", maxOr(*m.Reservation))
		}
		if m.DisableOOMKiller != nil && *m.DisableOOMKiller {
			return nil, errField(f+"disableOOMKiller", "true", "cgroup v2 cannot disable the OOM killer", "remove the setting on a cgroup v2 host")
		}
		if m.UseHierarchy != nil && !*m.UseHierarchy {
			return nil, errField(f+"useHierarchy", "false", "cgroup v2 accounting is always hierarchical", "remove the setting on a cgroup v2 host")
		}
	}
	if c := r.CPU; c != nil {
		const f = res + ".cpu."
		if err := checkIdle(c); err != nil {
			return nil, err
		}
		if nonZero(c.Shares) {
			add("cpu", "cpu.weight", f+"shares", utoa(sharesToWeight(*c.Shares)))
		}
		if c.Idle != nil {
			add("cpu", "cpu.idle", f+"idle", itoa(*c.Idle))
		}
		quota := set(c.Quota)
		if quota || nonZero(c.Period) {
			q, p := "max", "100000"
			if quota && *c.Quota > 0 {
				q = itoa(*c.Quota)
			}
			if nonZero(c.Period) {
				p = utoa(*c.Period)
			}
			field := f + "quota"
			if !quota {
				field = f + "period"
			}
			add("cpu", "cpu.max", field, q+" "+p)
		}
		if c.Burst != nil {
			add("cpu", "cpu.max.burst", f+"burst", utoa(*c.Burst))
		}
		if nonZero(c.RealtimePeriod) || set(c.RealtimeRuntime) {
			v := ""
			if c.RealtimeRuntime != nil {
				v = itoa(*c.RealtimeRuntime)
			}
			return nil, errField(f+"realtimeRuntime", v, "cgroup v2 has no realtime group scheduling",
				"remove realtimeRuntime and realtimePeriod on a cgroup v2 host")
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
		out = append(out, v2IOSettings(b)...)
	}
	for i, h := range r.HugepageLimits {
		field := fmt.Sprintf("%s.hugepageLimits[%d]", res, i)
		v := utoa(h.Limit)
		out = append(out,
			setting{ctrl: "hugetlb", file: "hugetlb." + h.Pagesize + ".max", field: field, value: v, hint: hugetlbHint},
			setting{ctrl: "hugetlb", file: "hugetlb." + h.Pagesize + ".rsvd.max", field: field, value: v, optional: true})
	}
	if n := r.Network; n != nil && (n.ClassID != nil || len(n.Priorities) > 0) {
		return nil, errField(res+".network", "", "net_cls and net_prio are cgroup v1 controllers; cgroup v2 has neither",
			"remove linux.resources.network on a cgroup v2 host")
	}
	for _, dev := range sortedKeys(r.Rdma) {
		add("rdma", "rdma.max", res+".rdma."+dev, rdmaLine(dev, r.Rdma[dev]))
	}
	// The unified map goes last: it overrides what the other fields set.
	for _, k := range sortedKeys(r.Unified) {
		if err := checkUnifiedKey(k, r.Unified[k]); err != nil {
			return nil, err
		}
		out = append(out, setting{ctrl: unifiedController(k), file: k, field: res + ".unified." + k, value: r.Unified[k], hint: unifiedHint})
	}
	return out, nil
}

// v2IOSettings converts blockIO to the io controller. Weights go to
// io.bfq.weight where the kernel has it (BFQ takes blkio's 10..1000 scale
// as is), else to io.weight on its 1..10000 scale.
func v2IOSettings(b *rspec.LinuxBlockIO) []setting {
	const f = res + ".blockIO."
	var out []setting
	if nonZero16(b.Weight) {
		w := *b.Weight
		out = append(out, setting{ctrl: "io", file: "io.bfq.weight", field: f + "weight", value: utoa16(w),
			alt: "io.weight", altValue: utoa(blkioToIOWeight(w)), hint: bfqHint})
	}
	for i, d := range b.WeightDevice {
		if d.Weight == nil {
			continue
		}
		dev := fmt.Sprintf("%d:%d ", d.Major, d.Minor)
		out = append(out, setting{ctrl: "io", file: "io.bfq.weight", field: fmt.Sprintf("%sweightDevice[%d].weight", f, i),
			value: dev + utoa16(*d.Weight), alt: "io.weight", altValue: dev + utoa(blkioToIOWeight(*d.Weight)), hint: bfqHint})
	}
	for _, t := range []struct {
		name, key string
		devs      []rspec.LinuxThrottleDevice
	}{
		{"throttleReadBpsDevice", "rbps", b.ThrottleReadBpsDevice},
		{"throttleWriteBpsDevice", "wbps", b.ThrottleWriteBpsDevice},
		{"throttleReadIOPSDevice", "riops", b.ThrottleReadIOPSDevice},
		{"throttleWriteIOPSDevice", "wiops", b.ThrottleWriteIOPSDevice},
	} {
		for i, d := range t.devs {
			out = append(out, setting{ctrl: "io", file: "io.max", field: fmt.Sprintf("%s%s[%d]", f, t.name, i),
				value: fmt.Sprintf("%d:%d %s=%d", d.Major, d.Minor, t.key, d.Rate)})
		}
	}
	return out
}

// v2Swap converts linux.resources.memory.swap, memory plus swap as on v1,
// to memory.swap.max, swap alone.
func v2Swap(swap int64, limit *int64) (string, error) {
	if swap == -1 {
		return "max", nil
	}
	if !set(limit) || *limit == -1 {
		return "", errField(res+".memory.swap", itoa(swap), "a swap limit (memory plus swap) needs a memory limit",
			"set linux.resources.memory.limit too, or swap to -1")
	}
	if swap < *limit {
		return "", errField(res+".memory.swap", itoa(swap), "below the memory limit "+itoa(*limit),
			"swap is memory plus swap: set it to at least the memory limit, or -1 for unlimited swap")
	}
	return itoa(swap - *limit), nil
}

// maxOr is a v2 limit: -1 is "max".
func maxOr(v int64) string {
	if v == -1 {
		return "max"
	}
	return itoa(v)
}

// sharesToWeight maps cpu.shares (2..262144, default 1024) onto cpu.weight
// (1..10000, default 100) so that the three ends meet: 2 → 1, 1024 → 100,
// 262144 → 10000, by a quadratic in the logarithms (log10 of the weight as
// a quadratic in log2 of the shares through those three points), as
// current runc and crun map them. A linear map gave the default 1024
// shares a weight of 39, against the host's services' 100.
func sharesToWeight(shares uint64) uint64 {
	switch {
	case shares <= 2:
		return 1
	case shares >= 262144:
		return 10000
	}
	x := math.Log2(float64(shares))
	return uint64(math.Ceil(math.Pow(10, (x*x+125*x)/612-7.0/34)))
}

// blkioToIOWeight maps a blkio weight (10..1000) onto io.weight (1..10000):
// 10 → 1, 1000 → 10000.
func blkioToIOWeight(w uint16) uint64 {
	v := uint64(min(max(w, 10), 1000))
	return 1 + (v-10)*9999/990
}

// unifiedNotLimits are the cgroup2 core files that are not limits: they
// move processes in (any host process, by pid), kill or freeze them, or
// change the tree; the unified map must not reach them.
var unifiedNotLimits = map[string]bool{
	"cgroup.procs": true, "cgroup.threads": true, "cgroup.kill": true, "cgroup.freeze": true,
	"cgroup.subtree_control": true, "cgroup.type": true,
}

// checkUnifiedKey refuses a linux.resources.unified key that is not a
// limit (the specs package has already refused names with a slash).
func checkUnifiedKey(k, v string) error {
	if unifiedNotLimits[k] {
		return errField(res+".unified."+k, v, "not a resource limit", "remove it: gorun moves, freezes and kills the container's processes itself")
	}
	return nil
}

// unifiedController is the controller a cgroup v2 file belongs to: the part
// of its name before the first dot ("" for the core cgroup.* files).
func unifiedController(file string) string {
	c, _, _ := strings.Cut(file, ".")
	if c == "cgroup" {
		return ""
	}
	return c
}
