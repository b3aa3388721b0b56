package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorun/gorun/tests/image"
	"github.com/gorun/gorun/tests/leakcheck"
)

// TestRootlessPodman: the unprivileged user runs podman with gorun as its
// runtime. podman runs gorun inside its own user namespace (gorun sees
// euid 0 there) and passes no --root, so gorun's state goes under the
// user's $XDG_RUNTIME_DIR; the container has no cgroup on this v1 host.
func TestRootlessPodman(t *testing.T) {
	needPackage(t, "podman", "/usr/bin/podman", "/usr/bin/conmon")
	uid, gid, xdg := rootlessAccount(t)
	if _, err := exec.LookPath("newuidmap"); err != nil {
		t.Skip("newuidmap (package uidmap) is not installed")
	}
	sub := subordinateStart(t, "/etc/subuid")
	state := filepath.Join(xdg, "gorun")
	leakcheck.Register(t, state, "/run/gorun")
	lockClients(t)

	dir, err := os.MkdirTemp("", "gorun-rlp-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	home := filepath.Join(dir, "home")
	must(t, os.MkdirAll(home, 0o700))
	busyboxTar, _ := buildImages(t, dir, image.Docker)
	for _, p := range []string{dir, home, busyboxTar} {
		os.Chown(p, uid, gid)
	}

	env := []string{
		"HOME=" + home, "XDG_RUNTIME_DIR=" + xdg, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"USER=" + rootlessUser, "LOGNAME=" + rootlessUser, "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	}
	base := []string{
		fmt.Sprintf("--reuid=%d", uid), fmt.Sprintf("--regid=%d", gid), "--clear-groups",
		"podman", "--root", filepath.Join(dir, "storage"), "--runroot", filepath.Join(dir, "run"),
		"--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
		"--runtime", binary(t),
	}
	podman := func(args ...string) cmdResult {
		t.Helper()
		return runCmd(t, env, "", "setpriv", append(append([]string{}, base...), args...)...)
	}
	t.Cleanup(func() {
		podman("rm", "--all", "--force", "--time", "0")
		// podman's pause process holds its user namespace open; it
		// and any conmon of the user's go with the test.
		exec.Command("pkill", "-KILL", "-u", strconv.Itoa(uid)).Run()
		poll(5*time.Second, func() bool { return exec.Command("pgrep", "-u", strconv.Itoa(uid)).Run() != nil })
		unmountUnder(t, dir)
		os.RemoveAll(dir)
	})

	if r := podman("load", "--input", busyboxTar); r.code != 0 || !strings.Contains(r.stdout, busyboxRef) {
		t.Fatalf("rootless podman load: %s", r)
	}

	// The workload's output and exit status come back; inside, uid 0 is
	// the user and uids from 1 on are the user's subordinate range.
	r := podman("run", "--rm", "--pull", "never", "--network", "none", busyboxRef,
		"sh", "-c", "echo hello from rootless gorun; id -u; cat /proc/self/uid_map")
	l := lines(r.stdout)
	if r.code != 0 || len(l) < 4 || l[0] != "hello from rootless gorun" || l[1] != "0" ||
		strings.Join(strings.Fields(l[2]), " ") != fmt.Sprintf("0 %d 1", uid) ||
		strings.Join(strings.Fields(l[3]), " ") != fmt.Sprintf("1 %d 65536", sub) {
		t.Fatalf("rootless podman run: %s\nwant the greeting, uid 0, and maps 0->%d, 1->%d", r, uid, sub)
	}
	if r := podman("run", "--rm", "--network", "none", busyboxRef, "sh", "-c", "exit 3"); r.code != 3 {
		t.Errorf("rootless podman run of `exit 3`: %s", r)
	}

	// Detached: gorun's state is under $XDG_RUNTIME_DIR, nothing under
	// /run/gorun; the process runs as the user's uid on the host; exec
	// reaches it; stop and rm leave nothing.
	const name = "rl1"
	r = podman("run", "-d", "--name", name, "--network", "none", busyboxRef, "sleep", "1000")
	if r.code != 0 {
		t.Fatalf("rootless podman run -d: %s", r)
	}
	id := strings.TrimSpace(r.stdout)
	if _, err := os.Stat(filepath.Join(state, id)); err != nil {
		t.Errorf("no state of %s under the user's %s: %v", id, state, err)
	}
	if _, err := os.Stat(filepath.Join("/run/gorun", id)); err == nil {
		t.Errorf("rootless podman's container %s has state under /run/gorun", id)
	}
	if r := podman("exec", name, "sh", "-c", "echo exec-as-$(id -u)"); r.code != 0 || strings.TrimSpace(r.stdout) != "exec-as-0" {
		t.Errorf("rootless podman exec: %s", r)
	}
	out, _ := exec.Command("pgrep", "-u", strconv.Itoa(uid), "-x", "sleep").Output()
	if len(lines(string(out))) != 1 {
		t.Errorf("host processes `sleep` of uid %d: %q, want the container's one", uid, out)
	}
	if r := podman("stop", "--time", "0", name); r.code != 0 {
		t.Errorf("rootless podman stop: %s", r)
	}
	if r := podman("rm", name); r.code != 0 {
		t.Errorf("rootless podman rm: %s", r)
	}
	if ents := containerDirs(state); len(ents) != 0 {
		t.Errorf("left in %s after podman rm: %v", state, ents)
	}
	out, _ = exec.Command("pgrep", "-u", strconv.Itoa(uid), "-x", "sleep").Output()
	if len(out) != 0 {
		t.Errorf("container processes of uid %d left after podman rm: %q", uid, out)
	}
}
