package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestNoPivot: --no-pivot enters the rootfs with MS_MOVE and chroot; the
// process still sees only the container's root.
func TestNoPivot(t *testing.T) {
	root := setup(t)
	b := sh(t, "ls /; cat /etc/hostname")
	out, stderr, code := gorun(t, root, "run", "--no-pivot", "--bundle", b.Dir, containerID(t))
	if code != 0 {
		t.Fatalf("run --no-pivot: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "bin") || strings.Contains(out, "boot") || strings.Contains(out, "work") {
		t.Errorf("run --no-pivot: / shows %q, want the busybox rootfs only", out)
	}
}

// TestTimeNamespace: a new time namespace with offsets shifts the clocks
// the container sees (CLOCK_BOOTTIME through /proc/uptime), not the host's.
func TestTimeNamespace(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("this kernel has no time namespaces")
	}
	root := setup(t)
	b := sh(t, "cut -d. -f1 /proc/uptime")
	b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
	const year = 365 * 24 * 3600
	b.Spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: year}}
	writeBundle(t, b)
	out := mustRun(t, root, b, containerID(t))
	inside, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("uptime inside: %q", out)
	}
	hostUp := strings.Fields(readFile(t, "/proc/uptime"))[0]
	host, _ := strconv.ParseFloat(hostUp, 64)
	if inside < year || float64(inside) > host+year+60 {
		t.Errorf("uptime inside %d s, host %.0f s: want the host's plus one year", inside, host)
	}

	// An exec'd process joins the time namespace too (only a
	// single-threaded process may: gorun's child does it in nsenter).
	id := containerID(t, "exec")
	startSleeper(t, root, id, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		s.Linux.TimeOffsets = b.Spec.Linux.TimeOffsets
	})
	out = mustGorun(t, root, "exec", id, "cut", "-d.", "-f1", "/proc/uptime")
	if inside, err := strconv.Atoi(strings.TrimSpace(out)); err != nil || inside < year {
		t.Errorf("uptime in an exec'd process: %q, want the host's plus one year", out)
	}
}

// TestUserNamespaceInit: the init of a container with a user namespace is
// root inside, an unprivileged uid on the host, and host-owned files of the
// rootfs are not its own.
func TestUserNamespaceInit(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	b := sh(t, "id -u; cat /proc/self/uid_map; stat -c %u /bin/busybox; sleep 300")
	userNSReachable(t)
	b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	b.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 300000, Size: 65536}}
	b.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 300000, Size: 65536}}
	writeBundle(t, b)
	c := create(t, root, b, id)
	mustGorun(t, root, "start", id)
	if !c.waitOutput("65534", 5e9) {
		out, errOut := c.output()
		t.Fatalf("container output %q, stderr %q", out, errOut)
	}
	out, _ := c.output()
	l := lines(out)
	if l[0] != "0" || !strings.Contains(l[1], "300000") || l[2] != "65534" {
		t.Errorf("inside: %q; want uid 0, a map to 300000, and host-root files owned by nobody", out)
	}
	pid := state(t, root, id).Pid
	status := readFile(t, fmt.Sprintf("/proc/%d/status", pid))
	if !strings.Contains(status, "Uid:\t300000\t300000") {
		t.Errorf("init does not run as host uid 300000:\n%s", status)
	}
}

// TestJoinNamespacesByPath: a container given another's namespace paths
// joins them (network, IPC, UTS) and keeps its own pid and mount
// namespaces.
func TestJoinNamespacesByPath(t *testing.T) {
	root := setup(t)
	first := containerID(t, "a")
	startSleeper(t, root, first, nil)
	pid := state(t, root, first).Pid
	b := sh(t, "hostname; for n in net ipc pid; do readlink /proc/self/ns/$n; done")
	for i, ns := range b.Spec.Linux.Namespaces {
		switch ns.Type {
		case specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace:
			b.Spec.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/%s", pid, map[specs.LinuxNamespaceType]string{
				specs.NetworkNamespace: "net", specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts"}[ns.Type])
		}
	}
	b.Spec.Hostname = "" // the UTS namespace is joined, not made
	writeBundle(t, b)
	out, stderr, code := runContainer(t, root, b, containerID(t, "b"))
	if code != 0 {
		t.Fatalf("run with joined namespaces: exit %d: %s", code, stderr)
	}
	for _, ns := range []string{"net", "ipc"} {
		want, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		if !strings.Contains(out, want) {
			t.Errorf("joined %s namespace: want %s in %q", ns, want, out)
		}
	}
	ownPid, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if strings.Contains(out, ownPid) {
		t.Errorf("the second container shares the first's pid namespace: %q", out)
	}
	if !strings.HasPrefix(out, "gorun-test\n") {
		t.Errorf("hostname through the joined UTS namespace: %q", out)
	}
}
