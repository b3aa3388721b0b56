package leakcheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (euid 0)")
	}
}

// find returns the leaks that contain all of parts.
func find(leaks []string, parts ...string) []string {
	var out []string
next:
	for _, l := range leaks {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// expectLeak checks that Diff reports exactly one item containing parts.
func expectLeak(t *testing.T, s *Snapshot, parts ...string) {
	t.Helper()
	leaks := s.Diff()
	if got := find(leaks, parts...); len(got) != 1 {
		t.Fatalf("Diff: want one leak with %q, got %d in:\n%s", parts, len(got), strings.Join(leaks, "\n"))
	}
}

// expectGone checks, with the same patience as Check, that no item
// containing parts is reported any more.
func expectGone(t *testing.T, s *Snapshot, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(checkTimeout)
	for {
		leaks := s.Diff()
		got := find(leaks, parts...)
		if len(got) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still reported after cleanup: %q", got)
		}
		time.Sleep(pollInterval)
	}
}

func TestNoFalsePositives(t *testing.T) {
	s := Take()
	if len(s.items) == 0 {
		t.Fatal("empty snapshot")
	}
	// Other activity on the host may change mounts or cgroups, but the
	// test process's own fds and children must not differ.
	expectGone(t, s, "fd:")
	expectGone(t, s, "process:", fmt.Sprintf("(ppid %d)", os.Getpid()))
}

func TestTakeIsFast(t *testing.T) {
	Take()
	const n = 10
	start := time.Now()
	for i := 0; i < n; i++ {
		Take()
	}
	per := time.Since(start) / n
	t.Logf("Take: %v", per)
	if per > 200*time.Millisecond {
		t.Errorf("Take takes %v", per)
	}
}

func TestStateDir(t *testing.T) {
	root := filepath.Join(t.TempDir(), "state")
	missing := filepath.Join(t.TempDir(), "missing")
	s := Take(root, missing)
	if err := os.MkdirAll(filepath.Join(root, "ctr1"), 0o700); err != nil {
		t.Fatal(err)
	}
	expectLeak(t, s, "state: "+filepath.Join(root, "ctr1"))
	os.Remove(filepath.Join(root, "ctr1"))
	expectGone(t, s, "state:")
}

func TestFD(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leaky")
	s := Take()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	expectLeak(t, s, "fd: "+path, fmt.Sprintf("(fd %d)", f.Fd()))
	f.Close()
	expectGone(t, s, "fd: "+path)
}

func TestProcess(t *testing.T) {
	s := Take()
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Skipf("skipping: cannot start sleep: %v", err)
	}
	pid := fmt.Sprintf("process: pid %d ", cmd.Process.Pid)
	expectLeak(t, s, pid, "sleep 5")
	cmd.Process.Kill()
	cmd.Wait()
	expectGone(t, s, pid)
}

func TestGorunProcess(t *testing.T) {
	// A process named gorun is reported even when it is not our child:
	// start it through a shell that exits at once, so it is reparented.
	dir := t.TempDir()
	gorun := filepath.Join(dir, "gorun")
	if err := os.Symlink("/bin/sleep", gorun); err != nil {
		t.Fatal(err)
	}
	s := Take()
	out, err := exec.Command("sh", "-c", gorun+" 5 >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		t.Skipf("skipping: cannot start a detached process: %v", err)
	}
	var pid int
	fmt.Sscan(string(out), &pid)
	defer unix.Kill(pid, unix.SIGKILL)
	expectLeak(t, s, fmt.Sprintf("process: pid %d ", pid), gorun+" 5")
	unix.Kill(pid, unix.SIGKILL)
	expectGone(t, s, fmt.Sprintf("process: pid %d ", pid))
}

func TestCgroup(t *testing.T) {
	requireRoot(t)
	parent := "/sys/fs/cgroup/pids"
	if unix.Access(parent, unix.W_OK) != nil {
		t.Skipf("skipping: %s is not writable", parent)
	}
	dir := filepath.Join(parent, fmt.Sprintf("leakcheck-test-%d", os.Getpid()))
	s := Take()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("skipping: cannot create a cgroup: %v", err)
	}
	defer os.Remove(dir)
	expectLeak(t, s, "cgroup: "+dir)
	if err := os.Mkdir(filepath.Join(dir, "child"), 0o755); err == nil {
		expectLeak(t, s, "cgroup: "+filepath.Join(dir, "child"))
		os.Remove(filepath.Join(dir, "child"))
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	expectGone(t, s, "cgroup: "+dir)
}

func TestMount(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	s := Take()
	if err := unix.Mount("leakcheck-test", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("skipping: cannot mount tmpfs: %v", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	expectLeak(t, s, "mount: "+dir+" tmpfs leakcheck-test")
	if err := unix.Unmount(dir, 0); err != nil {
		t.Fatal(err)
	}
	expectGone(t, s, "mount: "+dir)
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`: "/a b", `/tab\011x`: "/tab\tx", `/plain`: "/plain", `/end\04`: `/end\04`, `\\`: `\\`,
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// recorder is a testing.TB that records errors and cleanups instead of
// acting on them.
type recorder struct {
	testing.TB
	errors   []string
	cleanups []func()
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Helper()          {}

func TestRegisterReportsLeak(t *testing.T) {
	defer func(d time.Duration) { checkTimeout = d }(checkTimeout)
	checkTimeout = 100 * time.Millisecond

	path := filepath.Join(t.TempDir(), "leaky")
	r := &recorder{TB: t}
	Register(r)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(r.cleanups) != 1 {
		t.Fatalf("Register added %d cleanups, want 1", len(r.cleanups))
	}
	start := time.Now()
	r.cleanups[0]()
	if d := time.Since(start); d < checkTimeout {
		t.Errorf("Check gave up after %v, before the %v timeout", d, checkTimeout)
	}
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "fd: "+path) {
		t.Fatalf("errors = %q, want one listing fd %s", r.errors, path)
	}
	t.Logf("reported:\n%s", r.errors[0])
}

func TestCheckWaitsForLeakToVanish(t *testing.T) {
	s := Take()
	f, err := os.Create(filepath.Join(t.TempDir(), "brief"))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		f.Close()
	}()
	r := &recorder{TB: t}
	s.Check(r)
	if got := find(r.errors, "brief"); len(got) != 0 {
		t.Errorf("Check reported a leak that vanished within the timeout: %q", got)
	}
}

func TestProcessInOtherPidNS(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("skipping: no unshare command")
	}
	s := Take()
	// The sleep runs in a new pid namespace and is not our descendant
	// once the shell has exited, like a container's init.
	out, err := exec.Command("sh", "-c", "unshare -pf --kill-child sleep 7 >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		t.Skipf("skipping: cannot start unshare: %v", err)
	}
	var unsharePid int
	fmt.Sscan(string(out), &unsharePid)
	defer unix.Kill(unsharePid, unix.SIGKILL)

	var leaks []string
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(pollInterval) {
		leaks = find(s.Diff(), fmt.Sprintf("(ppid %d) sleep 7", unsharePid))
		if len(leaks) > 0 {
			break
		}
	}
	if len(leaks) != 1 {
		t.Fatalf("sleep in a new pid namespace not reported: %q", leaks)
	}
	var pid int
	fmt.Sscanf(leaks[0], "process: pid %d", &pid)
	unix.Kill(unsharePid, unix.SIGKILL)
	unix.Kill(pid, unix.SIGKILL)
	expectGone(t, s, fmt.Sprintf("process: pid %d ", pid))
}

func TestZombieChild(t *testing.T) {
	s := Take()
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Skipf("skipping: cannot start true: %v", err)
	}
	pid := cmd.Process.Pid
	// Wait for it to exit without reaping it.
	var si unix.Siginfo
	if err := unix.Waitid(unix.P_PID, pid, &si, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	expectLeak(t, s, fmt.Sprintf("process: pid %d ", pid))
	cmd.Wait()
	expectGone(t, s, fmt.Sprintf("process: pid %d ", pid))
}
