package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/tests/bundle"
	"github.com/gorun/gorun/tests/leakcheck"
)

const rootlessUser = "gorun-rootless"

// rootlessAccount creates an unprivileged user (removed at the end) and
// returns its uid, gid and a private XDG_RUNTIME_DIR.
func rootlessAccount(t *testing.T) (uid, gid int, xdg string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("rootless tests create a user: they need root to start")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	if _, err := user.Lookup(rootlessUser); err != nil {
		if out, err := exec.Command("useradd", "--no-create-home", "--shell", "/bin/sh", rootlessUser).CombinedOutput(); err != nil {
			t.Fatalf("useradd: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("userdel", rootlessUser).Run() })
	}
	u, err := user.Lookup(rootlessUser)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	xdg = filepath.Join(os.TempDir(), fmt.Sprintf("gorun-xdg-%d-%d", uid, os.Getpid()))
	if err := os.MkdirAll(xdg, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chown(xdg, uid, gid)
	t.Cleanup(func() { os.RemoveAll(xdg) })
	return uid, gid, xdg
}

// asUser runs gorun as uid:gid with XDG_RUNTIME_DIR=xdg, in dir.
func asUser(t *testing.T, uid, gid int, xdg, dir string, args ...string) (string, int) {
	t.Helper()
	return asUserEnv(t, uid, gid, xdg, dir, nil, args...)
}

// asUserEnv is asUser with env added to (or replacing in) gorun's
// environment.
func asUserEnv(t *testing.T, uid, gid int, xdg, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	full := append([]string{fmt.Sprintf("--reuid=%d", uid), fmt.Sprintf("--regid=%d", gid), "--clear-groups", binary(t)}, args...)
	cmd := exec.Command("/usr/bin/setpriv", full...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "XDG_RUNTIME_DIR=" + xdg, "HOME=" + xdg}, env...)
	// A file, not a pipe: a created container keeps its stdio open.
	f, err := os.CreateTemp("", "gorun-rootless-out-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out := readFile(t, f.Name())
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return out, code
}

// TestRootlessLifecycle: an unprivileged user writes a rootless spec and
// runs, creates, starts, execs into, lists, ps's, kills and deletes a
// container; its processes run as the user's uid on the host; nothing is
// written under /run and nothing is left in $XDG_RUNTIME_DIR.
func TestRootlessLifecycle(t *testing.T) {
	uid, gid, xdg := rootlessAccount(t)
	state := filepath.Join(xdg, "gorun")
	leakcheck.Register(t, state, "/run/gorun")
	dir, cfg := rootlessBundle(t, uid, gid, xdg)
	// Give the default config a command.
	cfg = strings.Replace(cfg, `"sh"
		]`, `"sh", "-c", "id -u; cat /proc/self/uid_map; hostname"
		]`, 1)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644)

	out, code := asUser(t, uid, gid, xdg, dir, "run", "r1")
	if code != 0 {
		t.Fatalf("rootless run: exit %d: %s", code, out)
	}
	l := lines(out)
	if len(l) < 3 || l[0] != "0" || !strings.Contains(l[1], strconv.Itoa(uid)) || l[2] != "gorun" {
		t.Errorf("rootless run printed %q; want uid 0 inside, a map to %d, hostname gorun", out, uid)
	}

	// create/start/exec/ps/list/kill/delete with a long-running process.
	cfg = strings.Replace(cfg, `"id -u; cat /proc/self/uid_map; hostname"`, `"sleep 300"`, 1)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644)
	for _, args := range [][]string{{"create", "r2"}, {"start", "r2"}} {
		if out, code := asUser(t, uid, gid, xdg, dir, args...); code != 0 {
			t.Fatalf("rootless %v: exit %d: %s", args, code, out)
		}
	}
	defer asUser(t, uid, gid, xdg, dir, "delete", "--force", "r2")
	if out, code := asUser(t, uid, gid, xdg, dir, "exec", "r2", "sh", "-c", "echo exec-as-$(id -u)"); code != 0 || !strings.Contains(out, "exec-as-0") {
		t.Errorf("rootless exec: exit %d: %s", code, out)
	}
	out, code = asUser(t, uid, gid, xdg, dir, "ps", "--format", "json", "r2")
	if code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "[") || strings.TrimSpace(out) == "[]" {
		t.Errorf("rootless ps (no cgroup on this v1 host): exit %d: %s", code, out)
	}
	var pid int
	if out, code := asUser(t, uid, gid, xdg, dir, "list", "--format", "json"); code != 0 || !strings.Contains(out, `"r2"`) {
		t.Errorf("rootless list: exit %d: %s", code, out)
	} else if i := strings.Index(out, `"pid": `); i >= 0 {
		fmt.Sscanf(out[i+7:], "%d", &pid)
	}
	if pid > 0 {
		st := readFile(t, fmt.Sprintf("/proc/%d/status", pid))
		if !strings.Contains(st, fmt.Sprintf("Uid:\t%d\t%d", uid, uid)) {
			t.Errorf("the container's init does not run as host uid %d:\n%s", uid, st)
		}
	} else {
		t.Error("no pid in rootless list")
	}
	if out, code := asUser(t, uid, gid, xdg, dir, "kill", "r2", "KILL"); code != 0 {
		t.Errorf("rootless kill: exit %d: %s", code, out)
	}
	if !poll(5*time.Second, func() bool {
		out, _ := asUser(t, uid, gid, xdg, dir, "state", "r2")
		return strings.Contains(out, `"stopped"`)
	}) {
		t.Error("rootless container not stopped after kill")
	}
	if out, code := asUser(t, uid, gid, xdg, dir, "delete", "r2"); code != 0 {
		t.Errorf("rootless delete: exit %d: %s", code, out)
	}
	if ents := containerDirs(state); len(ents) != 0 {
		t.Errorf("left in %s: %v", state, ents)
	}
}

// TestRootlessLimitsNeedACgroup: without a delegated cgroup, a limit gets
// an error that names it, and nothing is left.
func TestRootlessLimitsNeedACgroup(t *testing.T) {
	uid, gid, xdg := rootlessAccount(t)
	leakcheck.Register(t, filepath.Join(xdg, "gorun"))
	dir, cfg := rootlessBundle(t, uid, gid, xdg)
	cfg = strings.Replace(cfg, `"linux": {`, `"linux": {"resources": {"pids": {"limit": 10}},`, 1)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644)
	out, code := asUser(t, uid, gid, xdg, dir, "run", "r3")
	if code != 1 || !strings.Contains(out, "linux.resources.pids") || len(lines(out)) != 1 {
		t.Errorf("rootless run with a pids limit: exit %d, output %q; want exit 1 and one line naming linux.resources.pids", code, out)
	}

	// Sections that set nothing ask for no limit (as runc takes them).
	var s specs.Spec
	if err := json.Unmarshal([]byte(cfg), &s); err != nil {
		t.Fatal(err)
	}
	zero, zeroU := int64(0), uint64(0)
	s.Process.Args = []string{"true"}
	s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{}, CPU: &specs.LinuxCPU{Shares: &zeroU, Quota: &zero},
		BlockIO: &specs.LinuxBlockIO{}, Network: &specs.LinuxNetwork{}}
	write := func() {
		b, _ := json.Marshal(&s)
		if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write()
	if out, code := asUser(t, uid, gid, xdg, dir, "run", "r4"); code != 0 {
		t.Errorf("rootless run with empty resource sections: exit %d, output %q", code, out)
	}

	// Without root, a config without a user namespace gets an error that
	// says so (the kernel's EPERM said nothing).
	s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.UserNamespace })
	s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
	write()
	out, code = asUser(t, uid, gid, xdg, dir, "run", "r5")
	if code != 1 || !strings.Contains(out, "needs a user namespace") {
		t.Errorf("rootless run without a user namespace: exit %d, output %q", code, out)
	}
}

// TestRootlessSubordinateIDs: an unprivileged user maps its own uid and a
// range of /etc/subuid and /etc/subgid; gorun writes the maps through
// newuidmap and newgidmap. A process running as uid 1000 inside runs as
// the matching subordinate uid on the host. A range outside the user's
// entry gets an error naming the mapping.
func TestRootlessSubordinateIDs(t *testing.T) {
	uid, gid, xdg := rootlessAccount(t)
	if _, err := exec.LookPath("newuidmap"); err != nil {
		t.Skip("newuidmap (package uidmap) is not installed")
	}
	sub := subordinateStart(t, "/etc/subuid")
	subg := subordinateStart(t, "/etc/subgid")
	leakcheck.Register(t, filepath.Join(xdg, "gorun"))
	dir, cfg := rootlessBundle(t, uid, gid, xdg)
	cfg = strings.Replace(cfg, `"sh"
		]`, `"sh", "-c", "cat /proc/self/uid_map; id -u; sleep 300"
		]`, 1)
	cfg = strings.Replace(cfg, `"uid": 0,`, `"uid": 1000,`, 1)
	maps := func(own, start int) string {
		return fmt.Sprintf(`[{"containerID": 0, "hostID": %d, "size": 1}, {"containerID": 1, "hostID": %d, "size": 65536}]`, own, start)
	}
	cfg = replaceMappings(t, cfg, maps(uid, sub), maps(gid, subg))
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644)
	for _, args := range [][]string{{"create", "s1"}, {"start", "s1"}} {
		if out, code := asUser(t, uid, gid, xdg, dir, args...); code != 0 {
			t.Fatalf("rootless %v with subordinate ids: exit %d: %s", args, code, out)
		}
	}
	defer asUser(t, uid, gid, xdg, dir, "delete", "--force", "s1")
	out, _ := asUser(t, uid, gid, xdg, dir, "state", "s1")
	var pid int
	if i := strings.Index(out, `"pid": `); i >= 0 {
		fmt.Sscanf(out[i+7:], "%d", &pid)
	}
	want := sub + 999 // uid 1000 inside is the 1000th id of the subordinate range
	if pid == 0 || !poll(5*time.Second, func() bool {
		return strings.Contains(readFile(t, fmt.Sprintf("/proc/%d/status", pid)), fmt.Sprintf("Uid:\t%d\t%d", want, want))
	}) {
		t.Errorf("the container's process (pid %d) does not run as host uid %d", pid, want)
	}

	// A range the user does not own.
	bad := replaceMappings(t, cfg, maps(uid, 1), maps(gid, subg))
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(bad), 0o644)
	out, code := asUser(t, uid, gid, xdg, dir, "run", "s2")
	if code != 1 || !strings.Contains(out, "linux.uidMappings") || len(lines(out)) != 1 {
		t.Errorf("a range outside /etc/subuid: exit %d, output %q; want exit 1 and one line naming linux.uidMappings", code, out)
	}

	// Maps without the caller's own uid: the container's root would own
	// nothing of the bundle.
	bad = replaceMappings(t, cfg, fmt.Sprintf(`[{"containerID": 0, "hostID": %d, "size": 65536}]`, sub), maps(gid, subg))
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(bad), 0o644)
	out, code = asUser(t, uid, gid, xdg, dir, "run", "s3")
	if code != 1 || !strings.Contains(out, fmt.Sprintf(`linux.uidMappings "0:%d:65536"`, sub)) || !strings.Contains(out, fmt.Sprintf("own id %d", uid)) || len(lines(out)) != 1 {
		t.Errorf("maps without the caller's uid: exit %d, output %q; want exit 1 and one line naming linux.uidMappings and uid %d", code, out, uid)
	}

	// newuidmap not installed (not in $PATH): said before anything starts.
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644)
	out, code = asUserEnv(t, uid, gid, xdg, dir, []string{"PATH=/nonexistent"}, "run", "s4")
	if code != 1 || !strings.Contains(out, "newuidmap not found") || !strings.Contains(out, "uidmap") || len(lines(out)) != 1 {
		t.Errorf("without newuidmap: exit %d, output %q; want exit 1 and one line naming newuidmap", code, out)
	}
}

// rootlessBundle makes a busybox bundle owned by the user, with the config
// that `gorun spec --rootless` writes for them (not a terminal), and
// returns its directory and that config's text.
func rootlessBundle(t *testing.T, uid, gid int, xdg string) (dir, cfg string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "gorun-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	if err := bundle.Rootfs(filepath.Join(dir, "rootfs")); err != nil {
		t.Fatal(err)
	}
	os.Chown(dir, uid, gid)
	if out, code := asUser(t, uid, gid, xdg, dir, "spec", "--rootless"); code != 0 {
		t.Fatalf("spec --rootless: exit %d: %s", code, out)
	}
	cfg = readFile(t, filepath.Join(dir, "config.json"))
	return dir, strings.Replace(cfg, `"terminal": true`, `"terminal": false`, 1)
}

// containerDirs lists what a state root holds besides gorun's @cache of
// compiled seccomp profiles, which is kept on purpose.
func containerDirs(root string) []string {
	ents, _ := os.ReadDir(root)
	var names []string
	for _, e := range ents {
		if e.Name() != "@cache" {
			names = append(names, e.Name())
		}
	}
	return names
}

// subordinateStart returns the first id of rootlessUser's range in file.
func subordinateStart(t *testing.T, file string) int {
	t.Helper()
	for _, l := range lines(readFile(t, file)) {
		f := strings.Split(l, ":")
		if len(f) == 3 && f[0] == rootlessUser {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Skipf("%s has no range for %s (useradd did not make one)", file, rootlessUser)
	return 0
}

// replaceMappings sets linux.uidMappings and gidMappings of a config.
func replaceMappings(t *testing.T, cfg, uids, gids string) string {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		t.Fatal(err)
	}
	linux := c["linux"].(map[string]any)
	var u, g any
	json.Unmarshal([]byte(uids), &u)
	json.Unmarshal([]byte(gids), &g)
	linux["uidMappings"], linux["gidMappings"] = u, g
	b, _ := json.MarshalIndent(c, "", "\t")
	return string(b)
}

// TestUnshareRootUserNamespace: root of a user namespace whose setgroups
// is denied (`unshare -r`, as some rootless tools run a runtime) can still
// run a container with a user namespace: the child's gid map is written
// without allowing setgroups, which that namespace could not.
func TestUnshareRootUserNamespace(t *testing.T) {
	root := setup(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare(1)")
	}
	dir := t.TempDir()
	if err := bundle.Rootfs(filepath.Join(dir, "rootfs")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), "spec", "--rootless", "--bundle", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("spec --rootless: %v: %s", err, out)
	}
	var s specs.Spec
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "config.json"))), &s); err != nil {
		t.Fatal(err)
	}
	s.Process.Terminal, s.Process.Args = false, []string{"cat", "/proc/self/uid_map", "/proc/self/setgroups"}
	b, _ := json.Marshal(&s)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	id := containerID(t)
	mustDelete(t, root, id)
	out, err := exec.Command("unshare", "-Ur", binary(t), "--root", root, "run", "--bundle", dir, id).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "deny") || len(strings.Fields(string(out))) != 4 {
		t.Errorf("unshare -r gorun run: %v\n%s", err, out)
	}
}
