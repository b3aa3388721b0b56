package pod

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"web", "a", "Pod-1", "x.y_z", strings.Repeat("a", 63)} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".hidden", "-x", "_x", "a/b", "a b", "@pods", "é", strings.Repeat("a", 64)} {
		err := ValidateName(bad)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestParsePublish(t *testing.T) {
	for in, want := range map[string]PortMapping{
		"8080:80":               {HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		"53:53/udp":             {HostPort: 53, ContainerPort: 53, Protocol: "udp"},
		"53:53/UDP":             {HostPort: 53, ContainerPort: 53, Protocol: "udp"},
		"127.0.0.1:8080:80/tcp": {HostPort: 8080, ContainerPort: 80, Protocol: "tcp", HostIP: "127.0.0.1"},
		"[::1]:8080:80":         {HostPort: 8080, ContainerPort: 80, Protocol: "tcp", HostIP: "::1"},
	} {
		got, err := ParsePublish(in)
		if err != nil || got != want {
			t.Errorf("ParsePublish(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "80", "a:80", "80:b", "0:80", "80:65536", "80:80/sctp", "x.y:80:80", "80:80/"} {
		if _, err := ParsePublish(bad); err == nil || !strings.Contains(err.Error(), "--publish") {
			t.Errorf("ParsePublish(%q): error %v, want one naming --publish", bad, err)
		}
	}
	dup := []PortMapping{{HostPort: 80, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 80, ContainerPort: 81, Protocol: "tcp"}}
	if err := checkPublish(dup); err == nil {
		t.Error("checkPublish accepted one host port twice")
	}
	dup[1].Protocol = "udp"
	if err := checkPublish(dup); err != nil {
		t.Errorf("checkPublish of 80/tcp and 80/udp: %v", err)
	}
}

func TestCgroupPath(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	if p, err := cgroupPath("", "web", id); err != nil || p != "/gorun-pods/web-01234567" {
		t.Errorf("default: %q, %v", p, err)
	}
	if p, err := cgroupPath("/kubepods/besteffort", "web", id); err != nil || p != "/kubepods/besteffort/web-01234567" {
		t.Errorf("parent: %q, %v", p, err)
	}
	for _, bad := range []string{"relative", "/a/../b"} {
		if _, err := cgroupPath(bad, "web", id); err == nil {
			t.Errorf("cgroupPath(%q) accepted", bad)
		}
	}
}

func TestStatus(t *testing.T) {
	c := func(s ...rspec.ContainerState) []ContainerInfo {
		var out []ContainerInfo
		for _, st := range s {
			out = append(out, ContainerInfo{Status: st})
		}
		return out
	}
	for _, tc := range []struct {
		phase Phase
		cs    []ContainerInfo
		want  Status
	}{
		{PhaseCreating, nil, StatusCreating},
		{PhaseReady, nil, StatusEmpty},
		{PhaseReady, c(rspec.StateStopped, rspec.StateRunning), StatusRunning},
		{PhaseReady, c(rspec.StateStopped, "paused"), StatusRunning},
		{PhaseReady, c(rspec.StateCreated, rspec.StateStopped), StatusCreated},
		{PhaseReady, c(rspec.StateStopped, rspec.StateStopped), StatusExited},
	} {
		if got := status(tc.phase, tc.cs); got != tc.want {
			t.Errorf("status(%s, %v) = %s, want %s", tc.phase, tc.cs, got, tc.want)
		}
	}
}

func TestStore(t *testing.T) {
	root := t.TempDir()
	st := newStore(root)
	l, err := st.create("web")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.load("web"); !errors.Is(err, ErrIncomplete) {
		t.Errorf("load of a pod without state: %v, want ErrIncomplete", err)
	}
	p := &Pod{Name: "web", ID: "id", Phase: PhaseCreating, Cgroup: "/x"}
	if err := st.save(p); err != nil {
		t.Fatal(err)
	}
	if _, err := st.loadReady("web"); !errors.Is(err, ErrIncomplete) {
		t.Errorf("loadReady of a creating pod: %v, want ErrIncomplete", err)
	}
	p.Phase = PhaseReady
	if err := st.save(p); err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	if _, err := st.create("web"); !errors.Is(err, ErrExist) {
		t.Errorf("second create: %v, want ErrExist", err)
	}
	got, err := st.loadReady("web")
	if err != nil || got.ID != "id" {
		t.Fatalf("loadReady: %+v, %v", got, err)
	}
	// Shared locks coexist.
	l1, err := st.lock("web", unix.LOCK_SH)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := st.lock("web", unix.LOCK_SH|unix.LOCK_NB)
	if err != nil {
		t.Fatalf("second shared lock: %v", err)
	}
	l1.Unlock()
	l2.Unlock()
	if names, _ := st.names(); len(names) != 1 || names[0] != "web" {
		t.Errorf("names: %q", names)
	}
	if err := st.remove("web"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, PodsDir)); !os.IsNotExist(err) {
		t.Errorf("pods directory left once empty: %v", err)
	}
	if _, err := st.lock("web", unix.LOCK_SH); !errors.Is(err, ErrNotExist) {
		t.Errorf("lock of a removed pod: %v, want ErrNotExist", err)
	}
	if _, err := st.load("web"); !errors.Is(err, ErrNotExist) {
		t.Errorf("load of a removed pod: %v, want ErrNotExist", err)
	}
}

func TestPodIP(t *testing.T) {
	p := &Pod{Network: Network{IPs: []IPConfig{{Address: "10.88.77.5/24"}, {Address: "fd00::5/64"}}}}
	if p.IP() != "10.88.77.5" {
		t.Errorf("IP() = %q", p.IP())
	}
	if (&Pod{}).IP() != "" {
		t.Error("IP() of a pod without addresses")
	}
}
