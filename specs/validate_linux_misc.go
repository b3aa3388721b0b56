package specs

import (
	"fmt"
	"sort"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/cpulist"
	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/sched"
)

// Checks of linux.personality, .memoryPolicy, .intelRdt and .netDevices.

func personality(pe *rspec.LinuxPersonality) error {
	if pe == nil {
		return nil
	}
	if pe.Domain != rspec.PerLinux && pe.Domain != rspec.PerLinux32 {
		return errs.Field("linux.personality.domain", string(pe.Domain), "use LINUX or LINUX32", "unknown personality domain")
	}
	if len(pe.Flags) > 0 {
		return errs.Field("linux.personality.flags", string(pe.Flags[0]), "remove linux.personality.flags", "runtime-spec defines no personality flags")
	}
	return nil
}

func memoryPolicy(m *rspec.LinuxMemoryPolicy) error {
	if m == nil {
		return nil
	}
	const f = "linux.memoryPolicy."
	if _, ok := sched.MemoryMode(m.Mode); !ok {
		return errs.Field(f+"mode", string(m.Mode), "use one of "+sched.MemoryModeNames, "unknown memory policy mode")
	}
	nodes, err := cpulist.Parse(m.Nodes)
	if err != nil {
		return errs.Field(f+"nodes", m.Nodes, `write a list of memory nodes and ranges, e.g. "0-1"`, "%v", err)
	}
	switch m.Mode {
	case rspec.MpolDefault, rspec.MpolLocal:
		if len(nodes) > 0 {
			return errs.Field(f+"nodes", m.Nodes, "remove nodes: "+string(m.Mode)+" takes none", "nodes given")
		}
	case rspec.MpolBind, rspec.MpolInterleave, rspec.MpolWeightedInterleave, rspec.MpolPreferredMany:
		if len(nodes) == 0 {
			return errs.Field(f+"nodes", m.Nodes, `name the memory nodes, e.g. "0"`, "none given, and %s needs at least one", m.Mode)
		}
	}
	var static, relative bool
	for i, fl := range m.Flags {
		if _, ok := sched.MemoryFlag(fl); !ok {
			return errs.Field(fmt.Sprintf(f+"flags[%d]", i), string(fl), "use one of "+sched.MemoryFlagNames, "unknown memory policy flag")
		}
		static = static || fl == rspec.MpolFStaticNodes
		relative = relative || fl == rspec.MpolFRelativeNodes
	}
	if static && relative {
		return errs.Field(f+"flags", "MPOL_F_STATIC_NODES, MPOL_F_RELATIVE_NODES", "keep one of the two", "the flags exclude each other")
	}
	return nil
}

// intelRdt: gorun has no Intel RDT support (features says so), and the
// spec asks for an error rather than a container without it.
func intelRdt(r *rspec.LinuxIntelRdt) error {
	if r == nil {
		return nil
	}
	return errs.Field("linux.intelRdt", r.ClosID, "remove linux.intelRdt: gorun does not implement Intel RDT (resctrl); `gorun features` reports intelRdt.enabled false",
		"not supported")
}

// netDevices checks linux.netDevices: host interfaces moved into the
// container's own network namespace, optionally renamed.
func netDevices(l *rspec.Linux) error {
	if len(l.NetDevices) == 0 {
		return nil
	}
	if ok, _ := namespace(l, rspec.NetworkNamespace); !ok {
		return errs.Field("linux.netDevices", "", `add {"type": "network"} to linux.namespaces`,
			"network devices are moved into the container's network namespace, and it has none of its own")
	}
	hosts := make([]string, 0, len(l.NetDevices))
	for h := range l.NetDevices {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	targets := make(map[string]string, len(hosts))
	for _, h := range hosts {
		if err := ifName("linux.netDevices", h, false); err != nil {
			return err
		}
		name := l.NetDevices[h].Name
		if name == "" {
			name = h
		} else if err := ifName("linux.netDevices["+h+"].name", name, true); err != nil {
			return err
		}
		if other, dup := targets[name]; dup && !strings.Contains(name, "%d") {
			return errs.Field("linux.netDevices["+h+"].name", name, "give each device its own name in the container",
				"%s is moved to that name too", other)
		}
		targets[name] = h
	}
	return nil
}

// ifName checks a network interface name as the kernel does
// (dev_valid_name): 1 to 15 bytes, no "/", ":" or white space, not "." or
// "..". A name in the container may be a template with one "%d".
func ifName(field, n string, template bool) error {
	bad := n == "" || len(n) > 15 || n == "." || n == ".." || strings.ContainsAny(n, "/: \t\n\r\v\f")
	if !bad && strings.Contains(n, "%") {
		bad = !template || strings.Count(n, "%") > 1 || !strings.Contains(n, "%d")
	}
	if bad {
		return errs.Field(field, n, `use an interface name of 1 to 15 characters without "/", ":" or spaces (in the container, "%d" once lets the kernel number it)`,
			"invalid network interface name")
	}
	return nil
}
