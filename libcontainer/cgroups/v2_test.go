package cgroups

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/cgroups/v3/cgroup2"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// v2Files are the control files the kernel gives a cgroup on a unified
// host with every controller enabled.
var v2Files = []string{
	"cgroup.controllers", "cgroup.subtree_control", "cgroup.procs", "cgroup.freeze", "cgroup.kill", "cgroup.max.descendants",
	"memory.max", "memory.low", "memory.swap.max", "memory.current", "cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle",
	"cpuset.cpus", "cpuset.mems", "pids.max", "io.weight", "io.max", "hugetlb.2MB.max", "rdma.max",
}

// fakeV2 makes a fake cgroup2 mount: a root with every controller, the
// default parent, and the container's directory as the kernel would fill
// it on mkdir.
func fakeV2(t *testing.T, p string) string {
	t.Helper()
	removeV2Dir = os.RemoveAll
	t.Cleanup(func() { removeV2Dir = removeCgroupDir })
	mount := t.TempDir()
	fakeDir(t, mount, "cgroup.controllers", "cgroup.subtree_control")
	fakeDir(t, filepath.Join(mount, DefaultParent), "cgroup.controllers", "cgroup.subtree_control", "cgroup.procs")
	all := "cpuset cpu io memory hugetlb pids rdma misc\n"
	for _, d := range []string{mount, filepath.Join(mount, DefaultParent)} {
		if err := os.WriteFile(filepath.Join(d, "cgroup.controllers"), []byte(all), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fakeDir(t, filepath.Join(mount, p), v2Files...)
	return mount
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestV2ManagerFakeCgroupfs runs the unified-host manager against a fake
// cgroupfs: the controllers are enabled in the parents, every value
// reaches its file (those the library's conversion drops or mangles
// included: swap -1, unified, burst), and the device rules handed to the
// library's eBPF filter are normalised and accepted by it.
func TestV2ManagerFakeCgroupfs(t *testing.T) {
	p := DefaultParent + "/ctr"
	mount := fakeV2(t, p)
	var gotRules []rspec.LinuxDeviceCgroup
	prev := loadDevices
	t.Cleanup(func() { loadDevices = prev })
	loadDevices = func(_ *cgroup2.Manager, rules []rspec.LinuxDeviceCgroup) error {
		gotRules = rules
		_, _, err := cgroup2.DeviceFilter(rules)
		return err
	}

	r := &rspec.LinuxResources{
		Devices:        []rspec.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "rw"}},
		Memory:         &rspec.LinuxMemory{Limit: i64(64 << 20), Swap: i64(-1), Reservation: i64(16 << 20)},
		CPU:            &rspec.LinuxCPU{Shares: u64(2048), Quota: i64(25000), Burst: u64(5000), Cpus: "1", Idle: i64(0)},
		Pids:           &rspec.LinuxPids{Limit: i64(100)},
		HugepageLimits: []rspec.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}},
		Rdma:           map[string]rspec.LinuxRdma{"mlx4_0": {HcaHandles: u32(1), HcaObjects: u32(2)}},
		Unified:        map[string]string{"cgroup.max.descendants": "3", "memory.low": "1000"},
	}
	ss, err := v2Settings(r)
	if err != nil {
		t.Fatal(err)
	}
	m, err := newV2(mount, p, ss, v2DeviceRules(r.Devices))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mount, p)
	for file, want := range map[string]string{
		"memory.max": "67108864", "memory.swap.max": "max", "memory.low": "1000", "cpu.weight": "174", "cpu.max": "25000 100000",
		"cpu.max.burst": "5000", "cpu.idle": "0", "cpuset.cpus": "1", "pids.max": "100", "hugetlb.2MB.max": "4194304",
		"rdma.max": "mlx4_0 hca_handle=1 hca_object=2", "cgroup.max.descendants": "3",
	} {
		if got := readTrim(t, filepath.Join(dir, file)); got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
	want := "+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc"
	for _, d := range []string{mount, filepath.Join(mount, DefaultParent)} {
		if got := readTrim(t, filepath.Join(d, "cgroup.subtree_control")); got != want {
			t.Errorf("%s/cgroup.subtree_control: %q, want %q", d, got, want)
		}
	}
	if len(gotRules) == 0 || gotRules[0].Type != "a" || *gotRules[0].Major != -1 || gotRules[0].Allow || gotRules[1].Type != "c" {
		t.Errorf("device rules handed to the library: %+v", gotRules)
	}
	// The library's filter rejects the rule as the spec allows it.
	if _, _, err := cgroup2.DeviceFilter([]rspec.LinuxDeviceCgroup{{Allow: false, Access: "rwm", Major: i64(-1), Minor: i64(-1)}}); err == nil {
		t.Errorf("the library now takes a deny-all rule with an empty type: normalising may be unneeded")
	}

	// An update: new values reach the files, the device filter is left
	// alone.
	gotRules = nil
	l, err := loadV2(mount, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Set(&rspec.LinuxResources{Memory: &rspec.LinuxMemory{Limit: i64(-1)}, Pids: &rspec.LinuxPids{Limit: i64(0)},
		CPU: &rspec.LinuxCPU{Quota: i64(-1), Period: u64(50000)}}); err != nil {
		t.Fatal(err)
	}
	// pids 0 is a limit (runtime-spec 1.3), -1 none.
	for file, want := range map[string]string{"memory.max": "max", "pids.max": "0", "cpu.max": "max 50000"} {
		if got := readTrim(t, filepath.Join(dir, file)); got != want {
			t.Errorf("after Set: %s: %q, want %q", file, got, want)
		}
	}
	if gotRules != nil {
		t.Errorf("Set reloaded the device filter")
	}
	// checkBeforeUpdate refuses a limit below the usage.
	if err := os.WriteFile(filepath.Join(dir, "memory.current"), []byte("5000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = l.Set(&rspec.LinuxResources{Memory: &rspec.LinuxMemory{Limit: i64(4096), CheckBeforeUpdate: bptr(true)}})
	if err == nil || !strings.Contains(err.Error(), "linux.resources.memory.limit") {
		t.Errorf("limit below usage with checkBeforeUpdate: %v", err)
	}
	if got := readTrim(t, filepath.Join(dir, "memory.max")); got != "max" {
		t.Errorf("a refused update changed memory.max to %q", got)
	}

	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after Destroy: %v", err)
	}
	if err := m.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}

// TestV2ManagerFakeCgroupfsFailure: a value the kernel lacks a file for is
// an error naming the field, and the cgroup is removed again.
func TestV2ManagerFakeCgroupfsFailure(t *testing.T) {
	p := DefaultParent + "/ctr"
	mount := fakeV2(t, p)
	ss, err := v2Settings(&rspec.LinuxResources{Unified: map[string]string{"memory.oom.group": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = newV2(mount, p, ss, nil)
	if err == nil || !strings.Contains(err.Error(), "linux.resources.unified.memory.oom.group") {
		t.Errorf("error %v, want one naming the unified key", err)
	}
	if _, serr := os.Stat(filepath.Join(mount, p)); !os.IsNotExist(serr) {
		t.Errorf("the cgroup was left: %v", serr)
	}
}

// TestEnableControllers: each level gets the controllers it has.
func TestEnableControllers(t *testing.T) {
	mount := t.TempDir()
	fakeDir(t, mount, "cgroup.controllers", "cgroup.subtree_control")
	fakeDir(t, filepath.Join(mount, "a"), "cgroup.controllers", "cgroup.subtree_control")
	fakeDir(t, filepath.Join(mount, "a", "b"), "cgroup.controllers", "cgroup.subtree_control")
	os.WriteFile(filepath.Join(mount, "cgroup.controllers"), []byte("cpu memory pids\n"), 0o644)
	os.WriteFile(filepath.Join(mount, "a", "cgroup.controllers"), []byte("memory pids\n"), 0o644)
	os.WriteFile(filepath.Join(mount, "a", "b", "cgroup.controllers"), []byte("pids\n"), 0o644)
	if err := enableControllers(mount, "/a/b/c", []string{"cpu", "memory", "pids", "io"}); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]string{"": "+cpu +memory +pids", "a": "+memory +pids", "a/b": "+pids"} {
		if got := readTrim(t, filepath.Join(mount, d, "cgroup.subtree_control")); got != want {
			t.Errorf("%s: %q, want %q", d, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(mount, "a", "b", "c")); err == nil {
		t.Errorf("the cgroup itself was touched")
	}
}

// unifiedMount returns the cgroup2 mount point of this host, skipping the
// test without root or cgroup2.
func unifiedMount(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	h, err := detect()
	if err != nil || h.unified == "" {
		t.Skip("no cgroup2 hierarchy")
	}
	return h.unified
}

// TestV2ManagerRealKernel runs the unified-host manager's code on this
// host's real cgroup2 hierarchy (controller-less on a hybrid host, so no
// limits): the eBPF device filter denies a device and allows /dev/null,
// cgroup.freeze stops a process and thaws it, cgroup.kill kills, and the
// cgroup is removed.
func TestV2ManagerRealKernel(t *testing.T) {
	mount := unifiedMount(t)
	p := fmt.Sprintf("/gorun-unit-%d", os.Getpid())
	rules := []rspec.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "rw"},
		{Allow: false, Type: "c", Major: i64(1), Minor: i64(11), Access: "rwm"},
	}
	ss, err := v2Settings(&rspec.LinuxResources{Unified: map[string]string{"cgroup.max.descendants": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := newV2(mount, p, ss, v2DeviceRules(rules))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Signal(unix.SIGKILL)
		m.Thaw()
		for i := 0; i < 100 && m.Destroy() != nil; i++ {
			time.Sleep(10 * time.Millisecond)
		}
	})
	if got := readTrim(t, filepath.Join(mount, p, "cgroup.max.descendants")); got != "2" {
		t.Errorf("cgroup.max.descendants: %q", got)
	}
	// A shell that moves itself into the cgroup, then tries the devices.
	run := func(script string) string {
		out, _ := exec.Command("sh", "-c", fmt.Sprintf("echo $$ > %s/cgroup.procs && %s", filepath.Join(mount, p), script)).CombinedOutput()
		return string(out)
	}
	if out := run(`(: > /dev/null) && echo null=ok; (: > /dev/kmsg) 2>/dev/null && echo kmsg=ok || echo kmsg=denied`); out != "null=ok\nkmsg=denied\n" {
		t.Errorf("devices through the eBPF filter: %q", out)
	}

	cmd := exec.Command("sh", "-c", fmt.Sprintf("echo $$ > %s/cgroup.procs && exec sleep 300", filepath.Join(mount, p)))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var pids []int
	for i := 0; i < 200 && len(pids) == 0; i++ {
		pids, _ = m.Pids()
		time.Sleep(5 * time.Millisecond)
	}
	if len(pids) != 1 || pids[0] != cmd.Process.Pid {
		t.Fatalf("Pids: %v, want [%d]", pids, cmd.Process.Pid)
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if st := procState(cmd.Process.Pid); st != "S" && st != "D" {
		t.Logf("frozen process state %q", st)
	}
	if !isFrozenV2(filepath.Join(mount, p)) {
		t.Errorf("cgroup.freeze not set after Freeze")
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if err := m.Signal(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("cgroup.kill did not kill")
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(mount, p)); !os.IsNotExist(err) {
		t.Errorf("after Destroy: %v", err)
	}
}

func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}
