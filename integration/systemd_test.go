package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/tests/bundle"
	"github.com/gorun/gorun/tests/image"
	"github.com/gorun/gorun/tests/sdmachine"
)

// The systemd cgroup driver, against a real systemd: a private one
// (tests/sdmachine) whose cgroup namespace is rooted at a fresh cgroup, as
// systemd runs in a container. gorun runs inside it, as it runs on a host
// that systemd manages, and the test reads the cgroups from the host.

// gorunIn runs gorun inside machine m with --root root.
func gorunIn(t testing.TB, m *sdmachine.Machine, root string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	// Files, not pipes: a detached container inherits them.
	outF, errF := tempFile(t), tempFile(t)
	defer closeRemove(outF)
	defer closeRemove(errF)
	c := m.CommandContext(ctx, binary(t), append([]string{"--root", root}, args...)...)
	c.Stdout, c.Stderr = outF, errF
	err := c.Run()
	stdout, stderr = readFileOrEmpty(outF.Name()), readFileOrEmpty(errF.Name())
	switch {
	case ctx.Err() != nil:
		t.Errorf("gorun %s: timed out", strings.Join(args, " "))
		return stdout, stderr, -1
	case err != nil && c.ProcessState == nil:
		t.Fatalf("gorun %s: %v", strings.Join(args, " "), err)
	}
	return stdout, stderr, c.ProcessState.ExitCode()
}

func mustGorunIn(t testing.TB, m *sdmachine.Machine, root string, args ...string) string {
	t.Helper()
	out, errOut, code := gorunIn(t, m, root, args...)
	if code != 0 {
		t.Fatalf("gorun %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// deleteIn force-deletes id inside m when the test ends, if it is still
// there (before the machine stops: cleanups run last first).
func deleteIn(t testing.TB, m *sdmachine.Machine, root, id string) {
	t.Cleanup(func() {
		if _, err := os.Lstat(filepath.Join(root, id)); err == nil {
			if out, errOut, code := gorunIn(t, m, root, "delete", "--force", id); code != 0 {
				t.Errorf("cleanup: delete --force %s: exit %d\n%s%s", id, code, out, errOut)
			}
		}
	})
}

// waitIn waits up to 5 s for container id in m to have status want.
func waitIn(t testing.TB, m *sdmachine.Machine, root, id, want string) {
	t.Helper()
	var st containerState
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		json.Unmarshal([]byte(mustGorunIn(t, m, root, "state", id)), &st)
		if st.Status == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("container %s: status %q, want %q", id, st.Status, want)
}

// unitGone waits up to 5 s for systemd to unload unit (it collects a
// stopped transient unit on its own time).
func unitGone(m *sdmachine.Machine, unit string) bool {
	return poll(5*time.Second, func() bool { return m.Property(unit, "LoadState") == "not-found" })
}

// ctrdIn is a private containerd inside a machine: containerd, its shims
// and the containers live in the machine's namespaces and end with it.
type ctrdIn struct {
	t         *testing.T
	m         *sdmachine.Machine
	ns        string
	sock, log string
}

// startContainerdIn writes containerd's config for o under dir and starts
// containerd in m. Its cleanup (registered here, so it runs before the
// machine stops) kills it.
func startContainerdIn(t *testing.T, m *sdmachine.Machine, dir string, o ctrdOpts) *ctrdIn {
	t.Helper()
	c := &ctrdIn{t: t, m: m, ns: o.ns, sock: filepath.Join(dir, "c.sock"), log: filepath.Join(dir, "containerd.log")}
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(containerdConfig(dir, o)), 0o644); err != nil {
		t.Fatal(err)
	}
	argv := m.Argv("containerd", "--config", cfg)
	d := startDaemon(t, c.log, nil, argv[0], argv[1:]...)
	t.Cleanup(func() { d.cmd.Process.Kill() })
	waitSocket(t, d, c.sock, c.log)
	return c
}

// run runs name with args in the machine.
func (c *ctrdIn) run(name string, args ...string) cmdResult {
	c.t.Helper()
	argv := c.m.Argv(name, args...)
	return runCmd(c.t, nil, "", argv[0], argv[1:]...)
}

// must is run that fails the test, with containerd's last log lines,
// unless the command exits 0; it returns stdout.
func (c *ctrdIn) must(name string, args ...string) string {
	c.t.Helper()
	r := c.run(name, args...)
	if r.code != 0 {
		b, _ := os.ReadFile(c.log)
		c.t.Fatalf("%s %s: %s\ncontainerd log:\n%s", name, strings.Join(args, " "), r, lastLines(string(b), 20))
	}
	return r.stdout
}

// ctrArgs are ctr's arguments for this containerd and namespace.
func (c *ctrdIn) ctrArgs(args ...string) []string {
	return append([]string{"--address", c.sock, "--namespace", c.ns}, args...)
}

func (c *ctrdIn) ctr(args ...string) cmdResult {
	c.t.Helper()
	return c.run("ctr", c.ctrArgs(args...)...)
}

func startMachine(t *testing.T) (*sdmachine.Machine, string) {
	t.Helper()
	root := setup(t)
	if detectCgroups(t).v2only {
		t.Skip("the assertions read cgroup v1 files; this is a cgroup v2-only host")
	}
	return sdmachine.Start(t), root
}

// checkCgroupGone fails the test for each hierarchy on which the host still
// has the machine's cgroup p.
func checkCgroupGone(t testing.TB, m *sdmachine.Machine, p string) {
	t.Helper()
	for _, h := range m.Hierarchies() {
		if d := m.HostDir(h, p); exists(d) {
			t.Errorf("left: %s", d)
		}
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestSystemdCgroupLifecycle: with --systemd-cgroup, systemd makes the
// container's cgroup as a transient scope holding its init, with the
// limits as unit properties. The limits and device rules survive a
// `systemctl daemon-reload` (systemd rewrites a unit's cgroup files from its
// properties then: without them it allows every device and lifts the
// memory limit). exec, update, pause, ps and delete work; delete stops the
// unit and leaves no cgroup on any hierarchy.
func TestSystemdCgroupLifecycle(t *testing.T) {
	m, root := startMachine(t)
	id := containerID(t)
	b := sh(t, "sleep 1000")
	b.Spec.Linux.Resources = &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
		Memory:  &specs.LinuxMemory{Limit: ptrI64(64 << 20)},
		CPU:     &specs.LinuxCPU{Shares: ptrU64(512), Quota: ptrI64(50000), Period: ptrU64(100000)},
		Pids:    &specs.LinuxPids{Limit: ptrI64(40)},
	}
	withMknod(b)
	writeBundle(t, b)
	deleteIn(t, m, root, id)
	mustGorunIn(t, m, root, "--systemd-cgroup", "run", "--detach", "--bundle", b.Dir, id)

	unit := "gorun-" + id + ".scope"
	cg := "/system.slice/" + unit
	for prop, want := range map[string]string{
		"ActiveState": "active", "Slice": "system.slice", "Delegate": "yes", "MemoryLimit": strconv.Itoa(64 << 20),
		"TasksMax": "40", "CPUShares": "512", "CPUQuotaPerSecUSec": "500ms", "DevicePolicy": "strict",
	} {
		if got := m.Property(unit, prop); got != want {
			t.Errorf("systemctl show %s -p %s: %q, want %q", unit, prop, got, want)
		}
	}
	if got := m.Property(unit, "DeviceAllow"); !strings.Contains(got, "/dev/char/1:3 rwm") || !strings.Contains(got, "char-pts rwm") {
		t.Errorf("DeviceAllow %q lacks /dev/null or the ptys", got)
	}
	var st containerState
	if err := json.Unmarshal([]byte(mustGorunIn(t, m, root, "state", id)), &st); err != nil || st.Status != "running" {
		t.Fatalf("state: %+v, %v", st, err)
	}
	// The init is in the scope on every hierarchy, systemd's and those
	// gorun joined itself (cpuset, freezer...).
	procCgroup := func(pid int) string {
		out, _ := m.Command("cat", "/proc/"+strconv.Itoa(pid)+"/cgroup").Output()
		return string(out)
	}
	for _, line := range strings.Split(strings.TrimSpace(procCgroup(st.Pid)), "\n") {
		if !strings.HasSuffix(line, ":"+cg) {
			t.Errorf("the init's /proc/PID/cgroup line %q is not in %s", line, cg)
		}
	}
	files := func() string {
		var s []string
		for _, f := range [][2]string{
			{"memory", "memory.limit_in_bytes"}, {"pids", "pids.max"}, {"cpu", "cpu.shares"}, {"cpu", "cpu.cfs_quota_us"}, {"devices", "devices.list"},
		} {
			b, err := os.ReadFile(filepath.Join(m.HostDir("/sys/fs/cgroup/"+f[0], cg), f[1]))
			if err != nil {
				t.Errorf("%v", err)
			}
			s = append(s, f[1]+": "+strings.TrimSpace(string(b)))
		}
		return strings.Join(s, "\n")
	}
	before := files()
	for _, want := range []string{"memory.limit_in_bytes: 67108864", "pids.max: 40", "cpu.shares: 512", "cpu.cfs_quota_us: 50000", "c 1:3 rwm"} {
		if !strings.Contains(before, want) {
			t.Errorf("the scope's files lack %q:\n%s", want, before)
		}
	}
	if strings.Contains(before, "a *:*") {
		t.Errorf("the container may use every device:\n%s", before)
	}
	if out, err := m.Systemctl("daemon-reload"); err != nil {
		t.Fatalf("daemon-reload: %v: %s", err, out)
	}
	if after := files(); after != before {
		t.Errorf("systemctl daemon-reload changed the container's cgroup:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// An exec'd process joins the scope.
	out := mustGorunIn(t, m, root, "exec", id, "sh", "-c", "echo > /dev/null && cat /proc/self/cgroup")
	if strings.TrimSpace(out) == "" || strings.Contains(out, "/..") {
		t.Errorf("exec'd process's /proc/self/cgroup (cgroup namespace):\n%s", out)
	}
	// After the reload, a node of a device outside the rules still cannot
	// be opened.
	if out, _, _ := gorunIn(t, m, root, "exec", id, "sh", "-c", "mknod /tmp/mem c 1 1 && { (true < /tmp/mem) && echo opened || echo refused; }"); out != "refused\n" {
		t.Errorf("open of a /dev/mem node after daemon-reload: %q, want refused", out)
	}

	// update: the files and systemd's view, which a reload keeps.
	mustGorunIn(t, m, root, "update", "--memory", strconv.Itoa(96<<20), "--pids-limit", "50", id)
	if got := m.Property(unit, "MemoryLimit"); got != strconv.Itoa(96<<20) {
		t.Errorf("after update MemoryLimit=%s", got)
	}
	m.Systemctl("daemon-reload")
	if got := files(); !strings.Contains(got, "memory.limit_in_bytes: 100663296") || !strings.Contains(got, "pids.max: 50") {
		t.Errorf("after update and daemon-reload:\n%s", got)
	}

	mustGorunIn(t, m, root, "pause", id)
	if b, _ := os.ReadFile(filepath.Join(m.HostDir("/sys/fs/cgroup/freezer", cg), "freezer.state")); strings.TrimSpace(string(b)) != "FROZEN" {
		t.Errorf("paused: freezer.state %q", b)
	}
	mustGorunIn(t, m, root, "resume", id)
	if ps := mustGorunIn(t, m, root, "ps", id); !strings.Contains(ps, "sleep 1000") {
		t.Errorf("ps:\n%s", ps)
	}

	mustGorunIn(t, m, root, "delete", "--force", id)
	if !unitGone(m, unit) {
		t.Errorf("after delete the unit is still loaded")
	}
	checkCgroupGone(t, m, cg)
}

// TestSystemdCgroupPaths: the slice:prefix:name forms podman and the
// kubelet send, a container's exit status through `run`, the unit gone when
// the container ends by itself, and a second container given a taken
// cgroupsPath refused without harm to the first.
func TestSystemdCgroupPaths(t *testing.T) {
	m, root := startMachine(t)
	id := containerID(t)
	b := sh(t, "cat /proc/self/cgroup > /dev/null; exit 7")
	b.Spec.Linux.CgroupsPath = "kubepods-besteffort-pod1234.slice:cri-containerd:" + id
	writeBundle(t, b)
	deleteIn(t, m, root, id)
	if out, errOut, code := gorunIn(t, m, root, "--systemd-cgroup", "run", "--bundle", b.Dir, id); code != 7 {
		t.Fatalf("run: exit %d, want the container's 7\n%s%s", code, out, errOut)
	}
	unit := "cri-containerd-" + id + ".scope"
	if !unitGone(m, unit) {
		t.Errorf("after the container's exit the unit is still loaded")
	}
	checkCgroupGone(t, m, "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234.slice/"+unit)

	// Without a cgroup namespace (podman's default on cgroup v1) each
	// hierarchy shows the container's own cgroup, which the driver makes
	// only when it places the init: the init waits for it.
	listing := sh(t, "for d in /sys/fs/cgroup/*/; do ls $d | grep -q . || echo empty: $d; done; echo listed")
	listing.Spec.Linux.CgroupsPath = "system.slice:test:" + id
	var nss []specs.LinuxNamespace
	for _, ns := range listing.Spec.Linux.Namespaces {
		if ns.Type != specs.CgroupNamespace {
			nss = append(nss, ns)
		}
	}
	listing.Spec.Linux.Namespaces = nss
	writeBundle(t, listing)
	if out := mustGorunIn(t, m, root, "--systemd-cgroup", "run", "--bundle", listing.Dir, id+"-ls"); out != "listed\n" {
		t.Errorf("the container's /sys/fs/cgroup without a cgroup namespace:\n%s", out)
	}

	// A container that ended by itself, as CRI's stop finds it: systemd
	// has taken the scope off its hierarchies, gorun's own directories
	// (cpuset, freezer...) are left; kill --all and ps work on that, and
	// delete removes it.
	ended := id + "-ended"
	quick := sh(t, "true")
	quick.Spec.Linux.CgroupsPath = "system.slice:test:" + ended
	writeBundle(t, quick)
	deleteIn(t, m, root, ended)
	mustGorunIn(t, m, root, "--systemd-cgroup", "run", "--detach", "--bundle", quick.Dir, ended)
	waitIn(t, m, root, ended, "stopped")
	// systemd notices the empty scope on its own time.
	if !unitGone(m, "test-"+ended+".scope") {
		t.Errorf("the ended container's unit is still loaded")
	}
	mustGorunIn(t, m, root, "kill", "--all", ended, "KILL")
	if out := mustGorunIn(t, m, root, "ps", "--format", "json", ended); strings.TrimSpace(out) != "[]" {
		t.Errorf("ps of an ended container: %q", out)
	}
	mustGorunIn(t, m, root, "delete", ended)
	checkCgroupGone(t, m, "/system.slice/test-"+ended+".scope")

	first, second := id+"-a", id+"-b"
	long := sh(t, "sleep 1000")
	long.Spec.Linux.CgroupsPath = "machine.slice:libpod:" + id
	writeBundle(t, long)
	deleteIn(t, m, root, first)
	deleteIn(t, m, root, second)
	mustGorunIn(t, m, root, "--systemd-cgroup", "run", "--detach", "--bundle", long.Dir, first)
	out, errOut, code := gorunIn(t, m, root, "--systemd-cgroup", "run", "--detach", "--bundle", long.Dir, second)
	expectFailure(t, "a second container in the same scope", out, errOut, code, "linux.cgroupsPath", "another container")
	if _, err := os.Lstat(filepath.Join(root, second)); err == nil {
		t.Errorf("the refused container left its state")
	}
	if got := m.Property("libpod-"+id+".scope", "ActiveState"); got != "active" {
		t.Errorf("the first container's unit is %q after the refused create", got)
	}
	var st containerState
	json.Unmarshal([]byte(mustGorunIn(t, m, root, "state", first)), &st)
	if st.Status != "running" {
		t.Errorf("the first container is %q after the refused create", st.Status)
	}
	// A create of the same path killed before it had its scope: its state
	// names the first container's unit, and its delete --force must leave
	// that unit and its processes alone.
	faultBin := buildFaultBinary(t, t.TempDir())
	half := id + "-half"
	c := m.Command(faultBin, "--root", root, "--systemd-cgroup", "create", "--bundle", long.Dir, half)
	c.Env = append(os.Environ(), "GORUN_FAULT=after-cgroup")
	if err := c.Run(); err == nil {
		t.Fatalf("create with GORUN_FAULT=after-cgroup was not killed")
	}
	mustGorunIn(t, m, root, "delete", "--force", half)
	json.Unmarshal([]byte(mustGorunIn(t, m, root, "state", first)), &st)
	if st.Status != "running" || m.Property("libpod-"+id+".scope", "ActiveState") != "active" {
		t.Errorf("delete --force of a half-made container with the same cgroupsPath: the first is %q, its unit %q",
			st.Status, m.Property("libpod-"+id+".scope", "ActiveState"))
	}
	mustGorunIn(t, m, root, "kill", first, "KILL")
	waitIn(t, m, root, first, "stopped")
	mustGorunIn(t, m, root, "delete", first)
	checkCgroupGone(t, m, "/machine.slice/libpod-"+id+".scope")

	// Forms the driver refuses, naming the field.
	for _, p := range []string{"/not/systemd", "system.slice:gorun:x.slice", "a:b"} {
		bad := sh(t, "true")
		bad.Spec.Linux.CgroupsPath = p
		writeBundle(t, bad)
		out, errOut, code := gorunIn(t, m, root, "--systemd-cgroup", "create", "--bundle", bad.Dir, id+"-bad")
		expectFailure(t, "cgroupsPath "+p, out, errOut, code, "linux.cgroupsPath", "slice:prefix:name")
	}
}

// TestSystemdCgroupContainerd: containerd's runc v2 shim, told to use
// systemd (ctr's --runc-systemd-cgroup, as SystemdCgroup = true does),
// drives gorun inside the private systemd: the container is a scope with
// its limit, an exec'd process sees the limit, metrics, pause and resume
// work, and removing the task removes the unit and every cgroup.
func TestSystemdCgroupContainerd(t *testing.T) {
	if detectCgroups(t).v2only {
		t.Skip("the assertions read cgroup v1 files; this is a cgroup v2-only host")
	}
	const ns = "gorun-sd"
	dir, root := clientSetup(t, func(d string) string { return filepath.Join(d, "gorun-root", ns) })
	needPackage(t, "containerd", "/usr/bin/containerd", "/usr/bin/ctr", "/usr/bin/containerd-shim-runc-v2")
	m := sdmachine.Start(t)
	c := startContainerdIn(t, m, dir, ctrdOpts{ns: ns})
	ctr := c.ctr
	mustCtr := func(args ...string) string { t.Helper(); return c.must("ctr", c.ctrArgs(args...)...) }
	t.Cleanup(func() {
		for _, id := range lines(ctr("task", "ls", "-q").stdout) {
			ctr("task", "rm", "-f", id)
		}
		for _, id := range lines(ctr("containers", "ls", "-q").stdout) {
			ctr("containers", "rm", id)
		}
	})
	busyboxTar, _ := buildImages(t, dir, image.OCI)
	mustCtr("images", "import", busyboxTar)

	id := "sd1"
	cgroupsPath := "system.slice:ctr:" + id
	unit := "ctr-" + id + ".scope"
	mustCtr("run", "-d", "--runc-binary", binary(t), "--runc-root", filepath.Dir(root), "--fifo-dir", filepath.Join(dir, "fifo"),
		"--runc-systemd-cgroup", "--cgroup", cgroupsPath, "--memory-limit", strconv.Itoa(64<<20), busyboxRef, id, "sleep", "1000")
	taskStatus := func() string {
		for _, l := range lines(mustCtr("task", "ls")) {
			if f := strings.Fields(l); len(f) == 3 && f[0] == id {
				return f[2]
			}
		}
		return ""
	}
	if !poll(10*time.Second, func() bool { return taskStatus() == "RUNNING" }) {
		t.Fatalf("task %s: %q, want RUNNING", id, taskStatus())
	}
	if got := m.Property(unit, "ActiveState"); got != "active" {
		t.Errorf("unit %s: ActiveState %q", unit, got)
	}
	if got := m.Property(unit, "MemoryLimit"); got != strconv.Itoa(64<<20) {
		t.Errorf("unit %s: MemoryLimit %q", unit, got)
	}
	// An exec'd process joins the scope (ctr's config has no cgroup
	// namespace on v1), whose memory limit is the one asked for.
	if out := mustCtr("task", "exec", "--exec-id", "e1", id, "cat", "/proc/self/cgroup"); !strings.Contains(out, ":memory:/system.slice/"+unit+"\n") {
		t.Errorf("exec'd process's /proc/self/cgroup:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(m.HostDir("/sys/fs/cgroup/memory", "/system.slice/"+unit), "memory.limit_in_bytes")); strings.TrimSpace(string(b)) != strconv.Itoa(64<<20) {
		t.Errorf("the scope's memory.limit_in_bytes: %q", b)
	}
	if out := mustCtr("task", "metrics", id); !strings.Contains(out, "memory") {
		t.Errorf("ctr task metrics: %q", out)
	}
	cg := "/system.slice/" + unit
	mustCtr("task", "pause", id)
	if b, _ := os.ReadFile(filepath.Join(m.HostDir("/sys/fs/cgroup/freezer", cg), "freezer.state")); strings.TrimSpace(string(b)) != "FROZEN" {
		t.Errorf("paused: freezer.state %q", b)
	}
	mustCtr("task", "resume", id)
	mustCtr("task", "kill", "-s", "KILL", id)
	if !poll(10*time.Second, func() bool { return taskStatus() == "STOPPED" }) {
		t.Fatalf("task %s: %q after kill, want STOPPED", id, taskStatus())
	}
	mustCtr("task", "rm", id)
	mustCtr("containers", "rm", id)
	if !unitGone(m, unit) {
		t.Errorf("after task rm the unit is still loaded")
	}
	checkCgroupGone(t, m, cg)
}

// TestSystemdCgroupForceRemove: a running container whose state.json is
// corrupt is removed by delete --force, scope included (from the unit
// recorded beside the state), without waiting for systemd's SIGTERM; and
// an org.systemd.property.* annotation reaches the unit, as with runc.
func TestSystemdCgroupForceRemove(t *testing.T) {
	m, root := startMachine(t)
	id := containerID(t)
	b := sh(t, "sleep 1000")
	b.Spec.Annotations = map[string]string{"org.systemd.property.TimeoutStopUSec": "uint64 123000000"}
	writeBundle(t, b)
	deleteIn(t, m, root, id)
	mustGorunIn(t, m, root, "--systemd-cgroup", "run", "--detach", "--bundle", b.Dir, id)
	unit := "gorun-" + id + ".scope"
	if got := m.Property(unit, "TimeoutStopUSec"); got != "2min 3s" {
		t.Errorf("TimeoutStopUSec from the annotation: %q, want 2min 3s", got)
	}
	if err := os.WriteFile(filepath.Join(root, id, "state.json"), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustGorunIn(t, m, root, "delete", "--force", id)
	if !unitGone(m, unit) {
		t.Errorf("after delete --force the unit is still loaded")
	}
	checkCgroupGone(t, m, "/system.slice/"+unit)
	out, errOut, code := gorunIn(t, m, root, "--systemd-cgroup", "create", "--bundle", badAnnotation(t).Dir, id+"-bad")
	expectFailure(t, "a malformed org.systemd.property annotation", out, errOut, code, "annotations.org.systemd.property.TimeoutStopUSec")
}

func badAnnotation(t *testing.T) *bundle.Bundle {
	b := sh(t, "true")
	b.Spec.Annotations = map[string]string{"org.systemd.property.TimeoutStopUSec": "'unterminated"}
	writeBundle(t, b)
	return b
}

// TestSystemdCgroupPodman: podman with its systemd cgroup manager (the
// default on a host systemd manages) runs gorun inside the private
// systemd: the container is podman's libpod-ID.scope in machine.slice with
// its memory limit, exec joins it, stop and rm remove the unit.
func TestSystemdCgroupPodman(t *testing.T) {
	if detectCgroups(t).v2only {
		t.Skip("the assertions read cgroup v1 files; this is a cgroup v2-only host")
	}
	// podman passes no --root: gorun's default, on the machine's own /run.
	dir, _ := clientSetup(t, func(d string) string { return filepath.Join(d, "unused-root") })
	p := newPodman(t, dir, filepath.Join(dir, "unused-root"))
	m := sdmachine.Start(t)
	p.in = m.Argv
	for i, a := range p.base {
		if a == "cgroupfs" {
			p.base[i] = "systemd"
		}
	}
	busyboxTar, _ := buildImages(t, dir, image.Docker)
	p.must("load", "--input", busyboxTar)

	out := p.must("run", "--rm", busyboxRef, "cat", "/proc/self/cgroup")
	if !strings.Contains(out, ":memory:/machine.slice/libpod-") {
		t.Errorf("podman run: the container's cgroups:\n%s", out)
	}
	cid := p.must("run", "-d", "--memory", "64m", busyboxRef, "sleep", "1000")
	unit := "libpod-" + cid + ".scope"
	if got := m.Property(unit, "MemoryLimit"); got != strconv.Itoa(64<<20) {
		t.Errorf("unit %s: MemoryLimit %q", unit, got)
	}
	if out := p.must("exec", cid, "cat", "/proc/self/cgroup"); !strings.Contains(out, ":memory:/machine.slice/"+unit) {
		t.Errorf("podman exec: the process's cgroups:\n%s", out)
	}
	p.must("stop", "--time", "1", cid)
	p.must("rm", cid)
	if !unitGone(m, unit) {
		t.Errorf("after podman rm the unit is still loaded")
	}
	checkCgroupGone(t, m, "/machine.slice/"+unit)
}

// TestSystemdCgroupCRI: the Kubernetes path with the systemd cgroup
// driver. containerd's CRI plugin, its runc v2 shim with SystemdCgroup =
// true, CNI and crictl run inside the private systemd; the pod's parent is
// a kubelet-style slice. The sandbox and the container are scopes below
// it with the container's memory limit, exec joins the container's, and
// stop returns (it hung while gorun's kill --all failed on the cgroup
// systemd had half removed), rm, stopp and rmp remove every unit and
// cgroup.
func TestSystemdCgroupCRI(t *testing.T) {
	if detectCgroups(t).v2only {
		t.Skip("the assertions read cgroup v1 files; this is a cgroup v2-only host")
	}
	const ns = "k8s.io"
	dir, root := clientSetup(t, func(d string) string { return filepath.Join(d, "gorun-root", ns) })
	needPackage(t, "containerd", "/usr/bin/containerd", "/usr/bin/ctr", "/usr/bin/containerd-shim-runc-v2")
	needPackage(t, "containernetworking-plugins", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback")
	crictl := crictlBinary(t)
	m := sdmachine.Start(t)
	// The pod network lives in the machine's network namespace.
	cniDir := filepath.Join(dir, "cni")
	if err := os.MkdirAll(cniDir, 0o755); err != nil {
		t.Fatal(err)
	}
	conflist := fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "gorun-sd-cri", "plugins": [{"type": "bridge", "bridge": "gorun-sd0",
  "isGateway": true, "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "dataDir": %q}}]}`, criSubnet, filepath.Join(dir, "ipam"))
	if err := os.WriteFile(filepath.Join(cniDir, "10-sd.conflist"), []byte(conflist), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startContainerdIn(t, m, dir, ctrdOpts{ns: ns, cri: &criOpts{
		binaryName: binary(t), runtimeRoot: filepath.Dir(root), cniConfDir: cniDir, sandbox: pauseRef, systemdCgroup: true,
	}})
	crictlYAML := filepath.Join(dir, "crictl.yaml")
	if err := os.WriteFile(crictlYAML, []byte(fmt.Sprintf("runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 60\n", c.sock, c.sock)), 0o644); err != nil {
		t.Fatal(err)
	}
	cl := func(args ...string) string {
		t.Helper()
		return strings.TrimSpace(c.must(crictl, append([]string{"--config", crictlYAML}, args...)...))
	}
	t.Cleanup(func() { c.run(crictl, "--config", crictlYAML, "rmp", "--all", "--force") })
	busyboxTar, pauseTar := buildImages(t, dir, image.OCI)
	for _, tar := range []string{pauseTar, busyboxTar} {
		c.must("ctr", c.ctrArgs("images", "import", tar)...)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const slice = "kubepods-besteffort-podgorun1.slice"
	podCfg := write("pod.json", fmt.Sprintf(`{"metadata": {"name": "sd-pod", "namespace": "default", "uid": "gorun1", "attempt": 0},
  "log_directory": %q, "linux": {"cgroup_parent": %q}}`, filepath.Join(dir, "logs"), slice))
	ctrCfg := write("c1.json", fmt.Sprintf(`{"metadata": {"name": "c1"}, "image": {"image": %q},
  "command": ["sleep", "1000"], "log_path": "c1.log", "linux": {"resources": {"memory_limit_in_bytes": %d}}}`, busyboxRef, 64<<20))

	pod := cl("runp", "--runtime", "gorun", podCfg)
	c1 := cl("create", pod, ctrCfg, podCfg)
	cl("start", c1)
	sliceDir := "/kubepods.slice/kubepods-besteffort.slice/" + slice
	podUnit, c1Unit := "cri-containerd-"+pod+".scope", "cri-containerd-"+c1+".scope"
	for _, u := range []string{podUnit, c1Unit} {
		if got := m.Property(u, "ActiveState"); got != "active" {
			t.Errorf("unit %s: ActiveState %q", u, got)
		}
		if got := m.Property(u, "Slice"); got != slice {
			t.Errorf("unit %s: Slice %q, want %s", u, got, slice)
		}
	}
	if got := m.Property(c1Unit, "MemoryLimit"); got != strconv.Itoa(64<<20) {
		t.Errorf("unit %s: MemoryLimit %q", c1Unit, got)
	}
	if out := cl("exec", c1, "cat", "/proc/self/cgroup"); !strings.Contains(out, "memory:/") {
		t.Errorf("crictl exec: %q", out)
	}
	if b, _ := os.ReadFile(filepath.Join(m.HostDir("/sys/fs/cgroup/memory", sliceDir+"/"+c1Unit), "memory.limit_in_bytes")); strings.TrimSpace(string(b)) != strconv.Itoa(64<<20) {
		t.Errorf("the container's memory.limit_in_bytes: %q", b)
	}
	cl("stop", "--timeout", "1", c1)
	cl("rm", c1)
	cl("stopp", pod)
	cl("rmp", pod)
	for _, u := range []string{podUnit, c1Unit} {
		if !unitGone(m, u) {
			t.Errorf("unit %s is still loaded after rmp", u)
		}
		checkCgroupGone(t, m, sliceDir+"/"+u)
	}
}

// TestSystemdCgroupUnified: the driver on a unified (cgroup v2 only) view:
// systemd in unified mode, gorun taking the host for a v2 one. This host's
// cgroup2 hierarchy has no resource controllers, so the container asks for
// none, but device rules are eBPF programs there, systemd's and gorun's
// both attached: a node outside the rules cannot be opened, before or
// after a daemon-reload, one inside can; delete removes unit and cgroup.
func TestSystemdCgroupUnified(t *testing.T) {
	root := setup(t)
	m := sdmachine.StartUnified(t)
	id := containerID(t)
	b := sh(t, "sleep 1000")
	withMknod(b)
	writeBundle(t, b)
	deleteIn(t, m, root, id)
	mustGorunIn(t, m, root, "--systemd-cgroup", "run", "--detach", "--bundle", b.Dir, id)
	unit := "gorun-" + id + ".scope"
	if got := m.Property(unit, "DevicePolicy"); got != "strict" {
		t.Errorf("DevicePolicy %q", got)
	}
	if out := mustGorunIn(t, m, root, "exec", id, "cat", "/proc/self/cgroup"); !strings.HasSuffix(out, "\n0::/\n") {
		t.Errorf("exec'd process's /proc/self/cgroup (its cgroup namespace): %q", out)
	}
	// The container's /sys/fs/cgroup is cgroup2 too, not the v1 layout
	// the host's mount table still lists beneath.
	if out := mustGorunIn(t, m, root, "exec", id, "stat", "-f", "-c", "%t", "/sys/fs/cgroup"); strings.TrimSpace(out) != "63677270" {
		t.Errorf("the container's /sys/fs/cgroup has file system type %q, want cgroup2 (63677270)", out)
	}
	probe := "rm -f /tmp/mem; echo x > /dev/null && mknod /tmp/mem c 1 1 && { (true < /tmp/mem) && echo opened || echo refused; }"
	for _, when := range []string{"before", "after"} {
		if when == "after" {
			m.Systemctl("daemon-reload")
		}
		if out, errOut, _ := gorunIn(t, m, root, "exec", id, "sh", "-c", probe); out != "refused\n" {
			t.Errorf("%s daemon-reload: /dev/null then a /dev/mem node: %q %q, want refused", when, out, errOut)
		}
	}
	mustGorunIn(t, m, root, "delete", "--force", id)
	if !unitGone(m, unit) {
		t.Errorf("after delete the unit is still loaded")
	}
	if _, err := os.Stat(m.HostDir(m.Unified(), "/system.slice/"+unit)); err == nil {
		t.Errorf("after delete the scope's cgroup is left")
	}
}
