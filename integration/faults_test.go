package integration

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/tests/bundle"
	"github.com/gorun/gorun/tests/leakcheck"
)

// faultSteps are the fault points of `gorun create`, in order
// (libcontainer/fault, compiled in with -tags gorunfault).
var faultSteps = []string{"after-state", "after-cgroup", "after-clone", "after-config", "after-ready"}

// moduleRoot finds the directory of go.mod above the working directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// buildFaultBinary builds gorun with the fault switch into dir.
func buildFaultBinary(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	bin := filepath.Join(dir, "gorun")
	cmd := exec.Command(goBin, "build", "-tags", "gorunfault,urfave_cli_no_docs", "-o", bin, "./cmd/gorun")
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags gorunfault ./cmd/gorun: %v\n%s", err, out)
	}
	return bin
}

// cgroupLeft lists the hierarchies where the container's default cgroup
// (/gorun/ID) still exists.
func cgroupLeft(t *testing.T, id string) []string {
	t.Helper()
	var left []string
	for _, m := range allCgroupMounts(t) {
		p := filepath.Join(m, "gorun", id)
		if _, err := os.Stat(p); err == nil {
			left = append(left, p)
		}
	}
	return left
}

// checkGone fails the test if container id left a state directory or a
// cgroup (the leak checker looks at processes and the rest).
func checkGone(t *testing.T, root, id string) {
	t.Helper()
	if _, err := os.Lstat(filepath.Join(root, id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state directory of %s left: %v", id, err)
	}
	if left := cgroupLeft(t, id); len(left) > 0 {
		t.Errorf("cgroups of %s left: %v", id, left)
	}
}

// listJSON runs `gorun list --format json` and fails the test unless it
// succeeds with valid JSON.
func listJSON(t *testing.T, root string) []containerState {
	t.Helper()
	out := mustGorun(t, root, "list", "--format", "json")
	var states []containerState
	if err := json.Unmarshal([]byte(out), &states); err != nil {
		t.Fatalf("list --format json: %v\n%s", err, out)
	}
	return states
}

// TestFaultCreateKilled kills `gorun create` with SIGKILL at each of its
// steps (a build with the fault switch), then checks that `list` still
// works and that `delete --force` removes all that create made.
func TestFaultCreateKilled(t *testing.T) {
	setup(t)
	faultBin := buildFaultBinary(t, t.TempDir())
	normal := binary(t)
	b := bundle.New(t, "sleep", "100")
	for _, step := range faultSteps {
		t.Run(step, func(t *testing.T) {
			root := t.TempDir()
			leakcheck.Register(t, root)
			id := containerID(t)
			mustDelete(t, root, id)

			t.Setenv("GORUN_BINARY", faultBin)
			t.Setenv("GORUN_FAULT", step)
			out, errOut, code := gorun(t, root, "create", "--bundle", b.Dir, id)
			t.Setenv("GORUN_FAULT", "")
			t.Setenv("GORUN_BINARY", normal)
			if code != 128+int(syscall.SIGKILL) {
				t.Fatalf("create with GORUN_FAULT=%s: exit %d, want %d (killed)\nstdout: %s\nstderr: %s",
					step, code, 128+int(syscall.SIGKILL), out, errOut)
			}
			if _, err := os.Stat(filepath.Join(root, id)); err != nil {
				t.Errorf("after a create killed at %s: no state directory (%v); the step should have made one", step, err)
			}

			// list works, and shows the half-made container without a pid.
			states := listJSON(t, root)
			if len(states) != 1 || states[0].ID != id {
				t.Errorf("list after a create killed at %s: %+v, want %s alone", step, states, id)
			} else if states[0].Status != "stopped" {
				t.Errorf("list after a create killed at %s: status %q, want stopped", step, states[0].Status)
			}

			mustGorun(t, root, "delete", "--force", id)
			checkGone(t, root, id)
			if left := lines(mustGorun(t, root, "list", "-q")); len(left) > 0 {
				t.Errorf("list after delete --force: %v", left)
			}
		})
	}
}

// TestFaultInitKilled: a container whose init is killed from outside gorun
// shows stopped, and a plain delete removes it.
func TestFaultInitKilled(t *testing.T) {
	root := setup(t)
	b := bundle.New(t, "sleep", "100")
	for _, started := range []bool{false, true} {
		name := "created"
		if started {
			name = "running"
		}
		t.Run(name, func(t *testing.T) {
			id := containerID(t)
			create(t, root, b, id)
			if started {
				mustGorun(t, root, "start", id)
			}
			pid := state(t, root, id).Pid
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if st := waitStatus(t, root, id, "stopped", 5*time.Second); st.Pid != 0 {
				t.Errorf("stopped container shows pid %d", st.Pid)
			}
			out, errOut, code := gorun(t, root, "kill", id, "TERM")
			expectFailure(t, "kill of a container whose init was killed", out, errOut, code, id, "stopped")
			mustGorun(t, root, "delete", id)
			checkGone(t, root, id)
		})
	}
}

// TestFaultCorruptState: a state.json that is truncated, garbage or empty
// gives `state` one clear error naming the file, `list` skips it, and
// `delete --force` still removes the container, its process and cgroup.
func TestFaultCorruptState(t *testing.T) {
	root := setup(t)
	b := bundle.New(t, "sleep", "100")
	for _, c := range []struct {
		name    string
		corrupt func(data []byte) []byte
	}{
		{"truncated", func(d []byte) []byte { return d[:len(d)/2] }},
		{"garbage", func([]byte) []byte { return []byte("\x00\xff not json at all \x01") }},
		{"empty", func([]byte) []byte { return nil }},
		{"wrong_types", func([]byte) []byte { return []byte(`{"id": 5, "init_pid": "x"}`) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := containerID(t)
			create(t, root, b, id)
			mustGorun(t, root, "start", id)
			pid := state(t, root, id).Pid
			stateFile := filepath.Join(root, id, "state.json")
			data, err := os.ReadFile(stateFile)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(stateFile, c.corrupt(data), 0o600); err != nil {
				t.Fatal(err)
			}

			out, errOut, code := gorun(t, root, "state", id)
			expectFailure(t, "state of a corrupt container", out, errOut, code, stateFile, "corrupt", "delete --force")
			if states := listJSON(t, root); len(states) != 0 {
				t.Errorf("list shows a container whose state is corrupt: %+v", states)
			}

			mustGorun(t, root, "delete", "--force", id)
			checkGone(t, root, id)
			if !poll(2*time.Second, func() bool { return !pidAlive(pid) }) {
				t.Errorf("init %d still alive after delete --force", pid)
			}
		})
	}
}

// TestFaultFullRoot: with --root on a full filesystem, create fails with an
// error naming --root and the cause, and leaves no container directory.
func TestFaultFullRoot(t *testing.T) {
	root := setup(t)
	if err := unix.Mount("tmpfs", root, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
		t.Fatalf("mount a 64k tmpfs on %s: %v", root, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(root, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", root, err)
		}
	})
	filler := filepath.Join(root, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", root, err)
			}
			break
		}
	}
	f.Close()

	b := bundle.New(t, "sleep", "100")
	id := containerID(t)
	mustDelete(t, root, id)
	out, errOut, code := gorun(t, root, "create", "--bundle", b.Dir, id)
	expectFailure(t, "create on a full --root", out, errOut, code, "--root", root, "no space left on device")
	if got := rootEntries(t, root); strings.Join(got, " ") != "filler" {
		t.Errorf("full --root holds %v after the failed create, want only the filler", got)
	}
	checkGone(t, root, id)
	if states := listJSON(t, root); len(states) != 0 {
		t.Errorf("list on the full root: %+v", states)
	}

	// Once there is space again, the same id works.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	create(t, root, b, id)
	mustGorun(t, root, "delete", "--force", id)
	checkGone(t, root, id)
}

// TestFaultCorruptStateCustomCgroup: with state.json destroyed, delete
// --force still finds a container's own linux.cgroupsPath through the
// config gorun recorded beside it, and kills and removes everything.
func TestFaultCorruptStateCustomCgroup(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	b := sh(t, "sleep 300")
	b.Spec.Linux.CgroupsPath = "/gorun-itest-corrupt/" + id
	writeBundle(t, b)
	t.Cleanup(func() {
		for _, h := range []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "systemd", "unified"} {
			os.Remove("/sys/fs/cgroup/" + h + "/gorun-itest-corrupt")
		}
	})
	create(t, root, b, id)
	mustGorun(t, root, "start", id)
	pid := state(t, root, id).Pid
	if err := os.WriteFile(filepath.Join(root, id, "state.json"), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := gorun(t, root, "state", id)
	expectFailure(t, "state of a corrupt container", "", stderr, code, "state.json")
	mustGorun(t, root, "delete", "--force", id)
	if !poll(5*time.Second, func() bool { return !pidAlive(pid) }) {
		t.Errorf("init %d still alive after delete --force", pid)
	}
	if _, err := os.Stat("/sys/fs/cgroup/pids/gorun-itest-corrupt/" + id); err == nil {
		t.Errorf("the container's own cgroup is still there")
	}
}

// TestFaultPodCreateKilled kills `gorun pod create` at its steps (cgroup
// made; namespaces and infra made; the CNI bridge recorded as gorun's but
// ADD not run; ADD done but its result not recorded), then checks that
// `pod rm --force` removes everything: the leak checker looks for the
// bridge, the veth, the network namespace, the infra process and the
// cgroups, and the test for the address host-local handed out.
func TestFaultPodCreateKilled(t *testing.T) {
	setup(t)
	faultBin := buildFaultBinary(t, t.TempDir())
	normal := binary(t)
	const ipam = "/var/lib/cni/networks/gorun"
	leases := func() []string {
		var out []string
		ents, _ := os.ReadDir(ipam)
		for _, e := range ents {
			if strings.Count(e.Name(), ".") == 3 {
				out = append(out, e.Name())
			}
		}
		return out
	}
	for _, step := range []string{"pod-after-cgroup", "pod-after-sandbox", "pod-before-cni-add", "pod-after-cni-add"} {
		t.Run(step, func(t *testing.T) {
			root := t.TempDir()
			leakcheck.Register(t, root)
			before := leases()
			name := "faulty"
			podCleanup(t, root, name)
			t.Setenv("GORUN_BINARY", faultBin)
			t.Setenv("GORUN_FAULT", step)
			out, errOut, code := gorun(t, root, "pod", "create", name)
			t.Setenv("GORUN_FAULT", "")
			t.Setenv("GORUN_BINARY", normal)
			if code != 128+int(syscall.SIGKILL) {
				t.Fatalf("pod create with GORUN_FAULT=%s: exit %d, want %d (killed)\nstdout: %s\nstderr: %s",
					step, code, 128+int(syscall.SIGKILL), out, errOut)
			}
			if out := mustGorun(t, root, "pod", "list"); !strings.Contains(out, name) {
				t.Errorf("pod list after a create killed at %s: %q", step, out)
			}
			mustGorun(t, root, "pod", "rm", "--force", name)
			if _, err := os.Stat(filepath.Join(root, "@pods", name)); !os.IsNotExist(err) {
				t.Errorf("pod state left: %v", err)
			}
			if after := leases(); len(after) != len(before) {
				t.Errorf("host-local addresses before %v, after %v: the pod's was not released", before, after)
			}
		})
	}
}
