package integration

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// vethPair makes a veth pair on the host (this kernel has no dummy
// devices), the first end with an IPv4 and an IPv6 address, and returns
// the names of both ends. Whatever is left of it goes at the end of the
// test.
func vethPair(t *testing.T, tag string) (dev, peer string) {
	t.Helper()
	dev, peer = fmt.Sprintf("gt%d%sa", os.Getpid()%100000, tag), fmt.Sprintf("gt%d%sb", os.Getpid()%100000, tag)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("link", "add", dev, "type", "veth", "peer", "name", peer)
	t.Cleanup(func() { exec.Command("ip", "link", "delete", peer).Run() })
	ip("addr", "add", "10.213.0.1/24", "dev", dev)
	ip("addr", "add", "fd00:213::1/64", "dev", dev)
	return dev, peer
}

func hostHasLink(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}

// TestNetDevices: linux.netDevices moves a host device into the
// container's network namespace, renamed, with its addresses, up; it is no
// longer the host's; when the namespace goes, the kernel destroys it (a
// virtual device).
func TestNetDevices(t *testing.T) {
	root := setup(t)
	dev, peer := vethPair(t, "m")
	id := containerID(t)
	startSleeper(t, root, id, func(s *specs.Spec) {
		s.Linux.NetDevices = map[string]specs.LinuxNetDevice{dev: {Name: "eth7"}}
	})
	out := mustGorun(t, root, "exec", id, "ip", "addr", "show", "eth7")
	for _, want := range []string{"10.213.0.1/24", "fd00:213::1/64", ",UP"} {
		if !strings.Contains(out, want) {
			t.Errorf("eth7 in the container lacks %q:\n%s", want, out)
		}
	}
	if hostHasLink(dev) {
		t.Errorf("%s is still on the host", dev)
	}
	mustGorun(t, root, "delete", "--force", id)
	if !poll(5*time.Second, func() bool { return !hostHasLink(peer) }) {
		t.Errorf("the veth pair outlived the container's network namespace (%s is on the host)", peer)
	}
}

// TestNetDevicesTemplateAndErrors: a "%d" name is numbered by the kernel;
// a device the host lacks, or a name the container's namespace has, fails
// the create with the field named, and the device stays on the host.
func TestNetDevicesTemplateAndErrors(t *testing.T) {
	root := setup(t)
	dev, _ := vethPair(t, "t")
	b := sh(t, "ip -o link show | grep -o 'net[0-9]*@'")
	b.Spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{dev: {Name: "net%d"}}
	writeBundle(t, b)
	if out := mustRun(t, root, b, containerID(t)); strings.TrimSpace(out) != "net0@" {
		t.Errorf("template net%%d became %q, want net0", out)
	}

	dev2, _ := vethPair(t, "e")
	for _, tc := range []struct {
		name string
		devs map[string]specs.LinuxNetDevice
		want []string
	}{
		{"missing", map[string]specs.LinuxNetDevice{"gt-no-such": {}}, []string{`linux.netDevices "gt-no-such"`, "ip link show"}},
		{"taken", map[string]specs.LinuxNetDevice{dev2: {Name: "lo"}}, []string{"linux.netDevices[" + dev2 + `].name "lo"`, "file exists"}},
	} {
		b := sh(t, "echo should not run")
		b.Spec.Linux.NetDevices = tc.devs
		writeBundle(t, b)
		out, errOut, code := runContainer(t, root, b, containerID(t, tc.name))
		expectFailure(t, "run with netDevices "+tc.name, out, errOut, code, tc.want...)
	}
	if !hostHasLink(dev2) {
		t.Errorf("%s left the host although the create failed before moving it", dev2)
	}
}
