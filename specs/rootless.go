package specs

import (
	"path"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// ToRootless rewrites s in place to run without root, as `gorun spec
// --rootless` writes it: a new user namespace mapping container root to
// uid:gid, no network or cgroup namespace, /sys bind-mounted from the host
// instead of a fresh sysfs, no cgroup mount, no uid=/gid= mount options
// (such ids are not mapped) and no cgroup resources. Calling it twice is
// harmless. A nil s is left alone.
func ToRootless(s *rspec.Spec, uid, gid uint32) {
	if s == nil {
		return
	}
	if s.Linux == nil {
		s.Linux = &rspec.Linux{}
	}
	l := s.Linux

	var ns []rspec.LinuxNamespace
	for _, n := range l.Namespaces {
		switch n.Type {
		case rspec.NetworkNamespace, rspec.CgroupNamespace, rspec.UserNamespace:
		default:
			ns = append(ns, n)
		}
	}
	l.Namespaces = append(ns, rspec.LinuxNamespace{Type: rspec.UserNamespace})
	l.UIDMappings = []rspec.LinuxIDMapping{{ContainerID: 0, HostID: uid, Size: 1}}
	l.GIDMappings = []rspec.LinuxIDMapping{{ContainerID: 0, HostID: gid, Size: 1}}
	l.Resources = nil

	var mounts []rspec.Mount
	for _, m := range s.Mounts {
		if m.Type == "cgroup" || m.Type == "cgroup2" {
			continue
		}
		if path.Clean(m.Destination) == "/sys" {
			mounts = append(mounts, rspec.Mount{
				Destination: "/sys",
				Type:        "none",
				Source:      "/sys",
				Options:     []string{"rbind", "nosuid", "noexec", "nodev", "ro"},
			})
			continue
		}
		var opts []string
		for _, o := range m.Options {
			if strings.HasPrefix(o, "uid=") || strings.HasPrefix(o, "gid=") {
				continue
			}
			opts = append(opts, o)
		}
		m.Options = opts
		mounts = append(mounts, m)
	}
	s.Mounts = mounts
}
