package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorun/gorun/tests/image"
)

// TestContainerd drives gorun as the runtime binary of containerd's
// io.containerd.runc.v2 shim, through `ctr run --runc-binary`: a private
// containerd (Debian's 1.6) with its own root, state and socket, and the
// busybox image imported from a tarball built here (no registry).
func TestContainerd(t *testing.T) {
	const ns = "gorun-test"
	dir, root := clientSetup(t, func(d string) string { return filepath.Join(d, "gorun-root", ns) })
	runtimeRoot := filepath.Dir(root) // --runc-root; the shim adds /<namespace>
	c := startContainerd(t, dir, ctrdOpts{ns: ns}, root)
	busyboxTar, _ := buildImages(t, dir, image.OCI)
	if out := c.mustCtr("images", "import", busyboxTar); !strings.Contains(out, busyboxRef) {
		t.Fatalf("ctr images import: %s", out)
	}
	// The wrapper records every argv the shim passes, then execs gorun.
	wrapper, calls := argvRecorder(t, dir)
	fifoDir := filepath.Join(dir, "fifo") // ctr's, instead of /run/containerd/fifo
	run := func(bin string, args ...string) []string {
		return append([]string{"run", "--runc-binary", bin, "--runc-root", runtimeRoot, "--fifo-dir", fifoDir}, args...)
	}
	gorunBin := binary(t)

	t.Run("run", func(t *testing.T) {
		out := c.mustCtr(run(gorunBin, "--rm", busyboxRef, "c-run",
			"sh", "-c", "echo hello from gorun; cat /proc/self/cgroup; readlink /proc/1/exe")...)
		if !strings.Contains(out, "hello from gorun\n") {
			t.Errorf("ctr run printed %q", out)
		}
		// ctr's spec names the cgroup /<namespace>/<id>; the container is there.
		if !strings.Contains(out, ":memory:/"+ns+"/c-run\n") {
			t.Errorf("container's cgroups: %q, want memory:/%s/c-run", out, ns)
		}
		if c.mustCtr("containers", "ls", "-q") != "" {
			t.Errorf("ctr run --rm left a container")
		}
	})

	t.Run("lifecycle", func(t *testing.T) {
		id := "c-life"
		logFile := filepath.Join(dir, id+".log")
		c.mustCtr(run(wrapper, "-d", "--log-uri", "file://"+logFile, busyboxRef, id,
			"sh", "-c", `trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.1; done`)...)
		pid := c.waitTask(id, "RUNNING")
		waitFor(t, 10*time.Second, "container never printed ready", func() bool {
			b, _ := os.ReadFile(logFile)
			return strings.Contains(string(b), "ready\n")
		})

		// gorun's own view, at the root the shim gave it.
		st := state(t, root, id)
		if st.Status != "running" || st.Pid != pid {
			t.Errorf("gorun state: %s pid %d; ctr task ls: RUNNING pid %d", st.Status, st.Pid, pid)
		}
		// The container sits in the cgroup its spec names.
		var info struct {
			Spec struct {
				Linux struct {
					CgroupsPath string `json:"cgroupsPath"`
				} `json:"linux"`
			} `json:"Spec"`
		}
		if err := json.Unmarshal([]byte(c.mustCtr("containers", "info", id)), &info); err != nil {
			t.Fatal(err)
		}
		cg := info.Spec.Linux.CgroupsPath
		if host := readFile(t, "/proc/"+strconv.Itoa(pid)+"/cgroup"); cg == "" || !strings.Contains(host, ":memory:"+cg+"\n") {
			t.Errorf("spec cgroupsPath %q; the init's cgroups:\n%s", cg, host)
		}

		// exec --process F --detach --pid-file P
		out := c.mustCtr("task", "exec", "--fifo-dir", fifoDir, "--exec-id", "e1", id, "sh", "-c", "echo exec-out; cat /proc/1/cmdline | tr '\\0' ' '")
		if !strings.Contains(out, "exec-out\n") || !strings.Contains(out, "sh -c trap") {
			t.Errorf("ctr task exec printed %q", out)
		}
		// ...and with a terminal: --console-socket.
		tty, code := runInPty(t, nil, "ctr", "--address", c.sock, "--namespace", ns,
			"task", "exec", "--fifo-dir", fifoDir, "-t", "--exec-id", "e2", id, "sh", "-c", "tty; echo tty-exec-ok")
		if code != 0 || !strings.Contains(tty, "/dev/pts/") || !strings.Contains(tty, "tty-exec-ok") {
			t.Errorf("ctr task exec -t: exit %d, terminal showed %q", code, tty)
		}

		// ps --format json
		if out := c.mustCtr("task", "ps", id); !strings.Contains(out, strconv.Itoa(pid)) {
			t.Errorf("ctr task ps does not list the init %d:\n%s", pid, out)
		}

		// pause / resume: status, and the host's freezer.
		c.mustCtr("task", "pause", id)
		if s, _ := c.taskStatus(id); s != "PAUSED" {
			t.Errorf("after pause: %s", s)
		}
		if st := state(t, root, id); st.Status != "paused" {
			t.Errorf("gorun state after pause: %s", st.Status)
		}
		c.mustCtr("task", "resume", id)
		if s, _ := c.taskStatus(id); s != "RUNNING" {
			t.Errorf("after resume: %s", s)
		}

		// update --resources - (as the shim calls it for CRI's
		// UpdateContainerResources), seen by containerd's metrics, which
		// it reads straight from the cgroup.
		limit := int64(48 << 20)
		res := `{"memory": {"limit": ` + strconv.FormatInt(limit, 10) + `}, "pids": {"limit": 77}}`
		logPath := filepath.Join(dir, "update-log.json")
		if r := gorunAt(t, res, "--root", root, "--log", logPath, "--log-format", "json", "update", "--resources", "-", id); r.code != 0 {
			t.Fatalf("gorun update --resources -: %s", r)
		}
		// ctr prints the cgroup v1 metrics the shim read.
		var m struct {
			Pids   struct{ Current, Limit uint64 }
			Memory struct {
				Usage struct{ Usage, Limit uint64 }
			}
			CPU struct {
				Usage struct{ Total uint64 }
			}
		}
		if err := json.Unmarshal([]byte(c.mustCtr("task", "metrics", "--format", "json", id)), &m); err != nil {
			t.Fatal(err)
		}
		if m.Pids.Current < 1 || m.Pids.Limit != 77 || m.Memory.Usage.Usage == 0 ||
			m.Memory.Usage.Limit != uint64(limit) || m.CPU.Usage.Total == 0 {
			t.Errorf("ctr task metrics: %+v (want pids ≥1 of 77, memory used of %d, cpu used)", m, limit)
		}

		// kill ID 15: the trap runs and the task stops with its status.
		c.mustCtr("task", "kill", id)
		c.waitTask(id, "STOPPED")
		if b, _ := os.ReadFile(logFile); !strings.Contains(string(b), "got TERM") {
			t.Errorf("container log: %q", b)
		}
		c.mustCtr("task", "rm", id)
		c.mustCtr("containers", "rm", id)
		if _, err := os.Stat(filepath.Join(root, id)); !os.IsNotExist(err) {
			t.Errorf("gorun state of %s after ctr task rm: %v", id, err)
		}

		// What the shim called, with the flags it always passes.
		got := calls()
		global := []string{"--root", root, "--log", "--log-format", "json"}
		for _, want := range [][]string{
			{"create", "--bundle", "--pid-file", id},
			{"start", id},
			{"exec", "--process", "--detach", "--pid-file", id},
			{"exec", "--process", "--console-socket", "--detach", "--pid-file", id},
			{"pause", id},
			{"resume", id},
			{"ps", "--format", "json", id},
			{"kill", id, "15"},
			{"delete", id},
		} {
			if !hasCall(got, append(global, want...)...) {
				t.Errorf("the shim never called gorun %s; it called:\n\t%s", strings.Join(want, " "), strings.Join(got, "\n\t"))
			}
		}
	})

	t.Run("kill-all", func(t *testing.T) {
		id := "c-all"
		c.mustCtr(run(wrapper, "-d", busyboxRef, id, "sh", "-c", "sleep 1000 & sleep 1000 & wait")...)
		pid := c.waitTask(id, "RUNNING")
		var pids []int
		waitFor(t, 5*time.Second, "the container never had its 3 processes", func() bool {
			st := gorunAt(t, "", "--root", root, "ps", "--format", "json", id)
			pids = nil
			json.Unmarshal([]byte(st.stdout), &pids)
			return len(pids) == 3
		})
		c.mustCtr("task", "kill", "--all", "--signal", "SIGKILL", id)
		c.waitTask(id, "STOPPED")
		for _, p := range append(pids, pid) {
			waitFor(t, 5*time.Second, "process "+strconv.Itoa(p)+" survived kill --all", func() bool { return !pidAlive(p) })
		}
		// A signal for a task that has exited: gorun says "container not
		// running", which the shim reports as not found.
		r := c.ctr("task", "kill", id)
		if r.code == 0 || !strings.Contains(r.stderr, "process already finished") {
			t.Errorf("ctr task kill of a stopped task: %s", r)
		}
		// rm -f of a stopped task kills with --all first: no error.
		c.mustCtr("task", "rm", "-f", id)
		c.mustCtr("containers", "rm", id)
		if !hasCall(calls(), "kill", "--all", id, "9") {
			t.Errorf("the shim never called gorun kill --all %s 9", id)
		}
	})

	t.Run("dead-shim", func(t *testing.T) {
		// When a shim dies, containerd runs the runtime's
		// `delete --force` to clean up after it.
		id := "c-force"
		c.mustCtr(run(wrapper, "-d", busyboxRef, id, "sleep", "1000")...)
		pid := c.waitTask(id, "RUNNING")
		if n := killProcsWith("containerd-shim", "-id "+id+" ", "-address "+c.sock+" "); n != 1 {
			t.Fatalf("killed %d shims of %s, want 1", n, id)
		}
		waitFor(t, 15*time.Second, "the task outlived its shim", func() bool { s, _ := c.taskStatus(id); return s == "" })
		waitFor(t, 5*time.Second, "the container's init survived delete --force", func() bool { return !pidAlive(pid) })
		waitFor(t, 5*time.Second, "gorun's state of the container outlived delete --force", func() bool {
			_, err := os.Stat(filepath.Join(root, id))
			return os.IsNotExist(err)
		})
		if !hasCall(calls(), "delete", "--force", id) {
			t.Errorf("containerd never called gorun delete --force %s", id)
		}
		c.ctr("containers", "rm", id)
	})

	t.Run("errors", func(t *testing.T) {
		// gorun's error reaches the user through the --log file the
		// shim reads (lines at level "error").
		r := c.ctr(run(gorunBin, "--rm", busyboxRef, "c-err", "/no/such/program")...)
		if r.code == 0 || !strings.Contains(r.stderr, `process.args[0] "/no/such/program"`) {
			t.Errorf("ctr run of a missing program: %s", r)
		}
		c.ctr("containers", "rm", "c-err")

		id := "c-err-exec"
		c.mustCtr(run(gorunBin, "-d", busyboxRef, id, "sleep", "1000")...)
		c.waitTask(id, "RUNNING")
		r = c.ctr("task", "exec", "--fifo-dir", fifoDir, "--exec-id", "bad", id, "/no/such/program")
		if r.code == 0 || !strings.Contains(r.stderr, `process.args[0] "/no/such/program"`) {
			t.Errorf("ctr task exec of a missing program: %s", r)
		}
		c.mustCtr("task", "rm", "-f", id)
		c.mustCtr("containers", "rm", id)

		// The same log, written directly: one JSON line, level "error".
		logPath := filepath.Join(dir, "err-log.json")
		r = gorunAt(t, "", "--root", root, "--log", logPath, "--log-format", "json", "state", "no-such-container")
		if r.code != 1 {
			t.Errorf("gorun state of a missing container: %s", r)
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSpace(readFile(t, logPath))), &rec); err != nil {
			t.Fatalf("--log file: %v", err)
		}
		if rec["level"] != "error" || !strings.Contains(rec["msg"].(string), "does not exist") {
			t.Errorf("--log line %v: want level \"error\" and the message", rec)
		}
	})

	t.Run("features", func(t *testing.T) {
		r := gorunAt(t, "", "--root", root, "--log", filepath.Join(dir, "features.json"), "--log-format", "json", "features")
		var f struct {
			OCIVersionMin, OCIVersionMax string
			Linux                        struct{ Namespaces []string }
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &f) != nil || f.OCIVersionMax == "" || len(f.Linux.Namespaces) == 0 {
			t.Errorf("gorun features: %s", r)
		}
	})
}
