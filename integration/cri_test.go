package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorun/gorun/tests/image"
)

// crictlVersion is the cri-tools release the test builds: it speaks CRI v1,
// which containerd 1.6 serves, and its module has no replace directives,
// so `go install` resolves it from the module proxy.
const crictlVersion = "v1.34.0"

// criSubnet is the pod network of the test's bridge: unlikely to clash.
const criSubnet = "10.88.99.0/24"

// crictlBinary returns a crictl built with `go install`, cached under the
// temporary directory across runs; it skips the test when it cannot be
// built (no module proxy).
func crictlBinary(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "gorun-tests-crictl-"+crictlVersion)
	bin := filepath.Join(dir, "crictl")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == 0 && fi.Mode().Perm()&0o022 == 0 {
			return bin
		}
	}
	gobin, err := os.MkdirTemp("", "gorun-crictl-build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(gobin)
	start := time.Now()
	cmd := exec.Command(goTool(), "install", "sigs.k8s.io/cri-tools/cmd/crictl@"+crictlVersion)
	cmd.Dir = gobin
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("crictl %s cannot be built here (`go install` needs the Go module proxy): %v\n%s", crictlVersion, err, lastLines(string(out), 5))
	}
	t.Logf("built crictl %s in %v", crictlVersion, time.Since(start).Round(time.Second))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(gobin, "crictl"), bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// cri is crictl against a private containerd's CRI plugin.
type cri struct {
	t      *testing.T
	crictl string
	config string
}

func (c *cri) run(args ...string) cmdResult {
	c.t.Helper()
	return runCmd(c.t, nil, "", c.crictl, append([]string{"--config", c.config}, args...)...)
}

func (c *cri) must(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("crictl %s: %s", strings.Join(args, " "), r)
	}
	return strings.TrimSpace(r.stdout)
}

var inetRe = regexp.MustCompile(`inet (\d+\.\d+\.\d+\.\d+)/`)

// TestCRI runs a Kubernetes-style pod through containerd's built-in CRI
// plugin with a runtime handler "gorun" (what a RuntimeClass selects): its
// io.containerd.runc.v2 shim has BinaryName = gorun. Pod networking is CNI
// (bridge + host-local from containernetworking-plugins; the CRI plugin
// adds loopback itself). crictl is the client.
func TestCRI(t *testing.T) {
	const ns = "k8s.io" // the CRI plugin's containerd namespace
	dir, root := clientSetup(t, func(d string) string { return filepath.Join(d, "gorun-root", ns) })
	needPackage(t, "containernetworking-plugins", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback")
	crictl := crictlBinary(t)

	const bridge = "gorun-cri0"
	t.Cleanup(linkCleanup(bridge))
	cniDir := filepath.Join(dir, "cni")
	if err := os.MkdirAll(cniDir, 0o755); err != nil {
		t.Fatal(err)
	}
	conflist := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "gorun-cri-test",
  "plugins": [{
    "type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false,
    "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": %q}
  }]
}
`, bridge, criSubnet, filepath.Join(dir, "ipam"))
	if err := os.WriteFile(filepath.Join(cniDir, "10-gorun.conflist"), []byte(conflist), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startContainerd(t, dir, ctrdOpts{ns: ns, cri: &criOpts{
		binaryName:  binary(t),
		runtimeRoot: filepath.Dir(root),
		cniConfDir:  cniDir,
		sandbox:     pauseRef,
	}}, root)
	busyboxTar, pauseTar := buildImages(t, dir, image.OCI)
	c.mustCtr("images", "import", pauseTar)
	c.mustCtr("images", "import", busyboxTar)

	cl := &cri{t: t, crictl: crictl, config: filepath.Join(dir, "crictl.yaml")}
	endpoint := "unix://" + c.sock
	if err := os.WriteFile(cl.config, []byte(fmt.Sprintf("runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 60\n", endpoint, endpoint)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Whatever a failed run left: pods first, while containerd runs.
		if !c.d.exited() {
			cl.run("rmp", "--all", "--force")
		}
	})
	if out := cl.must("images"); !strings.Contains(out, "localhost/gorun-busybox") || !strings.Contains(out, "localhost/gorun/pause") {
		t.Fatalf("crictl images does not list the imported images:\n%s", out)
	}

	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	podCfg := write("pod.json", fmt.Sprintf(`{
  "metadata": {"name": "gorun-pod", "namespace": "default", "uid": "gorun-pod-uid-1", "attempt": 0},
  "hostname": "gorun-pod",
  "log_directory": %q,
  "linux": {"security_context": {"namespace_options": {"network": 0, "pid": 0, "ipc": 0}}}
}`, filepath.Join(dir, "pod-logs")))
	ctrCfg := func(name, linux string) string {
		return write(name+".json", fmt.Sprintf(`{
  "metadata": {"name": %q},
  "image": {"image": %q},
  "command": ["sh", "-c", "trap 'echo bye from %s; exit 0' TERM; ip -4 -o addr show eth0; echo started %s; sleep 1000 & wait"],
  "log_path": "%s.log",
  "linux": %s
}`, name, busyboxRef, name, name, name, linux))
	}
	// c2 is locked down as a restricted Kubernetes pod would be: a user,
	// a read-only root and the runtime's default seccomp profile.
	c1Cfg := ctrCfg("c1", `{}`)
	c2Cfg := ctrCfg("c2", `{"security_context": {"run_as_user": {"value": 1000}, "readonly_rootfs": true,
    "seccomp": {"profile_type": 0}}}`)
	logOf := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, "pod-logs", name+".log"))
		return string(b)
	}

	// A pod sandbox with the runtime handler a RuntimeClass names.
	pod := cl.must("runp", "--runtime", "gorun", podCfg)
	var podInfo struct {
		Status struct {
			State   string
			Network struct{ IP string }
		}
		Info struct {
			RuntimeHandler string
			Pid            int
		}
	}
	if err := json.Unmarshal([]byte(cl.must("inspectp", pod)), &podInfo); err != nil {
		t.Fatal(err)
	}
	if podInfo.Status.State != "SANDBOX_READY" || podInfo.Info.RuntimeHandler != "gorun" || !strings.HasPrefix(podInfo.Status.Network.IP, "10.88.99.") {
		t.Errorf("crictl inspectp: state %q, handler %q, ip %q", podInfo.Status.State, podInfo.Info.RuntimeHandler, podInfo.Status.Network.IP)
	}
	podIP := podInfo.Status.Network.IP

	c1 := cl.must("create", pod, c1Cfg, podCfg)
	c2 := cl.must("create", pod, c2Cfg, podCfg)
	cl.must("start", c1, c2)
	for _, n := range []string{"c1", "c2"} {
		waitFor(t, 10*time.Second, n+" never started; its log: "+logOf(n), func() bool { return strings.Contains(logOf(n), "started "+n) })
	}

	// gorun runs all three: the sandbox (pause) and both containers.
	states := gorunStates(t, root)
	for _, id := range []string{pod, c1, c2} {
		if s, ok := states[id]; !ok || s.Status != "running" {
			t.Errorf("gorun list at %s: %s is %+v", root, id, s)
		}
	}
	if len(states) != 3 {
		t.Errorf("gorun list: %d containers, want 3", len(states))
	}

	// Both containers see the pod's one IP and network namespace.
	ipOf := func(id string) (ip, netns string) {
		out := cl.must("exec", "--sync", id, "sh", "-c", "ip -4 -o addr show eth0; readlink /proc/self/ns/net")
		if m := inetRe.FindStringSubmatch(out); m != nil {
			ip = m[1]
		}
		if i := strings.Index(out, "net:["); i >= 0 {
			netns = strings.TrimSpace(out[i:])
		}
		return ip, netns
	}
	ip1, ns1 := ipOf(c1)
	ip2, ns2 := ipOf(c2)
	if ip1 == "" || ip1 != ip2 || ip1 != podIP || ns1 == "" || ns1 != ns2 {
		t.Errorf("c1 sees %s in %s, c2 sees %s in %s; the pod's IP is %s", ip1, ns1, ip2, ns2, podIP)
	}
	if m := inetRe.FindStringSubmatch(logOf("c1")); m == nil || m[1] != podIP {
		t.Errorf("c1's own log: %q, want the pod IP %s", logOf("c1"), podIP)
	}
	// Loopback is up too (the CRI plugin's loopback CNI plugin).
	if out := cl.must("exec", "--sync", c2, "ip", "-o", "addr", "show", "lo"); !strings.Contains(out, "inet 127.0.0.1/8") {
		t.Errorf("c2's lo: %q", out)
	}
	// The pod shares one pid namespace (shareProcessNamespace: pid
	// mode POD): c1 sees the sandbox's pause process and c2's shell.
	if out := cl.must("exec", "--sync", c1, "ps", "-o", "pid,args"); !strings.Contains(out, "sleep infinity") || !strings.Contains(out, "started c2") {
		t.Errorf("processes c1 sees in the pod's pid namespace:\n%s", out)
	}
	// A streamed exec (through the CRI stream server), not only ExecSync.
	if out := cl.must("exec", c1, "sh", "-c", "echo streamed from $(hostname)"); !strings.Contains(out, "streamed from gorun-pod") {
		t.Errorf("crictl exec: %q", out)
	}

	if out := cl.must("exec", "--sync", c2, "sh", "-c", "id -u; grep Seccomp: /proc/self/status; touch /x 2>&1; echo"); !strings.Contains(out, "1000\n") ||
		!strings.Contains(out, "Seccomp:\t2") || !strings.Contains(out, "Read-only file system") {
		t.Errorf("c2's security context: %q, want uid 1000, a seccomp filter and a read-only root", out)
	}
	// exec -it: a terminal through the console socket.
	tty, code := runInPty(t, nil, crictl, "--config", cl.config, "exec", "-it", c1, "sh", "-c", "tty; echo tty-ok")
	if code != 0 || !strings.Contains(tty, "/dev/pts/") || !strings.Contains(tty, "tty-ok") {
		t.Errorf("crictl exec -it: exit %d, terminal showed %q", code, tty)
	}

	// UpdateContainerResources: the shim's `update --resources -`.
	cl.must("update", "--memory", "67108864", c1)
	if out := cl.must("exec", "--sync", c1, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"); out != "67108864" {
		t.Errorf("memory limit inside c1 after crictl update: %q", out)
	}

	// Stop one container: TERM reaches it, it exits 0.
	cl.must("stop", "--timeout", "10", c2)
	var c2Info struct {
		Status struct {
			State    string
			ExitCode int
		}
	}
	if err := json.Unmarshal([]byte(cl.must("inspect", c2)), &c2Info); err != nil {
		t.Fatal(err)
	}
	if c2Info.Status.State != "CONTAINER_EXITED" || c2Info.Status.ExitCode != 0 || !strings.Contains(logOf("c2"), "bye from c2") {
		t.Errorf("c2 after crictl stop: %+v, log %q", c2Info.Status, logOf("c2"))
	}

	// Stop and remove the pod: nothing of it is left in gorun.
	cl.must("stopp", pod)
	cl.must("rmp", pod)
	if out := cl.must("pods", "--quiet"); out != "" {
		t.Errorf("crictl pods after rmp: %q", out)
	}
	if states := gorunStates(t, root); len(states) != 0 {
		t.Errorf("gorun list after the pod was removed: %v", states)
	}
}
