package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorun/gorun/tests/image"
)

// podman is podman with private storage, run directory, configuration and
// gorun state root under dir.
type podman struct {
	t    *testing.T
	dir  string
	env  []string
	base []string
	// in, if set, gives the command line that runs podman elsewhere
	// (sdmachine's Argv: inside a private systemd).
	in func(name string, args ...string) []string
}

// podSubnet is the test's own CNI network for the pod test.
const podSubnet = "10.99.98.0/24"

func newPodman(t *testing.T, dir, gorunRoot string) *podman {
	t.Helper()
	needPackage(t, "podman", "/usr/bin/podman", "/usr/bin/conmon")
	p := &podman{t: t, dir: dir}
	conf := filepath.Join(dir, "containers.conf")
	storage := filepath.Join(dir, "storage.conf")
	cniDir := filepath.Join(dir, "cni")
	for _, d := range []string{cniDir, filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Root here lacks CAP_SYS_RESOURCE, so podman's default rlimits for
	// root (nofile and nproc 1048576) cannot be granted: gorun refuses
	// them, as runc does. default_ulimits keeps them within the host's.
	must(t, os.WriteFile(conf, []byte(fmt.Sprintf(`[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
events_logfile_path = %q
infra_image = %q

[network]
network_backend = "cni"
cni_plugin_dirs = ["/usr/lib/cni"]
network_config_dir = %q
`, filepath.Join(dir, "events.log"), pauseRef, cniDir)), 0o644))
	must(t, os.WriteFile(storage, []byte(fmt.Sprintf(`[storage]
driver = "vfs"
graphroot = %q
runroot = %q
`, filepath.Join(dir, "storage"), filepath.Join(dir, "run"))), 0o644))
	p.env = []string{"CONTAINERS_CONF=" + conf, "CONTAINERS_STORAGE_CONF=" + storage}
	p.base = []string{
		"--root", filepath.Join(dir, "storage"), "--runroot", filepath.Join(dir, "run"),
		"--tmpdir", filepath.Join(dir, "tmp"), "--storage-driver", "vfs",
		"--cgroup-manager", "cgroupfs", "--events-backend", "file",
		// No --runtime-flag root=...: the cleanup podman that conmon
		// runs when a container exits does not pass runtime flags on,
		// so gorun must use its default root, as runc does with podman.
		"--runtime", binary(t),
	}
	// podman keeps a blob info cache under /var/lib/containers whatever
	// the storage root; removed if this test made it.
	const blobCache = "/var/lib/containers/cache/blob-info-cache-v1.boltdb"
	_, err := os.Stat(blobCache)
	cacheExisted := err == nil
	t.Cleanup(dirCleanup("/var/lib/containers", "/var/lib/containers/cache"))
	t.Cleanup(func() {
		if !cacheExisted {
			os.Remove(blobCache)
		}
	})
	t.Cleanup(cgroupParents("libpod_parent"))
	t.Cleanup(func() {
		p.run("pod", "rm", "--all", "--force", "--time", "0")
		p.run("rm", "--all", "--force", "--time", "0")
		forceDeleteAll(t, gorunRoot, dir)
		unmountUnder(t, dir)
	})
	return p
}

// ownStates is gorunStates of the containers whose bundle is under dir:
// this test's, in gorun's default root that others may use too.
func ownStates(t *testing.T, root, dir string) map[string]containerState {
	t.Helper()
	m := gorunStates(t, root)
	for id, st := range m {
		if !strings.HasPrefix(st.Bundle, dir+"/") {
			delete(m, id)
		}
	}
	return m
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (p *podman) run(args ...string) cmdResult {
	p.t.Helper()
	argv := append(append([]string{"podman"}, p.base...), args...)
	if p.in != nil {
		argv = p.in(argv[0], argv[1:]...)
	}
	return runCmd(p.t, p.env, "", argv[0], argv[1:]...)
}

func (p *podman) must(args ...string) string {
	p.t.Helper()
	r := p.run(args...)
	if r.code != 0 {
		p.t.Fatalf("podman %s: %s", strings.Join(args, " "), r)
	}
	return strings.TrimSpace(r.stdout)
}

// TestPodman drives gorun as podman's OCI runtime (`podman --runtime`,
// with conmon), with private vfs storage and the busybox image loaded from
// a docker-archive built here.
func TestPodman(t *testing.T) {
	// gorun's default state root: podman passes no --root.
	dir, root := clientSetup(t, func(string) string { return "/run/gorun" })
	p := newPodman(t, dir, root)
	busyboxTar, pauseTar := buildImages(t, dir, image.Docker)
	if out := p.must("load", "--input", busyboxTar); !strings.Contains(out, busyboxRef) {
		t.Fatalf("podman load: %q", out)
	}
	p.must("load", "--input", pauseTar)

	t.Run("run", func(t *testing.T) {
		r := p.run("run", "--rm", "--pull", "never", "--network", "none", "--hostname", "podbox", busyboxRef,
			"sh", "-c", "echo hello from gorun; hostname; id -u; ulimit -n")
		if r.code != 0 || r.stdout != "hello from gorun\npodbox\n0\n1024\n" {
			t.Errorf("podman run: %s", r)
		}
		// The exit status of the container's process comes back.
		if r := p.run("run", "--rm", "--network", "none", busyboxRef, "sh", "-c", "exit 3"); r.code != 3 {
			t.Errorf("podman run of `exit 3`: %s", r)
		}
		// A runtime error reaches the user, as podman maps runc's.
		r = p.run("run", "--rm", "--network", "none", busyboxRef, "/no/such/program")
		if r.code != 127 || !strings.Contains(r.stderr, `process.args[0] "/no/such/program"`) {
			t.Errorf("podman run of a missing program: %s", r)
		}
	})

	t.Run("detached", func(t *testing.T) {
		name := "gorun-d1"
		id := p.must("run", "-d", "--name", name, "--network", "none", "--memory", "64m", busyboxRef,
			"sh", "-c", `trap 'echo got TERM; exit 0' TERM; echo started; sleep 1000 & wait`)
		waitFor(t, 10*time.Second, "the container never logged started", func() bool {
			return strings.Contains(p.run("logs", name).stdout, "started")
		})
		if st := gorunStates(t, root); st[id].Status != "running" {
			t.Errorf("gorun list at %s: %v, want %s running", root, st, id)
		}
		if out := p.must("ps", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(out, name+" Up") {
			t.Errorf("podman ps: %q", out)
		}
		// --memory is the limit of the cgroup the container sits in.
		if out := p.must("exec", name, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"); out != "67108864" {
			t.Errorf("memory limit inside: %q, want 67108864", out)
		}
		if out := p.must("exec", "--env", "GREETING=hi", name, "sh", "-c", "echo $GREETING from exec; cat /proc/1/cmdline | tr '\\0' ' '"); !strings.Contains(out, "hi from exec\nsh -c trap") {
			t.Errorf("podman exec: %q", out)
		}
		if r := p.run("exec", name, "sh", "-c", "exit 5"); r.code != 5 {
			t.Errorf("podman exec of `exit 5`: %s", r)
		}
		// exec -it: a terminal through the console socket conmon gives.
		tty, code := runInPty(t, p.env, "podman", append(append([]string{}, p.base...), "exec", "-it", name, "sh", "-c", "tty; stty size; echo tty-ok")...)
		if code != 0 || !strings.Contains(tty, "/dev/pts/") || !strings.Contains(tty, "24 80") || !strings.Contains(tty, "tty-ok") {
			t.Errorf("podman exec -it: exit %d, terminal showed %q", code, tty)
		}
		// pause / unpause: gorun's freezer.
		p.must("pause", name)
		if out := p.must("inspect", "--format", "{{.State.Status}}", name); out != "paused" {
			t.Errorf("after podman pause: %q", out)
		}
		if st := gorunStates(t, root); st[id].Status != "paused" {
			t.Errorf("gorun state after podman pause: %q", st[id].Status)
		}
		p.must("unpause", name)
		// update: gorun update --resources.
		p.must("update", "--memory", "96m", name)
		if out := p.must("exec", name, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"); out != "100663296" {
			t.Errorf("memory limit inside after podman update: %q, want 100663296", out)
		}
		// stop: SIGTERM, the trap runs, the container exits 0.
		p.must("stop", "--time", "10", name)
		if out := p.must("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name); out != "exited 0" {
			t.Errorf("after podman stop: %q", out)
		}
		if out := p.must("logs", name); out != "started\ngot TERM" {
			t.Errorf("podman logs: %q", out)
		}
		p.must("rm", name)
		if r := p.run("container", "exists", name); r.code != 1 {
			t.Errorf("podman container exists after rm: %s", r)
		}
		if st := ownStates(t, root, dir); len(st) != 0 {
			t.Errorf("gorun list after podman rm: %v", st)
		}
	})

	t.Run("run-it", func(t *testing.T) {
		out, code := runInPty(t, p.env, "podman", append(append([]string{}, p.base...),
			"run", "--rm", "-it", "--network", "none", busyboxRef, "sh", "-c", "tty; echo run-it-ok")...)
		if code != 0 || !strings.Contains(out, "/dev/pts/0") || !strings.Contains(out, "run-it-ok") {
			t.Errorf("podman run -it: exit %d, terminal showed %q", code, out)
		}
	})

	t.Run("pod", func(t *testing.T) {
		// The test's own CNI network: a bridge of its own, addresses
		// from its own directory.
		const bridge = "gorun-pod0"
		t.Cleanup(linkCleanup(bridge))
		conflist := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "gorun-pod-net",
  "plugins": [{
    "type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false,
    "ipam": {"type": "host-local", "ranges": [[{"subnet": %q, "gateway": "10.99.98.1"}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": %q}
  }]
}
`, bridge, podSubnet, filepath.Join(dir, "ipam"))
		must(t, os.WriteFile(filepath.Join(dir, "cni", "gorun-pod-net.conflist"), []byte(conflist), 0o644))

		pod := p.must("pod", "create", "--name", "gorun-pod", "--network", "gorun-pod-net", "--infra-image", pauseRef)
		for _, n := range []string{"pa", "pb"} {
			p.must("run", "-d", "--pod", pod, "--name", n, busyboxRef, "sleep", "1000")
		}
		if out := p.must("pod", "ps", "--format", "{{.Name}} {{.Status}} {{.NumberOfContainers}}"); out != "gorun-pod Running 3" {
			t.Errorf("podman pod ps: %q", out)
		}
		view := func(n string) (string, string) {
			out := p.must("exec", n, "sh", "-c", "ip -4 -o addr show eth0; readlink /proc/self/ns/net")
			m := inetRe.FindStringSubmatch(out)
			i := strings.Index(out, "net:[")
			if m == nil || i < 0 {
				t.Fatalf("%s sees: %q", n, out)
			}
			return m[1], strings.TrimSpace(out[i:])
		}
		ipA, nsA := view("pa")
		ipB, nsB := view("pb")
		if ipA != ipB || nsA != nsB || !strings.HasPrefix(ipA, "10.99.98.") {
			t.Errorf("pa sees %s in %s, pb sees %s in %s: want one address of %s in one namespace", ipA, nsA, ipB, nsB, podSubnet)
		}
		// Three containers of gorun: infra, pa and pb.
		if st := ownStates(t, root, dir); len(st) != 3 {
			t.Errorf("gorun list: %d containers, want 3: %v", len(st), st)
		}
		p.must("pod", "stop", "--time", "0", pod)
		p.must("pod", "rm", pod)
		if out := p.must("pod", "ps", "--quiet"); out != "" {
			t.Errorf("podman pod ps after pod rm: %q", out)
		}
		if st := ownStates(t, root, dir); len(st) != 0 {
			t.Errorf("gorun list after pod rm: %v", st)
		}
	})
}
