package specs

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/cpulist"
	"github.com/gorun/gorun/libcontainer/errs"
)

const res = "linux.resources"

func resources(r *rspec.LinuxResources) error {
	if r == nil {
		return nil
	}
	return first(
		func() error { return deviceRules(r.Devices) },
		func() error { return memory(r.Memory) },
		func() error { return cpu(r.CPU) },
		func() error { return pids(r.Pids) },
		func() error { return blockIO(r.BlockIO) },
		func() error { return hugepages(r.HugepageLimits) },
		func() error { return unified(r.Unified) },
	)
}

func deviceRules(rules []rspec.LinuxDeviceCgroup) error {
	for i, d := range rules {
		field := fmt.Sprintf("%s.devices[%d]", res, i)
		switch d.Type {
		case "", "a", "c", "b":
		default:
			return errs.Field(field+".type", d.Type, `use "a" for all devices, "c" for character or "b" for block devices`, "unknown device type")
		}
		if strings.Trim(d.Access, "rwm") != "" {
			return errs.Field(field+".access", d.Access, `use letters from "rwm": read, write, mknod`, "invalid access")
		}
		for _, n := range []struct {
			name string
			v    *int64
		}{{"major", d.Major}, {"minor", d.Minor}} {
			if n.v != nil && *n.v < -1 {
				return errs.Field(field+"."+n.name, fmt.Sprint(*n.v), "use a device number, or -1 or nothing for any",
					"out of range")
			}
		}
	}
	return nil
}

func memory(m *rspec.LinuxMemory) error {
	if m == nil {
		return nil
	}
	for _, n := range []struct {
		name string
		v    *int64
	}{{"limit", m.Limit}, {"reservation", m.Reservation}, {"swap", m.Swap}} {
		if n.v != nil && *n.v < -1 {
			return errs.Field(res+".memory."+n.name, fmt.Sprint(*n.v),
				"use a size in bytes, or -1 for unlimited", "out of range")
		}
	}
	if m.Limit != nil && m.Swap != nil && *m.Limit > 0 && *m.Swap > 0 && *m.Swap < *m.Limit {
		return errs.Field(res+".memory.swap", fmt.Sprint(*m.Swap),
			fmt.Sprintf("swap is memory plus swap: set it to at least the memory limit %d, or -1 for unlimited swap", *m.Limit),
			"swap is below the memory limit")
	}
	if s := m.Swappiness; s != nil && *s > 100 && *s != math.MaxUint64 {
		return errs.Field(res+".memory.swappiness", fmt.Sprint(*s), "use a value from 0 to 100", "out of range")
	}
	return nil
}

func cpu(c *rspec.LinuxCPU) error {
	if c == nil {
		return nil
	}
	// Zero means unset for shares, quota and period, as runc treats it.
	if s := c.Shares; s != nil && *s != 0 && (*s < 2 || *s > 262144) {
		return errs.Field(res+".cpu.shares", fmt.Sprint(*s), "use a weight from 2 to 262144; 1024 is the default", "out of range")
	}
	if q := c.Quota; q != nil && *q != 0 && *q != -1 && *q < 1000 {
		return errs.Field(res+".cpu.quota", fmt.Sprint(*q),
			"use -1 for no limit, or at least 1000 microseconds, the kernel's minimum", "out of range")
	}
	if p := c.Period; p != nil && *p != 0 && (*p < 1000 || *p > 1000000) {
		return errs.Field(res+".cpu.period", fmt.Sprint(*p),
			"use a period from 1000 to 1000000 microseconds; 100000 is the default", "out of range")
	}
	if err := cpuList(res+".cpu.cpus", c.Cpus); err != nil {
		return err
	}
	return cpuList(res+".cpu.mems", c.Mems)
}

// cpuList checks a cpuset list such as "0-3,8".
func cpuList(field, list string) error {
	if _, err := cpulist.Parse(list); err != nil {
		return errs.Field(field, list, `write a list of numbers and ranges, e.g. "0-3,8"`, "%v", err)
	}
	return nil
}

func pids(p *rspec.LinuxPids) error {
	if p != nil && p.Limit != nil && *p.Limit < -1 {
		return errs.Field(res+".pids.limit", fmt.Sprint(*p.Limit), "use a maximum number of processes (0 allows no new ones), or -1 for no limit",
			"out of range")
	}
	return nil
}

func blockIO(b *rspec.LinuxBlockIO) error {
	if b == nil {
		return nil
	}
	check := func(field string, w *uint16) error {
		if w != nil && *w != 0 && (*w < 10 || *w > 1000) {
			return errs.Field(field, fmt.Sprint(*w), "use a weight from 10 to 1000", "out of range")
		}
		return nil
	}
	if err := check(res+".blockIO.weight", b.Weight); err != nil {
		return err
	}
	if err := check(res+".blockIO.leafWeight", b.LeafWeight); err != nil {
		return err
	}
	for i, d := range b.WeightDevice {
		f := fmt.Sprintf("%s.blockIO.weightDevice[%d]", res, i)
		if err := check(f+".weight", d.Weight); err != nil {
			return err
		}
		if err := check(f+".leafWeight", d.LeafWeight); err != nil {
			return err
		}
	}
	return nil
}

// pageSize is compiled on first use, not in every gorun process's init.
var pageSize = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[1-9][0-9]*[KMGTP]B$`) })

func hugepages(h []rspec.LinuxHugepageLimit) error {
	for i, l := range h {
		if !pageSize().MatchString(l.Pagesize) {
			return errs.Field(fmt.Sprintf("%s.hugepageLimits[%d].pageSize", res, i), l.Pagesize,
				`write the page size like "2MB" or "1GB"`, "malformed page size")
		}
	}
	return nil
}

func unified(u map[string]string) error {
	keys := make([]string, 0, len(u))
	for k := range u {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "" || k == "." || k == ".." || strings.ContainsAny(k, "/\x00") {
			return errs.Field(res+".unified", k, `use a cgroup v2 file name such as "memory.high", without slashes`,
				"not a cgroup file name")
		}
	}
	return nil
}

// ValidateResources checks linux.resources on its own, for `gorun update`,
// which applies resources without a whole config.
func ValidateResources(r *rspec.LinuxResources) error { return resources(r) }
