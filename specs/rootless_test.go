package specs

import (
	"slices"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

func TestToRootless(t *testing.T) {
	s := Default()
	ToRootless(s, 1000, 1001)
	ToRootless(s, 1000, 1001) // twice is harmless

	var ns []rspec.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		ns = append(ns, n.Type)
	}
	if want := []rspec.LinuxNamespaceType{"pid", "ipc", "uts", "mount", "user"}; !slices.Equal(ns, want) {
		t.Errorf("namespaces = %v, want %v", ns, want)
	}
	if want := []rspec.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}; !slices.Equal(s.Linux.UIDMappings, want) {
		t.Errorf("uidMappings = %v", s.Linux.UIDMappings)
	}
	if want := []rspec.LinuxIDMapping{{ContainerID: 0, HostID: 1001, Size: 1}}; !slices.Equal(s.Linux.GIDMappings, want) {
		t.Errorf("gidMappings = %v", s.Linux.GIDMappings)
	}
	if s.Linux.Resources != nil {
		t.Errorf("resources = %+v, want nil", s.Linux.Resources)
	}
	var sys *rspec.Mount
	for i, m := range s.Mounts {
		switch m.Destination {
		case "/dev/pts":
			if slices.Contains(m.Options, "gid=5") {
				t.Errorf("devpts options still hold gid=5: %v", m.Options)
			}
			if !slices.Contains(m.Options, "newinstance") {
				t.Errorf("devpts options lost newinstance: %v", m.Options)
			}
		case "/sys":
			sys = &s.Mounts[i]
		case "/sys/fs/cgroup":
			t.Errorf("cgroup mount not removed: %+v", m)
		}
		if m.Type == "cgroup" {
			t.Errorf("cgroup mount not removed: %+v", m)
		}
	}
	if sys == nil {
		t.Fatal("no /sys mount")
	}
	if sys.Type != "none" || sys.Source != "/sys" ||
		!slices.Equal(sys.Options, []string{"rbind", "nosuid", "noexec", "nodev", "ro"}) {
		t.Errorf("/sys mount = %+v", sys)
	}
	if len(s.Mounts) != 6 {
		t.Errorf("%d mounts, want 6", len(s.Mounts))
	}
	if err := Validate(s, newBundle(t), true); err != nil {
		t.Errorf("rootless spec does not validate: %v", err)
	}
}

func TestToRootlessLeavesDefaultAlone(t *testing.T) {
	s := Default()
	orig := Default()
	ToRootless(s, 1, 1)
	// The devpts options slice of a copy must not be rewritten in place
	// under other specs sharing it.
	if !slices.Contains(orig.Mounts[2].Options, "gid=5") {
		t.Error("Default changed")
	}
}

func TestToRootlessNil(t *testing.T) {
	ToRootless(nil, 1, 1)
	s := &rspec.Spec{}
	ToRootless(s, 5, 6)
	if s.Linux == nil || len(s.Linux.Namespaces) != 1 || s.Linux.Namespaces[0].Type != rspec.UserNamespace {
		t.Errorf("linux = %+v", s.Linux)
	}
}
