package pod

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/specs"
)

func testPod(mode string, sharePID bool) *Pod {
	p := &Pod{
		Name: "web", ID: "0123456789abcdef0123456789abcdef", Phase: PhaseReady, Hostname: "web",
		Cgroup: "/gorun-pods/web-01234567", SharePID: sharePID,
		Namespaces: map[rspec.LinuxNamespaceType]string{rspec.IPCNamespace: "/p/ns/ipc"},
		Network:    Network{Mode: mode},
	}
	if mode != NetHost {
		p.Namespaces[rspec.NetworkNamespace] = "/p/ns/net"
		p.Namespaces[rspec.UTSNamespace] = "/p/ns/uts"
	}
	if sharePID {
		p.Namespaces[rspec.PIDNamespace] = "/p/ns/pid"
	}
	return p
}

func nsMap(s *rspec.Spec) map[rspec.LinuxNamespaceType]string {
	m := map[rspec.LinuxNamespaceType]string{}
	for _, ns := range s.Linux.Namespaces {
		m[ns.Type] = ns.Path
	}
	return m
}

func TestAmend(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     string
		sharePID bool
		want     map[rspec.LinuxNamespaceType]string
	}{
		{"bridge", NetBridge, false, map[rspec.LinuxNamespaceType]string{
			"pid": "", "network": "/p/ns/net", "ipc": "/p/ns/ipc", "uts": "/p/ns/uts", "mount": "", "cgroup": ""}},
		{"share-pid", NetNone, true, map[rspec.LinuxNamespaceType]string{
			"pid": "/p/ns/pid", "network": "/p/ns/net", "ipc": "/p/ns/ipc", "uts": "/p/ns/uts", "mount": "", "cgroup": ""}},
		{"host", NetHost, false, map[rspec.LinuxNamespaceType]string{
			"pid": "", "ipc": "/p/ns/ipc", "mount": "", "cgroup": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := specs.Default()
			s.Hostname = "mine"
			s.Linux.CgroupsPath = "/somewhere/else"
			testPod(tc.mode, tc.sharePID).amend(t.TempDir(), "c1", t.TempDir(), s)
			got := nsMap(s)
			if len(got) != len(tc.want) {
				t.Errorf("namespaces %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if p, ok := got[k]; !ok || p != v {
					t.Errorf("namespace %s: %q (present %v), want %q", k, p, ok, v)
				}
			}
			if s.Hostname != "" {
				t.Errorf("hostname %q kept: the pod's UTS namespace has the pod's", s.Hostname)
			}
			if s.Linux.CgroupsPath != "/gorun-pods/web-01234567/c1" {
				t.Errorf("cgroupsPath %q", s.Linux.CgroupsPath)
			}
			if s.Annotations[AnnotationName] != "web" || s.Annotations[AnnotationID] == "" {
				t.Errorf("annotations %v", s.Annotations)
			}
		})
	}
}

func TestAmendAddsMissingNamespaces(t *testing.T) {
	s := specs.Default()
	s.Linux.Namespaces = nil
	testPod(NetBridge, false).amend(t.TempDir(), "c1", t.TempDir(), s)
	got := nsMap(s)
	for _, ty := range []rspec.LinuxNamespaceType{"pid", "mount", "network", "ipc", "uts"} {
		if _, ok := got[ty]; !ok {
			t.Errorf("no %s namespace in %v", ty, got)
		}
	}
}

func TestEtcMounts(t *testing.T) {
	rootfs := t.TempDir()
	os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "etc", "hosts"), nil, 0o644)
	os.WriteFile(filepath.Join(rootfs, "etc", "resolv.conf"), nil, 0o644)
	os.Symlink("/etc/hostname", filepath.Join(rootfs, "etc", "hostname"))
	s := specs.Default()
	s.Mounts = append(s.Mounts, rspec.Mount{Destination: "/etc/resolv.conf", Type: "bind", Source: "/x"})
	ms := etcMounts("/pod", rootfs, s)
	// hosts only: resolv.conf is the config's own, hostname a symlink.
	if len(ms) != 1 || ms[0].Destination != "/etc/hosts" || ms[0].Source != "/pod/etc/hosts" {
		t.Errorf("etcMounts: %+v", ms)
	}
}

func TestEtcFiles(t *testing.T) {
	p := testPod(NetBridge, false)
	p.Network.IPs = []IPConfig{{Address: "10.88.77.9/24"}}
	if h := hostsFile(p); !strings.Contains(h, "10.88.77.9\tweb\n") || !strings.Contains(h, "127.0.0.1\tlocalhost") {
		t.Errorf("hosts:\n%s", h)
	}
	dns := &DNS{Nameservers: []string{"10.0.0.53"}, Domain: "pod.local", Options: []string{"ndots:2"}}
	if r := resolvConf(dns, "/nonexistent"); r != "nameserver 10.0.0.53\nsearch pod.local\noptions ndots:2\n" {
		t.Errorf("resolv.conf:\n%s", r)
	}
	host := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(host, []byte("nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch example.org\n"), 0o644)
	if r := resolvConf(nil, host); r != "nameserver 192.0.2.53\nsearch example.org\n" {
		t.Errorf("resolv.conf without CNI DNS: %q", r)
	}
}
