package libcontainer

import (
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/cgroups"
)

func TestSelfPlaceable(t *testing.T) {
	if rootless() {
		t.Skip("selfPlaceable is always false without root; this test runs as root")
	}
	p := &cgroups.Placement{Tasks: []string{"/sys/fs/cgroup/pids/gorun/a/tasks"}, Dir: "/sys/fs/cgroup/unified/gorun/a"}
	newNS := []rspec.LinuxNamespace{{Type: rspec.PIDNamespace}, {Type: rspec.MountNamespace}}
	for _, c := range []struct {
		name  string
		p     *cgroups.Placement
		nss   []rspec.LinuxNamespace
		joins []rspec.LinuxNamespace
		want  bool
	}{
		{"new namespaces", p, newNS, nil, true},
		{"joins a network namespace", p, newNS, []rspec.LinuxNamespace{{Type: rspec.NetworkNamespace, Path: "/proc/1/ns/net"}}, true},
		{"new user namespace", p, append(newNS, rspec.LinuxNamespace{Type: rspec.UserNamespace}), nil, false},
		{"joined user namespace", p, []rspec.LinuxNamespace{{Type: rspec.UserNamespace, Path: "/proc/1/ns/user"}}, nil, false},
		{"joins a cgroup namespace", p, newNS, []rspec.LinuxNamespace{{Type: rspec.CgroupNamespace, Path: "/proc/1/ns/cgroup"}}, false},
		{"newline in a path", &cgroups.Placement{Tasks: []string{"/sys/fs/cgroup/pids/a\nb/tasks"}}, newNS, nil, false},
	} {
		if got := selfPlaceable(c.p, c.nss, c.joins); got != c.want {
			t.Errorf("%s: selfPlaceable = %v, want %v", c.name, got, c.want)
		}
	}
}
