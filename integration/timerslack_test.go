package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// gorunTimerSlack is the timer slack gorun gives itself (nsenter.c,
// raise_timerslack).
const gorunTimerSlack = "1000000"

// TestTimerSlack: gorun runs with a raised timer slack, but the container's
// process, an exec'd process and hooks (on the host and in the container)
// get the slack gorun was started with: the slack is inherited across fork
// and exec.
func TestTimerSlack(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	// gorun inherits the slack of the thread that forks it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	const caller = 123457
	want := strconv.Itoa(caller)
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, caller, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0)

	logDir := hostDir(t)
	b := sh(t, "cat /proc/self/timerslack_ns; exec sleep 100")
	bindMount(b.Spec, logDir, "/hooklog")
	b.Spec.Hooks = &specs.Hooks{
		Prestart: []specs.Hook{{Path: "/bin/sh",
			Args: []string{"sh", "-c", "cat /proc/self/timerslack_ns > " + filepath.Join(logDir, "prestart")}}},
		StartContainer: []specs.Hook{{Path: "/bin/sh",
			Args: []string{"sh", "-c", "cat /proc/self/timerslack_ns > /hooklog/startContainer"}}},
	}
	writeBundle(t, b)
	mustDelete(t, root, id)
	out := filepath.Join(t.TempDir(), "out")
	outF, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	cmd := exec.Command(binary(t), "--root", root, "run", "--bundle", b.Dir, id)
	cmd.Stdout, cmd.Stderr = outF, outF
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	if !poll(5*time.Second, func() bool { return strings.Contains(readFileOrEmpty(out), "\n") }) {
		t.Fatalf("the container printed nothing: %q", readFileOrEmpty(out))
	}
	if got := strings.TrimSpace(readFileOrEmpty(out)); got != want {
		t.Errorf("container process: timer slack %q, want the caller's %s", got, want)
	}
	// The foreground `gorun run` is still there: its main thread shows
	// the raise, so the checks above are not true by default.
	if got := strings.TrimSpace(readFile(t, "/proc/"+strconv.Itoa(cmd.Process.Pid)+"/timerslack_ns")); got != gorunTimerSlack {
		t.Errorf("gorun run: timer slack %q, want %s", got, gorunTimerSlack)
	}
	for _, hook := range []string{"prestart", "startContainer"} {
		if got := strings.TrimSpace(readFileOrEmpty(filepath.Join(logDir, hook))); got != want {
			t.Errorf("%s hook: timer slack %q, want the caller's %s", hook, got, want)
		}
	}
	if got := strings.TrimSpace(mustGorun(t, root, "exec", id, "cat", "/proc/self/timerslack_ns")); got != want {
		t.Errorf("exec'd process: timer slack %q, want the caller's %s", got, want)
	}
	mustGorun(t, root, "kill", id, "KILL")
	if err := cmd.Wait(); err == nil {
		t.Error("gorun run of a killed container exited 0")
	}
}
