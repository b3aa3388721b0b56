package cgroups

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/cpulist"
)

// systemd resets a unit's cgroup attributes to what its properties say
// whenever it realizes the unit again (a `systemctl daemon-reload`, a
// sibling's change). gorun writes every limit into the cgroup files itself,
// as with cgroupfs, and also tells systemd the limits systemd knows, so that
// such a reset leaves them as they are: memory, CPU shares or weight and
// quota, tasks, the block I/O weight, CPU and memory node sets on a unified
// host, and the device rules. What systemd has no property for
// (memory.swappiness, hugetlb, rdma, unified keys...) only gorun writes.

// infinity is systemd's "no limit" for its uint64 properties.
const infinity = math.MaxUint64

// systemdProperties returns the unit properties for resources r: v1
// property names on a legacy or hybrid host (where systemd manages the v1
// controllers), v2 ones on a unified host. devices is false for an update,
// which does not change device rules. Warnings are what systemd cannot be
// told (it then resets those to its own view on a reload).
func systemdProperties(r *rspec.LinuxResources, unified, devices bool) (props []sd.Property, warnings []string) {
	add := func(name string, v any) {
		props = append(props, sd.Property{Name: name, Value: dbus.MakeVariant(v)})
	}
	if r == nil {
		r = &rspec.LinuxResources{}
	}
	if m := r.Memory; m != nil {
		if set(m.Limit) {
			name := "MemoryLimit"
			if unified {
				name = "MemoryMax"
			}
			add(name, limitOrInfinity(*m.Limit))
		}
		if unified && set(m.Reservation) {
			add("MemoryLow", limitOrInfinity(*m.Reservation))
		}
		if unified && set(m.Swap) {
			switch {
			case *m.Swap == -1:
				add("MemorySwapMax", uint64(infinity))
			case set(m.Limit) && *m.Limit > 0 && *m.Swap >= *m.Limit:
				// memory.swap.max is the swap alone; the spec's swap is
				// memory plus swap.
				add("MemorySwapMax", uint64(*m.Swap-*m.Limit))
			}
		}
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil && *c.Shares != 0 {
			if unified {
				add("CPUWeight", sharesToWeight(*c.Shares))
			} else {
				add("CPUShares", *c.Shares)
			}
		}
		if c.Period != nil && *c.Period != 0 {
			add("CPUQuotaPeriodUSec", *c.Period)
		}
		if c.Quota != nil && *c.Quota != 0 {
			add("CPUQuotaPerSecUSec", quotaPerSec(*c.Quota, c.Period))
		}
		if unified && c.Cpus != "" {
			if mask, err := bitmask(c.Cpus); err == nil {
				add("AllowedCPUs", mask)
			}
		}
		if unified && c.Mems != "" {
			if mask, err := bitmask(c.Mems); err == nil {
				add("AllowedMemoryNodes", mask)
			}
		}
	}
	if p := r.Pids; p != nil && set(p.Limit) {
		add("TasksMax", limitOrInfinity(*p.Limit))
	} else if p != nil && p.Limit != nil {
		warnings = append(warnings, "linux.resources.pids.limit 0: systemd takes no TasksMax of 0, so a reload gives the scope systemd's default task limit")
	}
	if b := r.BlockIO; b != nil && b.Weight != nil && *b.Weight != 0 {
		if unified {
			add("IOWeight", blkioToIOWeight(*b.Weight))
		} else {
			add("BlockIOWeight", uint64(*b.Weight))
		}
	}
	if unified {
		props = append(props, unifiedProperties(r.Unified)...)
	}
	if devices {
		allow, warns := systemdDeviceAllow(r.Devices, procDevices)
		add("DevicePolicy", "strict")
		add("DeviceAllow", allow)
		warnings = append(warnings, warns...)
	}
	return props, warnings
}

func limitOrInfinity(v int64) uint64 {
	if v < 0 {
		return infinity
	}
	return uint64(v)
}

// quotaPerSec is CFS quota per period as systemd's CPUQuotaPerSecUSec:
// microseconds of CPU per second, which systemd keeps in steps of 1% of
// a CPU (10 ms); rounded up, so that systemd's value is never tighter than
// the one gorun writes.
func quotaPerSec(quota int64, period *uint64) uint64 {
	if quota < 0 {
		return infinity
	}
	p := uint64(100000)
	if period != nil && *period != 0 {
		p = *period
	}
	us := uint64(quota) * 1000000 / p
	if r := us % 10000; r != 0 {
		us += 10000 - r
	}
	return us
}

// bitmask turns a CPU or node list ("0-2,5") into systemd's byte array,
// lowest number in the lowest bit of the first byte.
func bitmask(list string) ([]byte, error) {
	ns, err := cpulist.Parse(list)
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, n := range ns {
		for len(out) <= n/8 {
			out = append(out, 0)
		}
		out[n/8] |= 1 << (n % 8)
	}
	return out, nil
}

// deviceAllow is one entry of systemd's DeviceAllow property (D-Bus a(ss)).
type deviceAllow struct {
	Path  string
	Perms string
}

// systemdDeviceAllow turns the container's device list (deviceRules: deny
// all, the config's rules, the default devices) into DeviceAllow entries
// for DevicePolicy=strict. systemd's list only adds: a deny rule takes
// access away from the entries before it that it covers; an entry it
// covers only in part (allow c 136:*, then deny c 136:3) cannot be split
// and is left out, with a warning, as is a rule systemd has no name for (a
// major not in /proc/devices with any minor). systemd's view is then
// narrower than the container's, never wider. majorName looks up a
// device major's name in /proc/devices.
func systemdDeviceAllow(rules []rspec.LinuxDeviceCgroup, majorName func(typ string, major int64) string) ([]deviceAllow, []string) {
	type entry struct {
		typ          string
		major, minor int64
		access       string
	}
	var entries []entry
	var warnings []string
	for i, d := range deviceRules(rules) {
		if i == 0 {
			continue // deny all: DevicePolicy=strict
		}
		if d.Allow {
			entries = append(entries, entry{d.Type, *d.Major, *d.Minor, d.Access})
			continue
		}
		kept := entries[:0]
		for _, e := range entries {
			if !overlaps(d.Type, *d.Major, *d.Minor, e.typ, e.major, e.minor) {
				kept = append(kept, e)
				continue
			}
			if covers(d.Type, *d.Major, *d.Minor, e.typ, e.major, e.minor) {
				if e.access = without(e.access, d.Access); e.access != "" {
					kept = append(kept, e)
				}
				continue
			}
			warnings = append(warnings, fmt.Sprintf("%s denies part of an earlier rule (%s %s:%s); systemd cannot be told the exception, so its view leaves that rule out",
				d.field, e.typ, devNum(e.major), devNum(e.minor)))
		}
		entries = kept
	}
	var out []deviceAllow
	for _, e := range entries {
		types := []string{e.typ}
		if e.typ == "a" {
			types = []string{"c", "b"}
		}
		for _, t := range types {
			kind := map[string]string{"c": "char", "b": "block"}[t]
			switch {
			case e.major < 0 && e.minor < 0:
				out = append(out, deviceAllow{kind + "-*", e.access})
			case e.major < 0:
				warnings = append(warnings, fmt.Sprintf("systemd has no form for a rule with any major and minor %d; left out of its view", e.minor))
			case e.minor < 0:
				name := majorName(t, e.major)
				if name == "" {
					warnings = append(warnings, fmt.Sprintf("the device major %d (%s) is not in /proc/devices; systemd has no name for it, left out of its view", e.major, kind))
					continue
				}
				out = append(out, deviceAllow{kind + "-" + name, e.access})
			default:
				out = append(out, deviceAllow{fmt.Sprintf("/dev/%s/%d:%d", kind, e.major, e.minor), e.access})
			}
		}
	}
	return out, warnings
}

// overlaps reports whether rules a and b match some device in common.
func overlaps(at string, amaj, amin int64, bt string, bmaj, bmin int64) bool {
	return (at == "a" || bt == "a" || at == bt) && (amaj < 0 || bmaj < 0 || amaj == bmaj) && (amin < 0 || bmin < 0 || amin == bmin)
}

// covers reports whether rule a matches every device rule b matches.
func covers(at string, amaj, amin int64, bt string, bmaj, bmin int64) bool {
	return (at == "a" || at == bt) && (amaj < 0 || amaj == bmaj) && (amin < 0 || amin == bmin)
}

// without removes the letters of take from access ("rwm" minus "w").
func without(access, take string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(take, r) {
			return -1
		}
		return r
	}, access)
}

// procDevices looks up a device major's name in /proc/devices, which
// systemd's "char-NAME" and "block-NAME" entries name.
func procDevices(typ string, major int64) string {
	b, err := os.ReadFile("/proc/devices")
	if err != nil {
		return ""
	}
	return majorFromDevices(b, typ, major)
}

func majorFromDevices(b []byte, typ string, major int64) string {
	section := map[string]string{"c": "Character devices:", "b": "Block devices:"}[typ]
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasSuffix(line, ":") {
			in = line == section
			continue
		}
		num, name, ok := strings.Cut(line, " ")
		// (Major 4 is listed as "/dev/vc/0" and as "tty": systemd
		// matches the name as a pattern; take a plain one.)
		if in && ok && !strings.Contains(name, "/") {
			if n, err := strconv.ParseInt(num, 10, 64); err == nil && n == major {
				return strings.TrimSpace(name)
			}
		}
	}
	return ""
}

// unifiedProperties turns the linux.resources.unified keys systemd has a
// property for into those properties (after the others: the unified keys
// are also written last), as runc does; the kubelet's memory QoS sets
// memory.high there. A value systemd cannot take is left to gorun's write.
func unifiedProperties(unified map[string]string) []sd.Property {
	keys := make([]string, 0, len(unified))
	for k := range unified {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var props []sd.Property
	add := func(name string, v any) {
		props = append(props, sd.Property{Name: name, Value: dbus.MakeVariant(v)})
	}
	limit := func(v string) (uint64, bool) {
		if v == "max" {
			return infinity, true
		}
		n, err := strconv.ParseUint(v, 10, 64)
		return n, err == nil
	}
	memory := map[string]string{"memory.min": "MemoryMin", "memory.low": "MemoryLow", "memory.high": "MemoryHigh",
		"memory.max": "MemoryMax", "memory.swap.max": "MemorySwapMax", "pids.max": "TasksMax"}
	for _, k := range keys {
		v := strings.TrimSpace(unified[k])
		switch {
		case memory[k] != "":
			if n, ok := limit(v); ok {
				add(memory[k], n)
			}
		case k == "cpu.weight":
			if n, err := strconv.ParseUint(v, 10, 64); err == nil {
				add("CPUWeight", n)
			}
		case k == "cpu.max":
			quota, period, _ := strings.Cut(v, " ")
			p := uint64(100000)
			if period != "" {
				n, err := strconv.ParseUint(period, 10, 64)
				if err != nil || n == 0 {
					continue
				}
				p = n
				add("CPUQuotaPeriodUSec", p)
			}
			if quota == "max" {
				add("CPUQuotaPerSecUSec", uint64(infinity))
			} else if q, err := strconv.ParseInt(quota, 10, 64); err == nil && q > 0 {
				add("CPUQuotaPerSecUSec", quotaPerSec(q, &p))
			}
		case k == "cpuset.cpus" || k == "cpuset.mems":
			if mask, err := bitmask(v); err == nil {
				add(map[string]string{"cpuset.cpus": "AllowedCPUs", "cpuset.mems": "AllowedMemoryNodes"}[k], mask)
			}
		case k == "io.weight":
			// "N" or "default N"; per-device weights have no property.
			if n, err := strconv.ParseUint(strings.TrimPrefix(v, "default "), 10, 64); err == nil {
				add("IOWeight", n)
			}
		}
	}
	return props
}
