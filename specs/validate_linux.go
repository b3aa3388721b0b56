package specs

import (
	"fmt"
	"path"
	"sort"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// maxIDMappings is the kernel's limit on lines in uid_map/gid_map.
const maxIDMappings = 340

func (v *validator) linux() error {
	l := v.s.Linux
	if l == nil {
		l = &rspec.Linux{}
	}
	return first(
		func() error { return namespaces(l.Namespaces) },
		func() error { return idMappings(l) },
		func() error { return v.names(l) },
		func() error { return sysctls(l) },
		func() error { return timeOffsets(l) },
		func() error { return cgroupsPath(l.CgroupsPath) },
		func() error { return resources(l.Resources) },
		func() error { return devices(l.Devices) },
		func() error { return seccomp(l.Seccomp) },
		func() error { return linuxPaths(l) },
		func() error { return personality(l.Personality) },
		func() error { return memoryPolicy(l.MemoryPolicy) },
		func() error { return intelRdt(l.IntelRdt) },
		func() error { return netDevices(l) },
	)
}

// namespace returns whether l has a namespace of type t, and its path.
func namespace(l *rspec.Linux, t rspec.LinuxNamespaceType) (ok bool, nsPath string) {
	for _, n := range l.Namespaces {
		if n.Type == t {
			return true, n.Path
		}
	}
	return false, ""
}

func namespaces(nss []rspec.LinuxNamespace) error {
	seen := map[rspec.LinuxNamespaceType]int{}
	for i, n := range nss {
		field := fmt.Sprintf("linux.namespaces[%d]", i)
		t := string(n.Type)
		if !namespaceTypes[t] {
			hint := "use one of " + oneOf(namespaceTypes)
			if a, ok := namespaceAliases[strings.ToLower(t)]; ok {
				hint = "did you mean " + a
			} else if namespaceTypes[strings.ToLower(t)] {
				hint = "did you mean " + strings.ToLower(t)
			}
			return errs.Field(field+".type", t, hint, "unknown namespace type")
		}
		if j, dup := seen[n.Type]; dup {
			return errs.Field(field+".type", t,
				fmt.Sprintf("remove one of the entries; linux.namespaces[%d] has this type already", j),
				"duplicate namespace type")
		}
		seen[n.Type] = i
		if n.Path != "" && !path.IsAbs(n.Path) {
			return errs.Field(field+".path", n.Path,
				"use an absolute path such as /proc/PID/ns/"+nsFile(n.Type)+", or leave path out for a new namespace",
				"not an absolute path")
		}
	}
	return nil
}

// nsFile is the /proc/PID/ns file name of a namespace type.
func nsFile(t rspec.LinuxNamespaceType) string {
	switch t {
	case rspec.NetworkNamespace:
		return "net"
	case rspec.MountNamespace:
		return "mnt"
	}
	return string(t)
}

func idMappings(l *rspec.Linux) error {
	hasUser, userPath := namespace(l, rspec.UserNamespace)
	for _, mp := range []struct {
		name string
		m    []rspec.LinuxIDMapping
	}{{"uidMappings", l.UIDMappings}, {"gidMappings", l.GIDMappings}} {
		field := "linux." + mp.name
		if len(mp.m) > 0 && !hasUser {
			return errs.Field(field, "",
				`add {"type": "user"} to linux.namespaces, or remove the mappings`,
				"%d id mappings but no user namespace", len(mp.m))
		}
		if hasUser && userPath == "" && len(mp.m) == 0 {
			return errs.Field(field, "",
				`map at least container id 0, e.g. [{"containerID": 0, "hostID": 1000, "size": 1}]`,
				"a new user namespace needs %s", mp.name)
		}
		if len(mp.m) > maxIDMappings {
			return errs.Field(field, fmt.Sprintf("%d mappings", len(mp.m)),
				fmt.Sprintf("merge adjacent ranges: the kernel takes at most %d", maxIDMappings),
				"too many mappings")
		}
		if err := mappingRanges(field, mp.m); err != nil {
			return err
		}
	}
	return nil
}

// mappingRanges checks sizes, overflow and overlaps of id mappings.
func mappingRanges(field string, m []rspec.LinuxIDMapping) error {
	const idLimit = 1<<32 - 1 // id 4294967295 is (uid_t)-1, never mappable
	for i, a := range m {
		f := fmt.Sprintf("%s[%d]", field, i)
		if a.Size == 0 {
			return errs.Field(f+".size", "0", "map at least one id", "size must be greater than 0")
		}
		if uint64(a.ContainerID)+uint64(a.Size) > idLimit {
			return errs.Field(f+".size", fmt.Sprint(a.Size), "shrink the range: ids stop at 4294967294",
				"container range %d..%d overflows", a.ContainerID, uint64(a.ContainerID)+uint64(a.Size)-1)
		}
		if uint64(a.HostID)+uint64(a.Size) > idLimit {
			return errs.Field(f+".size", fmt.Sprint(a.Size), "shrink the range: ids stop at 4294967294",
				"host range %d..%d overflows", a.HostID, uint64(a.HostID)+uint64(a.Size)-1)
		}
		for j := range i {
			b := m[j]
			if overlap(a.ContainerID, b.ContainerID, a.Size, b.Size) {
				return errs.Field(f+".containerID", fmt.Sprint(a.ContainerID),
					fmt.Sprintf("make the container ranges of %s[%d] and %s[%d] disjoint", field, j, field, i),
					"container range overlaps %s[%d]", field, j)
			}
			if overlap(a.HostID, b.HostID, a.Size, b.Size) {
				return errs.Field(f+".hostID", fmt.Sprint(a.HostID),
					fmt.Sprintf("make the host ranges of %s[%d] and %s[%d] disjoint", field, j, field, i),
					"host range overlaps %s[%d]", field, j)
			}
		}
	}
	return nil
}

func overlap(a, b, asize, bsize uint32) bool {
	return uint64(a) < uint64(b)+uint64(bsize) && uint64(b) < uint64(a)+uint64(asize)
}

// names checks hostname and domainname, which need a uts namespace of the
// container's own, new or joined.
func (v *validator) names(l *rspec.Linux) error {
	hasUTS, utsPath := namespace(l, rspec.UTSNamespace)
	for _, n := range []struct{ field, value string }{
		{"hostname", v.s.Hostname},
		{"domainname", v.s.Domainname},
	} {
		if n.value == "" {
			continue
		}
		switch {
		case !hasUTS:
			return errs.Field(n.field, n.value,
				fmt.Sprintf(`add {"type": "uts"} to linux.namespaces, or remove %s`, n.field),
				"setting the %s needs a new uts namespace", n.field)
		case utsPath != "" && sameNamespace(utsPath, "/proc/self/ns/uts"):
			// A joined namespace (a pod's, as CRI-O and podman pass it)
			// gets the name, as with runc; the host's own must not.
			return errs.Field(n.field, n.value,
				fmt.Sprintf("remove %s: linux.namespaces names gorun's own uts namespace (%s), and setting it would rename the host", n.field, utsPath),
				"the joined uts namespace is the host's")
		case len(n.value) > 64:
			return errs.Field(n.field, n.value, "use at most 64 characters", "too long")
		case strings.IndexByte(n.value, 0) >= 0:
			return errs.Field(n.field, n.value, "remove the NUL byte", "contains a NUL byte")
		}
	}
	return nil
}

func sysctls(l *rspec.Linux) error {
	keys := make([]string, 0, len(l.Sysctl))
	for k := range l.Sysctl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		norm := strings.ReplaceAll(k, "/", ".")
		var need rspec.LinuxNamespaceType
		switch {
		case k == "" || strings.IndexByte(k, 0) >= 0 || strings.Contains(norm, "..") ||
			strings.HasPrefix(norm, ".") || strings.HasSuffix(norm, "."):
			return errs.Field("linux.sysctl", k, `write the key like "net.ipv4.ip_forward"`, "malformed sysctl name")
		case ipcSysctls[norm] || strings.HasPrefix(norm, "fs.mqueue."):
			need = rspec.IPCNamespace
		case strings.HasPrefix(norm, "net."):
			need = rspec.NetworkNamespace
		case utsSysctls[norm]:
			need = rspec.UTSNamespace
		default:
			return errs.Field("linux.sysctl", k,
				"a container can set only namespaced sysctls: kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, net.*, kernel.hostname, kernel.domainname",
				"sysctl is not namespaced")
		}
		if ok, _ := namespace(l, need); !ok {
			return errs.Field("linux.sysctl", k,
				fmt.Sprintf(`add {"type": %q} to linux.namespaces, or remove the sysctl`, need),
				"sysctl belongs to the %s namespace, which the container does not have", need)
		}
	}
	return nil
}

func timeOffsets(l *rspec.Linux) error {
	if len(l.TimeOffsets) == 0 {
		return nil
	}
	keys := make([]string, 0, len(l.TimeOffsets))
	for k := range l.TimeOffsets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "monotonic" && k != "boottime" {
			return errs.Field("linux.timeOffsets", k, "use monotonic or boottime", "unknown clock")
		}
		if l.TimeOffsets[k].Nanosecs >= 1e9 {
			return errs.Field("linux.timeOffsets."+k+".nanosecs", fmt.Sprint(l.TimeOffsets[k].Nanosecs),
				"use less than 1000000000 and put whole seconds in secs", "out of range")
		}
	}
	if ok, p := namespace(l, rspec.TimeNamespace); !ok || p != "" {
		return errs.Field("linux.timeOffsets", keys[0],
			`add {"type": "time"} without a path to linux.namespaces, or remove linux.timeOffsets`,
			"time offsets need a new time namespace")
	}
	return nil
}

func cgroupsPath(p string) error {
	for _, el := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == ':' }) {
		if el == ".." {
			return errs.Field("linux.cgroupsPath", p, `remove the ".." element: the path must stay inside the cgroup hierarchy`,
				"path escapes the cgroup hierarchy")
		}
	}
	if strings.IndexByte(p, 0) >= 0 {
		return errs.Field("linux.cgroupsPath", p, "remove the NUL byte", "contains a NUL byte")
	}
	return nil
}

func devices(ds []rspec.LinuxDevice) error {
	const maxMajor, maxMinor = 1<<12 - 1, 1<<20 - 1
	for i, d := range ds {
		field := fmt.Sprintf("linux.devices[%d]", i)
		switch {
		case d.Type != "c" && d.Type != "b" && d.Type != "u" && d.Type != "p":
			return errs.Field(field+".type", d.Type,
				`use "c" for a character device, "b" for block, "u" for unbuffered character or "p" for a fifo`, "unknown device type")
		case d.Path == "":
			return errs.Field(field+".path", "", `set path to the device's path in the container, e.g. "/dev/fuse"`, "empty")
		case !path.IsAbs(d.Path):
			return errs.Field(field+".path", d.Path, `use an absolute path in the container, e.g. "/dev/fuse"`,
				"not an absolute path")
		case d.Type == "p":
		case d.Major <= 0:
			return errs.Field(field+".major", fmt.Sprint(d.Major),
				"set the device's major number; ls -l "+d.Path+" on the host shows it as MAJOR, MINOR",
				"missing or invalid major number")
		case d.Major > maxMajor:
			return errs.Field(field+".major", fmt.Sprint(d.Major), fmt.Sprintf("use a major number up to %d", maxMajor),
				"out of range")
		case d.Minor < 0 || d.Minor > maxMinor:
			return errs.Field(field+".minor", fmt.Sprint(d.Minor), fmt.Sprintf("use a minor number from 0 to %d", maxMinor),
				"out of range")
		}
	}
	return nil
}

func linuxPaths(l *rspec.Linux) error {
	if p := l.RootfsPropagation; p != "" && !propagations[p] {
		return errs.Field("linux.rootfsPropagation", p, "use one of "+oneOf(propagations), "unknown propagation")
	}
	for _, list := range []struct {
		name  string
		paths []string
	}{{"maskedPaths", l.MaskedPaths}, {"readonlyPaths", l.ReadonlyPaths}} {
		for i, p := range list.paths {
			if !path.IsAbs(p) {
				return errs.Field(fmt.Sprintf("linux.%s[%d]", list.name, i), p,
					`use an absolute path in the container, e.g. "/proc/kcore"`, "not an absolute path")
			}
		}
	}
	return nil
}

// sameNamespace reports whether the namespace files a and b are the same
// namespace (false if either cannot be read: the init reports that).
func sameNamespace(a, b string) bool {
	var sa, sb unix.Stat_t
	return unix.Stat(a, &sa) == nil && unix.Stat(b, &sb) == nil && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}
