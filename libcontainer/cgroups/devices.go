package cgroups

import (
	"fmt"
	"strconv"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultDevices are the devices every container may use whatever its
// linux.resources.devices say (runtime-spec config-linux.md "Default
// Devices", plus /dev/pts/* and /dev/ptmx for terminals, /dev/net/tun as
// runc allows it (VPN containers bind-mount it and rely on that), and mknod
// of any device, which grants no access by itself), allowed after the
// config's own rules as runc and crun do. Not the host's console (c 5:1):
// a container's /dev/console is a bind of its pty, and with mknod allowed
// a 5:1 rule would open the host's console to it.
var defaultDevices = []rspec.LinuxDeviceCgroup{
	{Allow: true, Type: "c", Major: i64(-1), Minor: i64(-1), Access: "m"},
	{Allow: true, Type: "b", Major: i64(-1), Minor: i64(-1), Access: "m"},
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"},    // null
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(5), Access: "rwm"},    // zero
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(7), Access: "rwm"},    // full
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(8), Access: "rwm"},    // random
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(9), Access: "rwm"},    // urandom
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(0), Access: "rwm"},    // tty
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(2), Access: "rwm"},    // ptmx
	{Allow: true, Type: "c", Major: i64(136), Minor: i64(-1), Access: "rwm"}, // pts
	{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "rwm"}, // net/tun
}

func i64(v int64) *int64 { return &v }

// denyAll is the rule a container's device list starts from.
var denyAll = rspec.LinuxDeviceCgroup{Allow: false, Type: "a", Major: i64(-1), Minor: i64(-1), Access: "rwm"}

// deviceRule is one rule of a container's device list and the field it
// comes from.
type deviceRule struct {
	rspec.LinuxDeviceCgroup
	field string
}

// deviceRules returns the complete device list of a container: deny
// everything, then the config's rules, normalised and in order, then the
// default devices. linux.resources.devices is an allowlist: whatever it
// does not allow is denied, as runc and crun do, whether or not it starts
// with a deny-all rule of its own (a v1 devices cgroup would otherwise
// start from its parent's allow-all).
func deviceRules(rules []rspec.LinuxDeviceCgroup) []deviceRule {
	out := make([]deviceRule, 0, 1+len(rules)+len(defaultDevices))
	if len(rules) == 0 || !isDenyAll(normalizeDevice(rules[0])) {
		out = append(out, deviceRule{denyAll, "linux.resources.devices (an allowlist: it starts from deny-all)"})
	}
	for i, d := range rules {
		out = append(out, deviceRule{normalizeDevice(d), fmt.Sprintf("linux.resources.devices[%d]", i)})
	}
	for _, d := range defaultDevices {
		out = append(out, deviceRule{d, "default devices"})
	}
	return out
}

func isDenyAll(d rspec.LinuxDeviceCgroup) bool {
	return !d.Allow && d.Type == "a" && *d.Major == -1 && *d.Minor == -1 && d.Access == "rwm"
}

// normalizeDevice fills in what a device rule leaves out: type "a",
// major/minor -1 (any) and access "rwm". The library's eBPF filter rejects
// a rule with an empty type, which the runtime-spec allows for "all".
func normalizeDevice(d rspec.LinuxDeviceCgroup) rspec.LinuxDeviceCgroup {
	if d.Type == "" {
		d.Type = "a"
	}
	if d.Major == nil {
		d.Major = i64(-1)
	}
	if d.Minor == nil {
		d.Minor = i64(-1)
	}
	if d.Access == "" {
		d.Access = "rwm"
	}
	return d
}

// v1DeviceSettings turns the device list into devices.deny and
// devices.allow lines ("c 1:3 rwm"), in order: the kernel applies each to
// the list it keeps.
func v1DeviceSettings(rules []rspec.LinuxDeviceCgroup) []setting {
	all := deviceRules(rules)
	out := make([]setting, 0, len(all))
	for _, d := range all {
		file := "devices.deny"
		if d.Allow {
			file = "devices.allow"
		}
		out = append(out, setting{ctrl: "devices", file: file, field: d.field,
			value: fmt.Sprintf("%s %s:%s %s", d.Type, devNum(*d.Major), devNum(*d.Minor), d.Access)})
	}
	return out
}

func devNum(n int64) string {
	if n < 0 {
		return "*"
	}
	return strconv.FormatInt(n, 10)
}

// v2DeviceRules returns the device list for the library's eBPF device
// filter. The filter reads the rules last to first and stops at a wildcard
// rule, so the leading deny-all is its default.
func v2DeviceRules(rules []rspec.LinuxDeviceCgroup) []rspec.LinuxDeviceCgroup {
	all := deviceRules(rules)
	out := make([]rspec.LinuxDeviceCgroup, len(all))
	for i, d := range all {
		out[i] = d.LinuxDeviceCgroup
	}
	return out
}
