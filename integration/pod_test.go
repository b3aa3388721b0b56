package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorun/gorun/tests/bundle"
)

// Pod tests: `gorun pod` and `--pod`. They use only addresses of this
// machine: the pod subnet on the gorun0 bridge (10.88.77.0/24), 127.0.0.1
// and the host's own address.

// podState is the part of `gorun pod inspect` the tests read.
type podState struct {
	Name       string            `json:"name"`
	ID         string            `json:"id"`
	Status     string            `json:"status"`
	Hostname   string            `json:"hostname"`
	Cgroup     string            `json:"cgroup"`
	StateDir   string            `json:"stateDir"`
	Namespaces map[string]string `json:"namespaces"`
	Infra      *struct {
		Pid int `json:"pid"`
	} `json:"infra"`
	InfraRunning *bool `json:"infraRunning"`
	Network      struct {
		Mode string `json:"mode"`
		Name string `json:"name"`
		IPs  []struct {
			Address string `json:"address"`
			Gateway string `json:"gateway"`
		} `json:"ips"`
	} `json:"network"`
	Containers []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Pid    int    `json:"pid"`
	} `json:"containers"`
}

// ip is the pod's address without its prefix length.
func (p podState) ip(t testing.TB) string {
	t.Helper()
	if len(p.Network.IPs) == 0 {
		t.Fatalf("pod %s has no address", p.Name)
	}
	return strings.SplitN(p.Network.IPs[0].Address, "/", 2)[0]
}

// podCreate runs `gorun pod create ARGS... NAME` and registers the pod's
// forced removal. It fails the test unless create succeeds.
func podCreate(t testing.TB, root, name string, args ...string) podState {
	t.Helper()
	podCleanup(t, root, name)
	mustGorun(t, root, append(append([]string{"pod", "create"}, args...), name)...)
	return podInspect(t, root, name)
}

// podCleanup registers `gorun pod rm --force name` for when the test ends,
// if the pod is still there then.
func podCleanup(t testing.TB, root, name string) {
	t.Helper()
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(root, "@pods", name)); os.IsNotExist(err) {
			return
		}
		if out, errOut, code := gorun(t, root, "pod", "rm", "--force", name); code != 0 {
			t.Errorf("cleanup: gorun pod rm --force %s: exit %d\nstdout: %s\nstderr: %s", name, code, out, errOut)
		}
	})
}

func podInspect(t testing.TB, root, name string) podState {
	t.Helper()
	out := mustGorun(t, root, "pod", "inspect", name)
	var p podState
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("gorun pod inspect %s: %v\n%s", name, err, out)
	}
	return p
}

// podContainer creates container id from b in pod, starts it and returns
// it (its output can be waited for).
func podContainer(t testing.TB, root, pod, id string, b *bundle.Bundle) *created {
	t.Helper()
	c := create(t, root, b, id, "--pod", pod)
	mustGorun(t, root, "start", id)
	return c
}

// awaitLine waits until the container's stdout has a line starting with
// prefix, and returns that line.
func (c *created) awaitLine(t testing.TB, prefix string, timeout time.Duration) string {
	t.Helper()
	var line string
	ok := poll(timeout, func() bool {
		out, _ := c.output()
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, prefix) {
				line = l
				return true
			}
		}
		return false
	})
	if !ok {
		out, errOut := c.output()
		t.Fatalf("container %s: no line %q... within %v\nstdout: %s\nstderr: %s", c.id, prefix, timeout, out, errOut)
	}
	return line
}

// podServer is a script that reports its eth0 address and network
// namespace, then answers every connection to port 8080 with "pong".
const podServer = `echo "addr $(ip -4 -o addr show eth0 | awk '{print $4}')"; echo "netns $(readlink /proc/self/ns/net)"; ` +
	`while :; do echo pong | nc -l -p 8080; done`

// podClient connects to ADDR:8080 until it gets an answer, and prints it.
func podClient(addr string) string {
	return `echo "addr $(ip -4 -o addr show eth0 | awk '{print $4}')"; echo "netns $(readlink /proc/self/ns/net)"; ` +
		`for i in $(seq 100); do r=$(echo ping | nc -w 2 ` + addr + ` 8080) && [ -n "$r" ] && break; sleep 0.1; done; echo "reply $r"`
}

// dialPong connects to addr from the host and expects "pong".
func dialPong(t testing.TB, addr string) {
	t.Helper()
	var last error
	if !poll(10*time.Second, func() bool {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			last = err
			return false
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(3 * time.Second))
		fmt.Fprintln(conn, "ping")
		line, err := bufio.NewReader(conn).ReadString('\n')
		if line != "pong\n" {
			last = fmt.Errorf("read %q, %v", line, err)
			return false
		}
		return true
	}) {
		t.Fatalf("from the host to %s: no pong: %v", addr, last)
	}
}

// reservation is host-local's record of address ip on gorun's network.
func reservation(ip string) string { return filepath.Join("/var/lib/cni/networks/gorun", ip) }

func TestPodTwoContainersShareNetwork(t *testing.T) {
	root := setup(t)
	p := podCreate(t, root, "web")
	if p.Status != "empty" || p.Hostname != "web" || p.Network.Name != "gorun" || !strings.HasPrefix(p.ip(t), "10.88.77.") {
		t.Fatalf("new pod: %+v", p)
	}
	ip := p.ip(t)
	if _, err := os.Stat(reservation(ip)); err != nil {
		t.Errorf("no host-local reservation for %s: %v", ip, err)
	}
	server := podContainer(t, root, "web", containerID(t, "server"), sh(t, podServer))
	client := podContainer(t, root, "web", containerID(t, "client"), sh(t, podClient("127.0.0.1")))

	if reply := client.awaitLine(t, "reply", 20*time.Second); reply != "reply pong" {
		t.Errorf("client over 127.0.0.1: %q, want \"reply pong\"", reply)
	}
	sAddr, cAddr := server.awaitLine(t, "addr", 5*time.Second), client.awaitLine(t, "addr", 5*time.Second)
	if sAddr != cAddr || sAddr != "addr "+p.Network.IPs[0].Address {
		t.Errorf("eth0 addresses: server %q, client %q, pod %s", sAddr, cAddr, p.Network.IPs[0].Address)
	}
	sNS, cNS := server.awaitLine(t, "netns", 5*time.Second), client.awaitLine(t, "netns", 5*time.Second)
	if sNS != cNS || !strings.HasPrefix(sNS, "netns net:[") {
		t.Errorf("network namespaces: server %q, client %q", sNS, cNS)
	}
	if hostNS, _ := os.Readlink("/proc/self/ns/net"); "netns "+hostNS == sNS {
		t.Errorf("the pod is in the host's network namespace %s", hostNS)
	}

	// The host reaches the pod's address across the bridge.
	dialPong(t, net.JoinHostPort(ip, "8080"))

	// A second pod reaches the first pod's address across the bridge.
	p2 := podCreate(t, root, "other")
	if p2.ip(t) == ip {
		t.Fatalf("two pods with one address %s", ip)
	}
	other := podContainer(t, root, "other", containerID(t, "other"), sh(t, podClient(ip)))
	if reply := other.awaitLine(t, "reply", 20*time.Second); reply != "reply pong" {
		t.Errorf("second pod to %s: %q, want \"reply pong\"", ip, reply)
	}

	// inspect lists both containers, running, in the order they joined.
	p = podInspect(t, root, "web")
	if p.Status != "running" || len(p.Containers) != 2 || p.Containers[0].ID != containerID(t, "server") {
		t.Errorf("inspect: status %s, containers %+v", p.Status, p.Containers)
	}

	// rm refuses running containers without --force.
	_, errOut, code := gorun(t, root, "pod", "rm", "web")
	expectFailure(t, "pod rm of a running pod", "", errOut, code, "running", "--force")

	netns := strings.TrimPrefix(sNS, "netns ")
	mustGorun(t, root, "pod", "rm", "--force", "web", "other")
	if users := nsUsers(netns); len(users) > 0 {
		t.Errorf("the pod's network namespace %s is still held after pod rm: %v", netns, users)
	}
	for _, a := range []string{ip, p2.ip(t)} {
		if _, err := os.Stat(reservation(a)); !os.IsNotExist(err) {
			t.Errorf("host-local reservation of %s left after pod rm: %v", a, err)
		}
	}
	if out := mustGorun(t, root, "pod", "list", "-q"); out != "" {
		t.Errorf("pod list after rm: %q", out)
	}
	if out := mustGorun(t, root, "list", "-q"); out != "" {
		t.Errorf("containers left after pod rm: %q", out)
	}
	// leakcheck: no veth, nsfs mount, cgroup, process or state left.
}

// nsUsers lists what still refers to namespace ns ("net:[INODE]"): the
// processes in it and the nsfs mounts of it.
func nsUsers(ns string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/ns/net")
	for _, p := range procs {
		if l, err := os.Readlink(p); err == nil && l == ns {
			out = append(out, p)
		}
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[3] == ns {
			out = append(out, "mount "+f[4])
		}
	}
	return out
}

// hostAddress returns an IPv4 address of this host that is not loopback
// and not on a pod bridge.
func hostAddress(t testing.TB) string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback != 0 || ifc.Flags&net.FlagUp == 0 || strings.HasPrefix(ifc.Name, "gorun") || strings.HasPrefix(ifc.Name, "veth") {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	t.Skip("no non-loopback IPv4 address on this host")
	return ""
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func natRules(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "-t", "nat", "-S").CombinedOutput()
	if err != nil {
		t.Skipf("iptables: %v: %s", err, out)
	}
	return string(out)
}

func TestPodPublish(t *testing.T) {
	root := setup(t)
	host := hostAddress(t)
	port := freePort(t)
	podCreate(t, root, "pub", "--publish", port+":8080")
	podContainer(t, root, "pub", containerID(t), sh(t, podServer)).awaitLine(t, "addr", 10*time.Second)
	dialPong(t, net.JoinHostPort(host, port))
	dialPong(t, net.JoinHostPort("127.0.0.1", port))
	if !strings.Contains(natRules(t), "--dport "+port) {
		t.Errorf("no DNAT rule for port %s", port)
	}
	mustGorun(t, root, "pod", "rm", "--force", "pub")
	if rules := natRules(t); strings.Contains(rules, "--dport "+port) {
		t.Errorf("iptables rules for port %s left after pod rm:\n%s", port, rules)
	}
}

func TestPodBadInput(t *testing.T) {
	root := setup(t)
	podCreate(t, root, "taken", "--network", "none")

	_, errOut, code := gorun(t, root, "pod", "create", "taken")
	expectFailure(t, "pod create of an existing name", "", errOut, code, `pod "taken"`, "already exists")

	b := sh(t, "true")
	id := containerID(t)
	mustDelete(t, root, id)
	_, errOut, code = gorun(t, root, "create", "--pod", "missing", "--bundle", b.Dir, id)
	expectFailure(t, "create in a missing pod", "", errOut, code, `pod "missing"`, "does not exist")
	if _, err := os.Stat(filepath.Join(root, id)); !os.IsNotExist(err) {
		t.Errorf("container state left by a create in a missing pod: %v", err)
	}

	dir := t.TempDir()
	conf := filepath.Join(dir, "10-test.conflist")
	for _, tc := range []struct {
		what, conf string
		want       []string
	}{
		{"a config that does not parse", `{"cniVersion": "1.0.0", "name": "broken", "plugins": [{"type": "bridge",`, []string{conf, "not valid JSON"}},
		{"a plugin that is not installed", `{"cniVersion": "1.0.0", "name": "missing", "plugins": [{"type": "no-such-cni-plugin"}]}`, []string{"no-such-cni-plugin", "not installed"}},
		{"a cniVersion the plugins refuse", `{"cniVersion": "1.1.0", "name": "newer", "plugins": [{"type": "bridge"}]}`, []string{"cniVersion", "1.1.0"}},
	} {
		if err := os.WriteFile(conf, []byte(tc.conf), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := gorun(t, root, "pod", "create", "--cni-config-dir", dir, "bad")
		expectFailure(t, "pod create with "+tc.what, "", errOut, code, tc.want...)
	}
	for _, args := range [][]string{
		{"--network", "no-such-network"},
		{"--publish", "8080"},
		{"--network", "host", "--hostname", "h"},
		{"--publish", "8080:80", "--network", "none"},
		{"--cgroup-parent", "relative"},
	} {
		_, errOut, code := gorun(t, root, append(append([]string{"pod", "create"}, args...), "bad")...)
		expectFailure(t, "pod create "+strings.Join(args, " "), "", errOut, code, args[0])
	}
	_, errOut, code = gorun(t, root, "pod", "create", "bad/name")
	expectFailure(t, "pod create with a bad name", "", errOut, code, "pod name")

	// Nothing half made: only the first pod exists.
	if out := mustGorun(t, root, "pod", "list", "-q"); out != "taken\n" {
		t.Errorf("pods after failed creates: %q", out)
	}
	for _, cmd := range [][]string{{"inspect", "missing"}, {"rm", "missing"}, {"stop", "missing"}} {
		_, errOut, code := gorun(t, root, append([]string{"pod"}, cmd...)...)
		expectFailure(t, "pod "+strings.Join(cmd, " "), "", errOut, code, "does not exist")
	}
}

// TestPodFailedAttach: a plugin that fails at ADD (after the bridge
// plugin has made its bridge) leaves nothing: no pod, bridge, netns or
// cgroup.
func TestPodFailedAttach(t *testing.T) {
	root := setup(t)
	dir := t.TempDir()
	conf := `{"cniVersion": "1.0.0", "name": "gorun-failing", "plugins": [{"type": "bridge", "bridge": "gorunfail0",
		"ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.76.0/24"}]], "dataDir": "/proc/no-such-dir"}}]}`
	if err := os.WriteFile(filepath.Join(dir, "10-failing.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	podCleanup(t, root, "failing")
	_, errOut, code := gorun(t, root, "pod", "create", "--cni-config-dir", dir, "failing")
	expectFailure(t, "pod create with a failing plugin", "", errOut, code, "CNI ADD", "gorun-failing")
	if _, err := os.Stat(filepath.Join(root, "@pods")); !os.IsNotExist(err) {
		t.Errorf("pod state left: %v", err)
	}
}

func TestPodCustomNetwork(t *testing.T) {
	root := setup(t)
	dir := t.TempDir()
	conf := `{"cniVersion": "1.0.0", "name": "gorun-custom", "plugins": [{"type": "bridge", "bridge": "goruncustom0", "isGateway": true,
		"ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.75.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}}]}`
	if err := os.WriteFile(filepath.Join(dir, "10-custom.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := podCreate(t, root, "custom", "--cni-config-dir", dir, "--network", "gorun-custom")
	if !strings.HasPrefix(p.ip(t), "10.88.75.") || p.Network.Name != "gorun-custom" {
		t.Errorf("pod on a custom network: %+v", p.Network)
	}
	podContainer(t, root, "custom", containerID(t), sh(t, podServer)).awaitLine(t, "addr", 10*time.Second)
	dialPong(t, net.JoinHostPort(p.ip(t), "8080"))
	// pod rm removes the bridge a pod made once no pod uses it (leakcheck).
}

func TestPodKeepsAddressAfterExit(t *testing.T) {
	root := setup(t)
	p := podCreate(t, root, "keep")
	id := containerID(t)
	script := `echo "addr $(ip -4 -o addr show eth0 | awk '{print $4}')"`
	c := podContainer(t, root, "keep", id, sh(t, script))
	first := c.awaitLine(t, "addr", 10*time.Second)
	waitStatus(t, root, id, "stopped", 10*time.Second)
	p2 := podInspect(t, root, "keep")
	if p2.Status != "exited" || p2.ip(t) != p.ip(t) {
		t.Errorf("pod whose containers exited: status %s, address %s (was %s)", p2.Status, p2.ip(t), p.ip(t))
	}
	if _, err := os.Stat(reservation(p.ip(t))); err != nil {
		t.Errorf("address released while the pod exists: %v", err)
	}
	// Deleted and created again in the pod, the container has the same
	// address.
	mustGorun(t, root, "delete", id)
	c = podContainer(t, root, "keep", id, sh(t, script))
	if again := c.awaitLine(t, "addr", 10*time.Second); again != first || first != "addr "+p.Network.IPs[0].Address {
		t.Errorf("re-created container: %q, first %q, pod %s", again, first, p.Network.IPs[0].Address)
	}
	waitStatus(t, root, id, "stopped", 10*time.Second)
	mustGorun(t, root, "pod", "rm", "keep")
}

func TestPodConcurrency(t *testing.T) {
	root := setup(t)
	// Two pods created at once get distinct addresses.
	names := []string{"conc-a", "conc-b"}
	var wg sync.WaitGroup
	codes := make([]int, len(names))
	errOuts := make([]string, len(names))
	for i, n := range names {
		podCleanup(t, root, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errOuts[i], codes[i] = gorun(t, root, "pod", "create", n)
		}()
	}
	wg.Wait()
	for i := range names {
		if codes[i] != 0 {
			t.Fatalf("pod create %s: exit %d: %s", names[i], codes[i], errOuts[i])
		}
	}
	a, b := podInspect(t, root, names[0]), podInspect(t, root, names[1])
	if a.ip(t) == b.ip(t) {
		t.Errorf("two pods created at once share address %s", a.ip(t))
	}

	// Two containers added to one pod at once both join it.
	ids := []string{containerID(t, "1"), containerID(t, "2")}
	bs := []*bundle.Bundle{sh(t, "readlink /proc/self/ns/net; sleep 100"), sh(t, "readlink /proc/self/ns/net; sleep 100")}
	cs := make([]*created, len(ids))
	for i, id := range ids {
		cs[i] = newCreated(t, root, id)
	}
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errOuts[i], codes[i] = gorunWith(t, root, cmdOpts{Stdout: cs[i].stdout, Stderr: cs[i].stderr}, "run", "-d", "--pod", names[0], "--bundle", bs[i].Dir, id)
		}()
	}
	wg.Wait()
	for i := range ids {
		cs[i].closeFiles()
		if codes[i] != 0 {
			t.Fatalf("run --pod %s: exit %d: %s", ids[i], codes[i], errOuts[i])
		}
	}
	n0, n1 := cs[0].awaitLine(t, "net:", 10*time.Second), cs[1].awaitLine(t, "net:", 10*time.Second)
	if n0 != n1 {
		t.Errorf("containers added at once are in different network namespaces: %s, %s", n0, n1)
	}
	if p := podInspect(t, root, names[0]); len(p.Containers) != 2 {
		t.Errorf("pod has %d containers, want 2: %+v", len(p.Containers), p.Containers)
	}
	mustGorun(t, root, "pod", "rm", "--force", names[0], names[1])
}

func TestPodSharePID(t *testing.T) {
	root := setup(t)
	p := podCreate(t, root, "pids", "--share-pid", "--network", "none")
	if p.Infra == nil || p.InfraRunning == nil || !*p.InfraRunning || p.Namespaces["pid"] == "" {
		t.Fatalf("share-pid pod: infra %+v, running %v, namespaces %v", p.Infra, p.InfraRunning, p.Namespaces)
	}
	podContainer(t, root, "pids", containerID(t, "sleeper"), sh(t, "echo up; exec sleep 321"))
	c := podContainer(t, root, "pids", containerID(t, "looker"), sh(t,
		`for i in $(seq 100); do ps -o pid,comm,args | grep -q "sleep 321" && break; sleep 0.1; done; ps -o pid,args | sed 's/^ */ps /'`))
	c.awaitLine(t, "ps ", 10*time.Second)
	time.Sleep(100 * time.Millisecond)
	out, _ := c.output()
	if !strings.Contains(out, "sleep 321") {
		t.Errorf("a container of a share-pid pod does not see the other's process:\n%s", out)
	}
	if !strings.Contains(out, "ps 1 gorun-pod-infra pids") {
		t.Errorf("pid 1 of the pod is not its infra process:\n%s", out)
	}
	// The infra is jailed: another uid, not root.
	status := readFile(t, fmt.Sprintf("/proc/%d/status", p.Infra.Pid))
	if !strings.Contains(status, "Uid:\t65534\t65534\t65534\t65534") || !strings.Contains(status, "CapEff:\t0000000000000000") {
		t.Errorf("infra process is not unprivileged:\n%s", status)
	}
	mustGorun(t, root, "pod", "rm", "--force", "pids")
	if pidAlive(p.Infra.Pid) {
		t.Errorf("infra process %d alive after pod rm", p.Infra.Pid)
	}
}

func TestPodNetworkModes(t *testing.T) {
	root := setup(t)
	podCreate(t, root, "isolated", "--network", "none", "--hostname", "iso")
	c := podContainer(t, root, "isolated", containerID(t, "none"), sh(t, `echo "links $(ls /sys/class/net | tr '\n' ' ')"; echo "host $(hostname)"`))
	if l := c.awaitLine(t, "links", 10*time.Second); l != "links lo " {
		t.Errorf("network none: %q, want only lo", l)
	}
	if h := c.awaitLine(t, "host", 10*time.Second); h != "host iso" {
		t.Errorf("hostname: %q, want iso", h)
	}

	p := podCreate(t, root, "hostnet", "--network", "host")
	if _, ok := p.Namespaces["network"]; ok || p.Hostname != "" {
		t.Errorf("host network pod: namespaces %v hostname %q", p.Namespaces, p.Hostname)
	}
	c = podContainer(t, root, "hostnet", containerID(t, "host"), sh(t, `echo "netns $(readlink /proc/self/ns/net)"`))
	hostNS, _ := os.Readlink("/proc/self/ns/net")
	if l := c.awaitLine(t, "netns", 10*time.Second); l != "netns "+hostNS {
		t.Errorf("host network pod: %q, host %s", l, hostNS)
	}
}

func TestPodRunManifest(t *testing.T) {
	root := setup(t)
	server := sh(t, "true") // the manifest gives the process
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := bundle.Rootfs(rootfs); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	manifest := filepath.Join(t.TempDir(), "pod.yaml")
	if err := os.WriteFile(manifest, []byte(`apiVersion: v1
kind: Pod
metadata:
  name: mani
spec:
  hostname: manihost
  containers:
  - name: server
    bundle: `+server.Dir+`
    command: [sh, -c]
    args: [`+jsonString(podServer)+`]
    env: [{name: GREETING, value: hello}]
    resources:
      limits: {cpu: 500m, memory: 64Mi}
    ports:
    - containerPort: 8080
      hostPort: `+port+`
  - name: stubborn
    rootfs: `+rootfs+`
    args: [sh, -c, "trap '' TERM; echo $GREETING $(hostname); while :; do sleep 0.1; done"]
    env: [{name: GREETING, value: hi}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	podCleanup(t, root, "mani")
	mustGorun(t, root, "pod", "run", manifest)
	p := podInspect(t, root, "mani")
	if p.Status != "running" || len(p.Containers) != 2 || p.Containers[0].ID != "mani-server" || p.Containers[1].ID != "mani-stubborn" {
		t.Fatalf("pod run: %+v", p)
	}
	dialPong(t, net.JoinHostPort("127.0.0.1", port))
	logs := filepath.Join(p.StateDir, "logs", "mani-stubborn.log")
	if !poll(10*time.Second, func() bool { b, _ := os.ReadFile(logs); return strings.Contains(string(b), "hi manihost") }) {
		b, _ := os.ReadFile(logs)
		t.Errorf("log of mani-stubborn: %q", b)
	}
	// The container's cgroup is under the pod's, with the manifest's limit.
	mem := readFile(t, filepath.Join("/sys/fs/cgroup/memory", p.Cgroup, "mani-server", "memory.limit_in_bytes"))
	if strings.TrimSpace(mem) != "67108864" {
		t.Errorf("memory limit of mani-server: %s", mem)
	}
	// stop: SIGTERM, then SIGKILL for the one that ignores it.
	start := time.Now()
	mustGorun(t, root, "pod", "stop", "--timeout", "1s", "mani")
	if d := time.Since(start); d < time.Second {
		t.Errorf("pod stop took %v: it did not wait for the container that ignores SIGTERM", d)
	}
	p = podInspect(t, root, "mani")
	if p.Status != "exited" || p.ip(t) == "" {
		t.Errorf("after pod stop: status %s, address %v", p.Status, p.Network.IPs)
	}
	mustGorun(t, root, "pod", "rm", "mani")
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestPodRunManifestFailureLeavesNothing(t *testing.T) {
	root := setup(t)
	good := sh(t, "sleep 100")
	manifest := filepath.Join(t.TempDir(), "pod.json")
	os.WriteFile(manifest, []byte(`{"name": "halfway", "containers": [
		{"name": "good", "bundle": "`+good.Dir+`"},
		{"name": "bad", "bundle": "`+good.Dir+`", "args": ["/no/such/program"]}]}`), 0o644)
	podCleanup(t, root, "halfway")
	mustDelete(t, root, "halfway-good")
	mustDelete(t, root, "halfway-bad")
	_, errOut, code := gorun(t, root, "pod", "run", manifest)
	expectFailure(t, "pod run with a container that cannot start", "", errOut, code, "bad", "/no/such/program")
	if out := mustGorun(t, root, "list", "-q"); out != "" {
		t.Errorf("containers left: %q", out)
	}
}

func TestPodBrokenStateRemovedByForce(t *testing.T) {
	root := setup(t)
	// A create that died before writing its state.
	if err := os.MkdirAll(filepath.Join(root, "@pods", "crashed"), 0o711); err != nil {
		t.Fatal(err)
	}
	if out := mustGorun(t, root, "pod", "list"); !strings.Contains(out, "crashed") || !strings.Contains(out, "broken") {
		t.Errorf("pod list: %q", out)
	}
	// gorun list does not take the pods directory for a container.
	if out := mustGorun(t, root, "list", "-q"); out != "" {
		t.Errorf("gorun list: %q", out)
	}
	_, errOut, code := gorun(t, root, "create", "--pod", "crashed", "--bundle", sh(t, "true").Dir, containerID(t))
	expectFailure(t, "create in an incomplete pod", "", errOut, code, "incomplete", "--force")
	_, errOut, code = gorun(t, root, "pod", "rm", "crashed")
	expectFailure(t, "pod rm of an incomplete pod", "", errOut, code, "incomplete", "--force")
	mustGorun(t, root, "pod", "rm", "--force", "crashed")
	if _, err := os.Stat(filepath.Join(root, "@pods")); !os.IsNotExist(err) {
		t.Errorf("pods directory left: %v", err)
	}
}

// TestPodInfraDied: a share-pid pod whose infra process is killed from
// the host has lost its PID namespace: it is reported broken, refuses new
// containers with an error saying so, and `pod rm --force` removes it.
func TestPodInfraDied(t *testing.T) {
	root := setup(t)
	p := podCreate(t, root, "orphaned", "--share-pid", "--network", "none")
	if err := syscall.Kill(p.Infra.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !poll(5*time.Second, func() bool { return podInspect(t, root, "orphaned").Status == "broken" }) {
		t.Errorf("pod status after its infra died: %s", podInspect(t, root, "orphaned").Status)
	}
	id := containerID(t)
	mustDelete(t, root, id)
	_, errOut, code := gorun(t, root, "create", "--pod", "orphaned", "--bundle", sh(t, "true").Dir, id)
	expectFailure(t, "create in a pod whose infra died", "", errOut, code, "infra process has died", "--force")
	mustGorun(t, root, "pod", "rm", "--force", "orphaned")
}

// TestPodStopSharedPID: pod stop ends every process of a pod that shares
// one pid namespace, also those a container's init left behind (which its
// exit does not end there).
func TestPodStopSharedPID(t *testing.T) {
	root := setup(t)
	podCreate(t, root, "stoppids", "--share-pid", "--network", "none")
	// The init ends on SIGTERM at once; what it started stays.
	c := podContainer(t, root, "stoppids", containerID(t), sh(t, "trap 'exit 0' TERM; sleep 1041 & echo started; while :; do sleep 0.1; done"))
	c.awaitLine(t, "started", 10*time.Second)
	mustGorun(t, root, "pod", "stop", "stoppids")
	if out, _ := exec.Command("pgrep", "-f", "sleep 1041").Output(); len(out) > 0 {
		t.Errorf("processes of the pod left after pod stop: %s", out)
	}
	mustGorun(t, root, "pod", "rm", "--force", "stoppids")
}

// TestPodPublishConflicts: a host port another pod publishes, or a program
// of the host listens on, or a host address that is not this host's, is
// refused, before anything is made.
func TestPodPublishConflicts(t *testing.T) {
	root := setup(t)
	podCreate(t, root, "porta", "-p", "18121:80")
	_, errOut, code := gorun(t, root, "pod", "create", "-p", "127.0.0.1:18121:81", "portb")
	expectFailure(t, "pod create publishing another pod's port", "", errOut, code, "18121", "pod porta")

	l, err := net.Listen("tcp", "127.0.0.1:18122")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, errOut, code = gorun(t, root, "pod", "create", "-p", "18122:80", "portc")
	expectFailure(t, "pod create publishing a port in use", "", errOut, code, "18122", "address already in use")

	_, errOut, code = gorun(t, root, "pod", "create", "-p", "192.0.2.7:18123:80", "portd")
	expectFailure(t, "pod create publishing on a foreign address", "", errOut, code, "192.0.2.7", "not an address of this host")
	for _, n := range []string{"portb", "portc", "portd"} {
		if _, err := os.Stat(filepath.Join(root, "@pods", n)); err == nil {
			t.Errorf("pod %s left after its create failed", n)
		}
	}
	mustGorun(t, root, "pod", "rm", "porta")
}

// TestPodCgroupParentRemoved: the parents gorun made for --cgroup-parent
// go with the pod.
func TestPodCgroupParentRemoved(t *testing.T) {
	root := setup(t)
	parent := "/gorun-test-parent-" + strconv.Itoa(os.Getpid()) + "/sub"
	podCreate(t, root, "withparent", "--network", "none", "--cgroup-parent", parent)
	mustGorun(t, root, "pod", "rm", "withparent")
	checkNoCgroup(t, parent)
	checkNoCgroup(t, path.Dir(parent))
}

// TestPodRelativeRoot: a relative --root works for a pod and its
// containers (it is made absolute, as runc does).
func TestPodRelativeRoot(t *testing.T) {
	root := setup(t)
	parent, rel := filepath.Dir(root), filepath.Base(root)
	run := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(binary(t), append([]string{"--root", rel}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gorun --root %s %s (in %s): %v\n%s", rel, strings.Join(args, " "), dir, err, out)
		}
	}
	run(parent, "pod", "create", "--network", "none", "relpod")
	b := sh(t, "true")
	id := containerID(t)
	mustDelete(t, root, id)
	// The pod's namespace paths were recorded absolute: a container can
	// join them (a relative path is refused as a namespace path).
	run(parent, "run", "--pod", "relpod", "--bundle", b.Dir, id)
	run(parent, "pod", "rm", "relpod")
}
