package libcontainer

import (
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/cgroups"
)

func TestSelfPlaceable(t *testing.T) {
	// A cgroup namespace is joined by nsenter after the move, never from
	// the parent's thread before it.
	if _, joins, paths, _ := planJoins([]rspec.LinuxNamespace{{Type: rspec.CgroupNamespace, Path: "/proc/1/ns/cgroup"}}, false); len(joins) != 0 || len(paths) != 1 {
		t.Errorf("planJoins: a cgroup namespace is joined by the parent (%v) rather than nsenter (%v)", joins, paths)
	}
	if rootless() {
		t.Skip("selfPlaceable is always false without root; this test runs as root")
	}
	p := &cgroups.Placement{Tasks: []string{"/sys/fs/cgroup/pids/gorun/a/tasks"}, Dir: "/sys/fs/cgroup/unified/gorun/a"}
	newNS := []rspec.LinuxNamespace{{Type: rspec.PIDNamespace}, {Type: rspec.MountNamespace}}
	for _, c := range []struct {
		name string
		p    *cgroups.Placement
		nss  []rspec.LinuxNamespace
		want bool
	}{
		{"new namespaces", p, newNS, true},
		{"joins a network and a cgroup namespace", p, append(newNS, rspec.LinuxNamespace{Type: rspec.NetworkNamespace, Path: "/proc/1/ns/net"},
			rspec.LinuxNamespace{Type: rspec.CgroupNamespace, Path: "/proc/1/ns/cgroup"}), true},
		{"new user namespace", p, append(newNS, rspec.LinuxNamespace{Type: rspec.UserNamespace}), false},
		{"joined user namespace", p, []rspec.LinuxNamespace{{Type: rspec.UserNamespace, Path: "/proc/1/ns/user"}}, false},
		{"newline in a path", &cgroups.Placement{Tasks: []string{"/sys/fs/cgroup/pids/a\nb/tasks"}}, newNS, false},
	} {
		if got := selfPlaceable(c.p, c.nss); got != c.want {
			t.Errorf("%s: selfPlaceable = %v, want %v", c.name, got, c.want)
		}
	}
}
