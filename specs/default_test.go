package specs

import (
	"slices"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

func TestDefaultValidates(t *testing.T) {
	b := newBundle(t)
	if err := Validate(Default(), b, true); err != nil {
		t.Fatalf("Validate(Default()) = %v", err)
	}
}

func TestDefaultRoundTrip(t *testing.T) {
	b := newBundle(t)
	writeConfig(t, b, mustJSON(t, Default()))
	s, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(s, b, true); err != nil {
		t.Fatal(err)
	}
	if s.Version != rspec.Version || s.Hostname != "gorun" || !s.Root.Readonly || s.Root.Path != "rootfs" {
		t.Errorf("unexpected spec after round trip: %+v", s)
	}
}

func TestDefaultContents(t *testing.T) {
	s := Default()
	p := s.Process
	if !p.Terminal || !p.NoNewPrivileges || p.Cwd != "/" || !slices.Equal(p.Args, []string{"sh"}) {
		t.Errorf("process = %+v", p)
	}
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	c := p.Capabilities
	if !slices.Equal(c.Bounding, caps) || !slices.Equal(c.Effective, caps) || !slices.Equal(c.Permitted, caps) ||
		len(c.Inheritable) != 0 || len(c.Ambient) != 0 {
		t.Errorf("capabilities = %+v", c)
	}
	if len(p.Rlimits) != 1 || p.Rlimits[0] != (rspec.POSIXRlimit{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}) {
		t.Errorf("rlimits = %+v", p.Rlimits)
	}
	var dests []string
	for _, m := range s.Mounts {
		dests = append(dests, m.Destination)
	}
	want := []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"}
	if !slices.Equal(dests, want) {
		t.Errorf("mount destinations = %v, want %v", dests, want)
	}
	var ns []rspec.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		ns = append(ns, n.Type)
	}
	if !slices.Equal(ns, []rspec.LinuxNamespaceType{"pid", "network", "ipc", "uts", "mount", "cgroup"}) {
		t.Errorf("namespaces = %v", ns)
	}
	if len(s.Linux.MaskedPaths) != 11 || len(s.Linux.ReadonlyPaths) != 5 {
		t.Errorf("masked %d, readonly %d paths", len(s.Linux.MaskedPaths), len(s.Linux.ReadonlyPaths))
	}
	d := s.Linux.Resources.Devices
	if len(d) != 1 || d[0].Allow || d[0].Access != "rwm" {
		t.Errorf("device rules = %+v", d)
	}
	// Each call returns a fresh spec.
	s.Process.Capabilities.Bounding[0] = "X"
	if Default().Process.Capabilities.Bounding[0] != "CAP_AUDIT_WRITE" {
		t.Error("Default shares state between calls")
	}
}
