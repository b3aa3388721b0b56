package integration

// Resource control on this host's real cgroups: each linux.resources field
// is checked in the cgroup file it should reach, and the limits are checked
// to bite (OOM kill, fork failure, device denial, pinning, freezing).

import (
	"encoding/json"
	"fmt"
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

	"github.com/gorun/gorun/tests/bundle"
)

func ptrI64(v int64) *int64   { return &v }
func ptrU64(v uint64) *uint64 { return &v }
func ptrU16(v uint16) *uint16 { return &v }
func ptrBool(v bool) *bool    { return &v }
func ptrU32(v uint32) *uint32 { return &v }

// cgroupHost describes the host's cgroup layout as the tests see it.
type cgroupHost struct {
	unified string // cgroup2 mount point, "" if none
	v2only  bool   // a unified host: no v1 hierarchy
}

func detectCgroups(t testing.TB) cgroupHost {
	t.Helper()
	var h cgroupHost
	v1 := false
	for _, m := range parseMountinfo(readFile(t, "/proc/self/mountinfo")) {
		switch m.fstype {
		case "cgroup2":
			h.unified = m.point
		case "cgroup":
			v1 = true
		}
	}
	h.v2only = !v1 && h.unified != ""
	return h
}

// needV1 skips a test that reads v1 control files on a host without them.
func needV1(t *testing.T) cgroupHost {
	t.Helper()
	h := detectCgroups(t)
	if h.v2only {
		t.Skip("the host has no cgroup v1 hierarchy")
	}
	return h
}

// cgFile reads a control file of cgroup path in the v1 hierarchy ctrl
// ("" for the cgroup2 hierarchy), trimmed.
func cgFile(t testing.TB, ctrl, path, file string) string {
	t.Helper()
	dir := filepath.Join("/sys/fs/cgroup", ctrl, path)
	if ctrl == "" {
		dir = filepath.Join(detectCgroups(t).unified, path)
	}
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Errorf("read %s: %v", filepath.Join(dir, file), err)
		return ""
	}
	return strings.TrimSpace(string(b))
}

// resourcesBundle makes a bundle running script with r as
// linux.resources (the default deny-all device rule kept first).
func resourcesBundle(t *testing.T, script string, r *specs.LinuxResources) *bundle.Bundle {
	t.Helper()
	b := sh(t, script)
	if r != nil {
		r.Devices = append(b.Spec.Linux.Resources.Devices, r.Devices...)
		b.Spec.Linux.Resources = r
	}
	writeBundle(t, b)
	return b
}

// startResources creates and starts a container with r, and returns its
// cgroup path (the default one) and host pid.
func startResources(t *testing.T, root, id, script string, r *specs.LinuxResources) (cgPath string, pid int) {
	t.Helper()
	b := resourcesBundle(t, script, r)
	create(t, root, b, id)
	mustGorun(t, root, "start", id)
	return "/gorun/" + id, state(t, root, id).Pid
}

// blockDevice returns the major:minor of a block device of the host.
func blockDevice(t *testing.T) (int64, int64) {
	t.Helper()
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "loop") || strings.HasPrefix(e.Name(), "zram") {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/sys/block", e.Name(), "dev"))
		if err != nil {
			continue
		}
		var maj, min int64
		if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), "%d:%d", &maj, &min); err == nil {
			return maj, min
		}
	}
	t.Skip("no block device on the host")
	return 0, 0
}

func hasController(dir, c string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	return err == nil && contains(strings.Fields(string(b)), c)
}

// bfqScheduled reports whether the block device blockDevice returns uses
// the BFQ I/O scheduler.
func bfqScheduled(t *testing.T) bool {
	maj, min := blockDevice(t)
	b, err := os.ReadFile(fmt.Sprintf("/sys/dev/block/%d:%d/queue/scheduler", maj, min))
	return err == nil && strings.Contains(string(b), "[bfq]")
}

// TestResourceFilesV1 checks that every linux.resources field this host's
// kernel supports reaches its v1 control file.
func TestResourceFilesV1(t *testing.T) {
	root := setup(t)
	h := needV1(t)
	id := containerID(t)
	maj, min := blockDevice(t)
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{
			Limit: ptrI64(64 << 20), Reservation: ptrI64(32 << 20), Swap: ptrI64(96 << 20),
			KernelTCP: ptrI64(16 << 20), Swappiness: ptrU64(30), DisableOOMKiller: ptrBool(false), UseHierarchy: ptrBool(true),
		},
		CPU: &specs.LinuxCPU{
			Shares: ptrU64(512), Quota: ptrI64(50000), Period: ptrU64(100000), Burst: ptrU64(10000),
			RealtimePeriod: ptrU64(500000), Cpus: "0", Mems: "0", Idle: ptrI64(0),
		},
		Pids: &specs.LinuxPids{Limit: ptrI64(64)},
		BlockIO: &specs.LinuxBlockIO{
			Weight:                  ptrU16(500),
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{Rate: 1 << 20}},
			ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{Rate: 2 << 20}},
			ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{Rate: 300}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{Rate: 400}},
		},
	}
	for _, l := range [][]specs.LinuxThrottleDevice{r.BlockIO.ThrottleReadBpsDevice, r.BlockIO.ThrottleWriteBpsDevice,
		r.BlockIO.ThrottleReadIOPSDevice, r.BlockIO.ThrottleWriteIOPSDevice} {
		l[0].Major, l[0].Minor = maj, min
	}
	hugetlb := h.unified != "" && hasController(h.unified, "hugetlb")
	if hugetlb {
		r.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 8 << 20}}
	}
	if h.unified != "" {
		r.Unified = map[string]string{"cgroup.max.descendants": "7"}
	}
	cg, _ := startResources(t, root, id, "sleep 300", r)
	dev := fmt.Sprintf("%d:%d ", maj, min)
	for _, c := range []struct{ ctrl, file, want string }{
		{"memory", "memory.limit_in_bytes", strconv.Itoa(64 << 20)},
		{"memory", "memory.soft_limit_in_bytes", strconv.Itoa(32 << 20)},
		{"memory", "memory.memsw.limit_in_bytes", strconv.Itoa(96 << 20)},
		{"memory", "memory.kmem.tcp.limit_in_bytes", strconv.Itoa(16 << 20)},
		{"memory", "memory.swappiness", "30"},
		{"memory", "memory.use_hierarchy", "1"},
		{"cpu", "cpu.shares", "512"},
		{"cpu", "cpu.cfs_quota_us", "50000"},
		{"cpu", "cpu.cfs_period_us", "100000"},
		{"cpu", "cpu.cfs_burst_us", "10000"},
		{"cpu", "cpu.rt_period_us", "500000"},
		{"cpu", "cpu.idle", "0"},
		{"cpuset", "cpuset.cpus", "0"},
		{"cpuset", "cpuset.mems", "0"},
		{"pids", "pids.max", "64"},
		{"blkio", "blkio.throttle.read_bps_device", dev + strconv.Itoa(1<<20)},
		{"blkio", "blkio.throttle.write_bps_device", dev + strconv.Itoa(2<<20)},
		{"blkio", "blkio.throttle.read_iops_device", dev + "300"},
		{"blkio", "blkio.throttle.write_iops_device", dev + "400"},
	} {
		if got := cgFile(t, c.ctrl, cg, c.file); got != c.want {
			t.Errorf("%s: %q, want %q", c.file, got, c.want)
		}
	}
	if got := cgFile(t, "memory", cg, "memory.oom_control"); !strings.Contains(got, "oom_kill_disable 0") {
		t.Errorf("memory.oom_control: %q", got)
	}
	// The weight goes to blkio.weight, or to BFQ's where the kernel has
	// no other (no CFQ since 5.0).
	weight := "blkio.weight"
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/blkio", cg, weight)); err != nil {
		weight = "blkio.bfq.weight"
	}
	if got := cgFile(t, "blkio", cg, weight); got != "500" && got != "default 500" {
		t.Errorf("%s: %q", weight, got)
	}
	if hugetlb {
		if got := cgFile(t, "", cg, "hugetlb.2MB.max"); got != strconv.Itoa(8<<20) {
			t.Errorf("cgroup2 hugetlb.2MB.max: %q", got)
		}
	}
	if h.unified != "" {
		if got := cgFile(t, "", cg, "cgroup.max.descendants"); got != "7" {
			t.Errorf("cgroup2 cgroup.max.descendants: %q", got)
		}
	}
	// The device rules: the default spec's deny-all, then the default
	// devices.
	list := cgFile(t, "devices", cg, "devices.list")
	for _, want := range []string{"c 1:3 rwm", "c 1:5 rwm", "c 136:* rwm", "c *:* m"} {
		if !contains(lines(list), want) {
			t.Errorf("devices.list lacks %q:\n%s", want, list)
		}
	}
	if contains(lines(list), "a *:* rwm") {
		t.Errorf("devices.list still allows everything:\n%s", list)
	}
}

// TestResourceDisableOOMKillerAndSwapUnlimited covers the other values of
// the memory switches: OOM killer off, swap -1.
func TestResourceDisableOOMKillerAndSwapUnlimited(t *testing.T) {
	root := setup(t)
	needV1(t)
	id := containerID(t)
	cg, _ := startResources(t, root, id, "sleep 300", &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptrI64(64 << 20), Swap: ptrI64(-1), DisableOOMKiller: ptrBool(true)},
		Pids:   &specs.LinuxPids{Limit: ptrI64(-1)},
	})
	if got := cgFile(t, "memory", cg, "memory.oom_control"); !strings.Contains(got, "oom_kill_disable 1") {
		t.Errorf("memory.oom_control: %q", got)
	}
	if got := cgFile(t, "memory", cg, "memory.memsw.limit_in_bytes"); got != "9223372036854771712" {
		t.Errorf("memory.memsw.limit_in_bytes: %q, want unlimited", got)
	}
	if got := cgFile(t, "pids", cg, "pids.max"); got != "max" {
		t.Errorf("pids.max: %q", got)
	}
}

// TestResourceRealtime sets realtime runtime and period on a cgroup right
// below the root, where the kernel has realtime time to hand out (a new
// cgroup has none, so below gorun's own default parent it cannot).
func TestResourceRealtime(t *testing.T) {
	root := setup(t)
	needV1(t)
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"); err != nil {
		t.Skip("no realtime group scheduling in this kernel")
	}
	id := containerID(t)
	b := resourcesBundle(t, "sleep 300", &specs.LinuxResources{
		CPU: &specs.LinuxCPU{RealtimePeriod: ptrU64(500000), RealtimeRuntime: ptrI64(5000)},
	})
	b.Spec.Linux.CgroupsPath = "/gorun-rt-" + id
	writeBundle(t, b)
	create(t, root, b, id)
	if got := cgFile(t, "cpu", b.Spec.Linux.CgroupsPath, "cpu.rt_runtime_us"); got != "5000" {
		t.Errorf("cpu.rt_runtime_us: %q", got)
	}
	if got := cgFile(t, "cpu", b.Spec.Linux.CgroupsPath, "cpu.rt_period_us"); got != "500000" {
		t.Errorf("cpu.rt_period_us: %q", got)
	}
	// Below the default parent the kernel refuses: the error names the
	// field.
	b2 := resourcesBundle(t, "sleep 300", &specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: ptrI64(5000)}})
	id2 := containerID(t, "2")
	mustDelete(t, root, id2)
	out, errOut, code := gorun(t, root, "create", "--bundle", b2.Dir, id2)
	expectFailure(t, "create with realtime runtime below /gorun", out, errOut, code, "linux.resources.cpu.realtimeRuntime", "cpu.rt_runtime_us")
	checkNoCgroup(t, "/gorun/"+id2)
}

// checkNoCgroup fails the test if cgroup path exists in any hierarchy.
func checkNoCgroup(t *testing.T, path string) {
	t.Helper()
	for _, m := range resHierarchies(t) {
		if _, err := os.Stat(filepath.Join(m, path)); err == nil {
			t.Errorf("cgroup %s exists", filepath.Join(m, path))
		}
	}
}

// resHierarchies returns the mount points of every cgroup hierarchy, v1
// and v2.
func resHierarchies(t testing.TB) []string {
	var out []string
	for _, m := range parseMountinfo(readFile(t, "/proc/self/mountinfo")) {
		if m.fstype == "cgroup" || m.fstype == "cgroup2" {
			out = append(out, m.point)
		}
	}
	return out
}

// TestResourceMemoryOOM runs a process past the memory limit: the kernel
// OOM-kills it and `gorun events` reports the OOM, and the stats count it.
func TestResourceMemoryOOM(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	b := resourcesBundle(t, "dd if=/dev/zero of=/dev/null bs=48M count=1; echo dd=$?; exec sleep 300", &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptrI64(16 << 20), Swap: ptrI64(16 << 20)},
	})
	c := create(t, root, b, id)
	ev := startEvents(t, root, "--interval", "100ms", id)
	// The first stats line comes after events has registered for OOM
	// notifications.
	if !poll(10*time.Second, func() bool { return strings.Contains(ev.output(t), `"type":"stats"`) }) {
		t.Fatalf("gorun events printed no stats: %q", ev.output(t))
	}
	mustGorun(t, root, "start", id)
	if !c.waitOutput("dd=", 10*time.Second) {
		out, errOut := c.output()
		t.Fatalf("dd did not finish: %q %q", out, errOut)
	}
	if out, _ := c.output(); !strings.Contains(out, "dd=137") {
		t.Errorf("dd past the memory limit: %q, want it killed (137)", out)
	}
	if !poll(5*time.Second, func() bool { return strings.Contains(ev.output(t), `"type":"oom"`) }) {
		t.Errorf("gorun events reported no OOM in %d lines", len(lines(ev.output(t))))
	}
	for _, l := range lines(ev.output(t)) {
		var e struct {
			Type, ID string
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.ID != id || (e.Type != "oom" && e.Type != "stats") {
			t.Errorf("events line %q: %v", l, err)
		}
	}
	ev.stop(t)
	s := eventsStats(t, root, id).Data
	if s.Memory.Usage.Limit != 16<<20 {
		t.Errorf("events --stats: memory limit %d, want %d", s.Memory.Usage.Limit, 16<<20)
	}
}

// eventsProc is a running `gorun events`.
type eventsProc struct {
	cmd  *exec.Cmd
	path string
}

func startEvents(t *testing.T, root string, args ...string) *eventsProc {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "events")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(binary(t), append([]string{"--root", root, "events"}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e := &eventsProc{cmd: cmd, path: f.Name()}
	t.Cleanup(func() { e.stop(t) })
	return e
}

func (e *eventsProc) output(t *testing.T) string { return readFile(t, e.path) }

func (e *eventsProc) stop(t *testing.T) {
	if e.cmd.ProcessState != nil {
		return
	}
	e.cmd.Process.Signal(unix.SIGTERM)
	e.cmd.Wait()
}

// statsEvent is the part of runc's stats event the tests read.
type statsEvent struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data struct {
		CPU struct {
			Usage struct {
				Total uint64 `json:"total"`
			} `json:"usage"`
			Throttling struct {
				Periods          uint64 `json:"periods"`
				ThrottledPeriods uint64 `json:"throttledPeriods"`
			} `json:"throttling"`
		} `json:"cpu"`
		Memory struct {
			Usage struct {
				Limit   uint64 `json:"limit"`
				Usage   uint64 `json:"usage"`
				Failcnt uint64 `json:"failcnt"`
			} `json:"usage"`
		} `json:"memory"`
		Pids struct {
			Current uint64 `json:"current"`
			Limit   uint64 `json:"limit"`
		} `json:"pids"`
	} `json:"data"`
}

// eventsStats runs `gorun events --stats id` and parses its one event.
func eventsStats(t *testing.T, root, id string) statsEvent {
	t.Helper()
	out := mustGorun(t, root, "events", "--stats", id)
	var e statsEvent
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatalf("events --stats: %v\n%s", err, out)
	}
	if e.Type != "stats" || e.ID != id {
		t.Errorf("events --stats: type %q id %q", e.Type, e.ID)
	}
	return e
}

// TestResourcePidsLimit: with a pids limit, forking past it fails. (The
// limit counts threads, and gorun's init is a Go program with a few before
// it execs the container's process: a limit below about 10 kills it.)
func TestResourcePidsLimit(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	// ash gives up on a script at its first failed fork: the inner shell
	// forks until it fails, the outer one reports.
	script := `sh -c 'for i in $(seq 30); do sleep 300 & done'; echo inner=$?; exec sleep 300`
	b := resourcesBundle(t, script, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptrI64(16)}})
	c := create(t, root, b, id)
	mustGorun(t, root, "start", id)
	if !c.waitOutput("inner=", 10*time.Second) {
		out, errOut := c.output()
		t.Fatalf("container output: %q %q", out, errOut)
	}
	out, errOut := c.output()
	if !strings.Contains(errOut, "can't fork") || out != "inner=2\n" {
		t.Errorf("no fork failure reported: stdout %q stderr %q", out, errOut)
	}
	pids := readPidsJSON(t, root, id)
	if len(pids) != 15 {
		t.Errorf("gorun ps: %d processes with pids.limit 16, want 15 (16 but the inner shell): %v", len(pids), pids)
	}
	if s := eventsStats(t, root, id).Data; s.Pids.Limit != 16 || s.Pids.Current != uint64(len(pids)) {
		t.Errorf("events --stats pids: %+v, want limit 16 and %d current", s.Pids, len(pids))
	}
}

func readPidsJSON(t *testing.T, root, id string) []int {
	t.Helper()
	out := mustGorun(t, root, "ps", "--format", "json", id)
	var pids []int
	if err := json.Unmarshal([]byte(out), &pids); err != nil {
		t.Fatalf("ps --format json: %v\n%s", err, out)
	}
	return pids
}

// TestResourceCPUQuotaAndCpuset: the quota shows in cpu.cfs_quota_us and
// throttles a busy loop; cpus pins the processes.
func TestResourceCPUQuotaAndCpuset(t *testing.T) {
	root := setup(t)
	needV1(t)
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs")
	}
	id := containerID(t)
	cg, _ := startResources(t, root, id, "grep Cpus_allowed_list /proc/self/status; while :; do :; done", &specs.LinuxResources{
		CPU: &specs.LinuxCPU{Quota: ptrI64(10000), Period: ptrU64(50000), Cpus: "1"},
	})
	if got := cgFile(t, "cpu", cg, "cpu.cfs_quota_us"); got != "10000" {
		t.Errorf("cpu.cfs_quota_us: %q", got)
	}
	if got := cgFile(t, "cpu", cg, "cpu.cfs_period_us"); got != "50000" {
		t.Errorf("cpu.cfs_period_us: %q", got)
	}
	if got := cgFile(t, "cpuset", cg, "cpuset.cpus"); got != "1" {
		t.Errorf("cpuset.cpus: %q", got)
	}
	pid := state(t, root, id).Pid
	if st := readFile(t, fmt.Sprintf("/proc/%d/status", pid)); !strings.Contains(st, "Cpus_allowed_list:\t1\n") {
		t.Errorf("the init is not pinned to CPU 1:\n%s", st)
	}
	// A busy loop at 20% of one CPU is throttled within a few periods.
	if !poll(5*time.Second, func() bool {
		return eventsStats(t, root, id).Data.CPU.Throttling.ThrottledPeriods > 0
	}) {
		t.Errorf("events --stats: never throttled under a 10ms/50ms quota")
	}
	if s := eventsStats(t, root, id).Data; s.CPU.Usage.Total == 0 {
		t.Errorf("events --stats: no cpu usage")
	}
}

// TestResourceDevices: a rule denies a device the config allowed before it,
// and the default devices stay allowed after the config's rules. /dev/kmsg
// (c 1:11) is not a default device; /dev/zero could not be denied: runc and
// crun also re-allow the default devices after the config's rules.
func TestResourceDevices(t *testing.T) {
	root := setup(t)
	kmsg := specs.LinuxDevice{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11, FileMode: fileMode(0o666)}
	script := `echo gorun-test-devices > /dev/kmsg && echo kmsg=ok || echo kmsg=denied; echo x > /dev/null && echo null=ok`
	for _, c := range []struct {
		name  string
		rules []specs.LinuxDeviceCgroup
		want  string
	}{
		{"allowed", []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: ptrI64(1), Minor: ptrI64(11), Access: "rw"}}, "kmsg=ok\nnull=ok\n"},
		{"denied", []specs.LinuxDeviceCgroup{
			{Allow: true, Type: "c", Major: ptrI64(1), Minor: ptrI64(11), Access: "rw"},
			{Allow: false, Type: "c", Major: ptrI64(1), Minor: ptrI64(11), Access: "rwm"},
		}, "kmsg=denied\nnull=ok\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := resourcesBundle(t, script, &specs.LinuxResources{Devices: c.rules})
			b.Spec.Linux.Devices = []specs.LinuxDevice{kmsg}
			writeBundle(t, b)
			out, errOut, code := runContainer(t, root, b, containerID(t))
			if code != 0 || out != c.want {
				t.Errorf("exit %d, stdout %q (want %q), stderr %q", code, out, c.want, errOut)
			}
			if c.name == "denied" && !strings.Contains(errOut, "Operation not permitted") {
				t.Errorf("stderr %q: want EPERM from the device cgroup", errOut)
			}
		})
	}
}

func fileMode(m os.FileMode) *os.FileMode { return &m }

// TestResourceUpdate changes live limits with every way of giving them,
// and checks that the state keeps them: a later update merges with it.
func TestResourceUpdate(t *testing.T) {
	root := setup(t)
	needV1(t)
	id := containerID(t)
	cg, _ := startResources(t, root, id, "sleep 300", &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptrI64(64 << 20), Swap: ptrI64(64 << 20)},
		CPU:    &specs.LinuxCPU{Shares: ptrU64(512)},
		Pids:   &specs.LinuxPids{Limit: ptrI64(32)},
	})
	// Raising the memory limit above the old swap limit needs the swap
	// limit written first: gorun finds the order.
	mustGorun(t, root, "update", "--memory", "128M", "--memory-swap", "256M", "--pids-limit", "50", "--cpu-quota", "20000",
		"--cpu-period", "100000", "--cpu-share", "256", "--cpu-burst", "1000", "--cpuset-cpus", "0", id)
	want := map[string]string{
		"memory/memory.limit_in_bytes":       strconv.Itoa(128 << 20),
		"memory/memory.memsw.limit_in_bytes": strconv.Itoa(256 << 20),
		"pids/pids.max":                      "50",
		"cpu/cpu.cfs_quota_us":               "20000",
		"cpu/cpu.shares":                     "256",
		"cpu/cpu.cfs_burst_us":               "1000",
		"cpuset/cpuset.cpus":                 "0",
	}
	check := func(when string) {
		t.Helper()
		for f, v := range want {
			ctrl, file, _ := strings.Cut(f, "/")
			if got := cgFile(t, ctrl, cg, file); got != v {
				t.Errorf("%s: %s %q, want %q", when, file, got, v)
			}
		}
	}
	check("after update flags")

	// --resources - (containerd's way): a partial object; and lowering
	// the limits again, the order reversed.
	upd := `{"memory":{"limit":33554432,"swap":33554432},"pids":{"limit":-1}}`
	if out, errOut, code := gorunWith(t, root, cmdOpts{Stdin: stringFile(t, upd)}, "update", "--resources", "-", id); code != 0 {
		t.Fatalf("update --resources -: exit %d\n%s%s", code, out, errOut)
	}
	want["memory/memory.limit_in_bytes"] = strconv.Itoa(32 << 20)
	want["memory/memory.memsw.limit_in_bytes"] = strconv.Itoa(32 << 20)
	want["pids/pids.max"] = "max"
	check("after update --resources -")

	// The state recorded the merged resources: an update of one field
	// (a file this time) leaves the others as they are, and a bad value
	// changes nothing.
	f := filepath.Join(t.TempDir(), "res.json")
	if err := os.WriteFile(f, []byte(`{"cpu":{"quota":30000}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	mustGorun(t, root, "update", "--resources", f, id)
	want["cpu/cpu.cfs_quota_us"] = "30000"
	check("after update --resources FILE")
	// An idle cgroup takes no shares: unset them to go idle.
	out, errOut, code := gorun(t, root, "update", "--cpu-idle", "1", id)
	expectFailure(t, "update to idle with shares", out, errOut, code, "linux.resources.cpu.shares", "idle")
	mustGorun(t, root, "update", "--cpu-idle", "1", "--cpu-share", "0", id)
	if got := cgFile(t, "cpu", cg, "cpu.idle"); got != "1" {
		t.Errorf("cpu.idle: %q", got)
	}
	mustGorun(t, root, "update", "--cpu-idle", "0", "--cpu-share", "256", id)
	if got := cgFile(t, "cpu", cg, "cpu.idle"); got != "0" {
		t.Errorf("cpu.idle: %q", got)
	}
	out, errOut, code = gorun(t, root, "update", "--memory", "64M", "--memory-swap", "32M", id)
	expectFailure(t, "update with swap below memory", out, errOut, code, "linux.resources.memory.swap")
	out, errOut, code = gorun(t, root, "update", "--pids-limit", "-5", id)
	expectFailure(t, "update with negative pids limit", out, errOut, code, "linux.resources.pids.limit", "-5")
	// checkBeforeUpdate: a limit below the current usage is refused.
	upd = `{"memory":{"limit":4096,"swap":4096,"checkBeforeUpdate":true}}`
	out, errOut, code = gorunWith(t, root, cmdOpts{Stdin: stringFile(t, upd)}, "update", "-r", "-", id)
	expectFailure(t, "update below usage with checkBeforeUpdate", out, errOut, code, "linux.resources.memory.limit", "checkBeforeUpdate")
	check("after rejected updates")
	if r := recordedResources(t, root, id); r.Memory == nil || r.Memory.Limit == nil || *r.Memory.Limit != 32<<20 ||
		r.CPU == nil || r.CPU.Quota == nil || *r.CPU.Quota != 30000 || r.CPU.Shares == nil || *r.CPU.Shares != 256 {
		t.Errorf("recorded resources after updates: %+v %+v", r.Memory, r.CPU)
	}
}

// recordedResources reads linux.resources from the config gorun keeps for
// the container (config.json in its state directory).
func recordedResources(t *testing.T, root, id string) specs.LinuxResources {
	t.Helper()
	var cfg specs.Spec
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(root, id, "config.json"))), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Linux == nil || cfg.Linux.Resources == nil {
		t.Fatal("the recorded config.json has no linux.resources")
	}
	return *cfg.Linux.Resources
}

func stringFile(t *testing.T, s string) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestResourcePauseResume: pause freezes the processes (a counter stops),
// state says paused, resume thaws them; kill and delete of a paused
// container work.
func TestResourcePauseResume(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	b := sh(t, `i=0; while :; do i=$((i+1)); echo $i > /tmp/counter; usleep 10000; done`)
	create(t, root, b, id)
	mustGorun(t, root, "start", id)
	counter := func() string { return strings.TrimSpace(readFileOrEmpty(filepath.Join(b.Rootfs, "tmp", "counter"))) }
	advancing := func() bool {
		a := counter()
		time.Sleep(150 * time.Millisecond)
		return counter() != a
	}
	if !poll(5*time.Second, advancing) {
		t.Fatal("the counter never advances")
	}
	mustGorun(t, root, "pause", id)
	if s := state(t, root, id).Status; s != "paused" {
		t.Errorf("state after pause: %q", s)
	}
	if advancing() {
		t.Errorf("the counter advances while paused")
	}
	out, errOut, code := gorun(t, root, "pause", id)
	expectFailure(t, "pause twice", out, errOut, code, id, "paused")
	mustGorun(t, root, "resume", id)
	if s := state(t, root, id).Status; s != "running" {
		t.Errorf("state after resume: %q", s)
	}
	if !advancing() {
		t.Errorf("the counter does not advance after resume")
	}

	// kill of a paused container.
	mustGorun(t, root, "pause", id)
	mustGorun(t, root, "kill", id, "KILL")
	waitStatus(t, root, id, "stopped", 5*time.Second)
	mustGorun(t, root, "delete", id)

	// delete --force of a paused container.
	id2 := containerID(t, "2")
	b2 := sh(t, "sleep 300")
	create(t, root, b2, id2)
	mustGorun(t, root, "start", id2)
	mustGorun(t, root, "pause", id2)
	out, errOut, code = gorun(t, root, "delete", id2)
	expectFailure(t, "delete of a paused container", out, errOut, code, id2, "paused")
	mustGorun(t, root, "delete", "--force", id2)
	checkNoCgroup(t, "/gorun/"+id2)
}

// TestResourcePsAndStats: ps lists the container's processes as a table
// and as JSON; events --stats has memory, cpu and pids figures.
func TestResourcePsAndStats(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	_, pid := startResources(t, root, id, "sleep 300 & sleep 300 & i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; wait", nil)
	var pids []int
	if !poll(5*time.Second, func() bool { pids = readPidsJSON(t, root, id); return len(pids) == 3 }) {
		t.Errorf("ps --format json: %v, want the init and two sleeps", pids)
	}
	if !contains(intStrings(pids), strconv.Itoa(pid)) {
		t.Errorf("ps --format json: %v lacks the init %d", pids, pid)
	}
	table := lines(mustGorun(t, root, "ps", id))
	if len(table) != 4 || !strings.Contains(table[0], "PID") {
		t.Errorf("ps table: %q", table)
	}
	for _, l := range table[1:] {
		if !strings.Contains(l, "sleep 300") && !strings.Contains(l, "sh -c") {
			t.Errorf("ps table line %q", l)
		}
	}
	s := eventsStats(t, root, id).Data
	if s.Memory.Usage.Usage == 0 || s.CPU.Usage.Total == 0 || s.Pids.Current != 3 {
		t.Errorf("events --stats: memory usage %d, cpu total %d, pids %d", s.Memory.Usage.Usage, s.CPU.Usage.Total, s.Pids.Current)
	}
}

func intStrings(v []int) []string {
	out := make([]string, len(v))
	for i, n := range v {
		out[i] = strconv.Itoa(n)
	}
	return out
}

// noPidNS drops the pid namespace: the container's processes then outlive
// its init, which only the cgroup can find.
func noPidNS(s *specs.Spec) {
	dropNamespace(s, specs.PIDNamespace)
}

// TestResourceKillAll: kill --all signals every process of the cgroup,
// also those that are not the init's children: SIGKILL (through
// cgroup.kill where there is one) and another signal (with the cgroup
// frozen meanwhile).
func TestResourceKillAll(t *testing.T) {
	root := setup(t)
	for _, sig := range []string{"KILL", "TERM"} {
		t.Run(sig, func(t *testing.T) {
			id := containerID(t)
			b := sh(t, "(sleep 301 &); (sleep 302 &); exec sleep 300")
			noPidNS(b.Spec)
			writeBundle(t, b)
			create(t, root, b, id)
			mustGorun(t, root, "start", id)
			var pids []int
			if !poll(5*time.Second, func() bool { pids = readPidsJSON(t, root, id); return len(pids) == 3 }) {
				t.Fatalf("ps: %v, want 3 processes", pids)
			}
			mustGorun(t, root, "kill", "--all", id, sig)
			for _, p := range pids {
				if !poll(5*time.Second, func() bool { return !pidAlive(p) }) {
					t.Errorf("pid %d survived kill --all %s", p, sig)
				}
			}
			waitStatus(t, root, id, "stopped", 5*time.Second)
			if s := cgFile(t, "freezer", "/gorun/"+id, "freezer.state"); !detectCgroups(t).v2only && s != "THAWED" {
				t.Errorf("freezer.state after kill --all: %q", s)
			}
			mustGorun(t, root, "delete", id)
			checkNoCgroup(t, "/gorun/"+id)
		})
	}
}

// TestResourceDeleteForceAfterInitDied: the init is gone but processes it
// left remain in the cgroup; delete --force kills them and removes the
// cgroup from every hierarchy.
func TestResourceDeleteForceAfterInitDied(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	b := sh(t, "(sleep 301 &); (sleep 302 &); sleep 0.2")
	noPidNS(b.Spec)
	writeBundle(t, b)
	create(t, root, b, id)
	mustGorun(t, root, "start", id)
	waitStatus(t, root, id, "stopped", 5*time.Second)
	pids := readPidsJSON(t, root, id)
	if len(pids) != 2 {
		t.Errorf("ps after the init died: %v, want the two sleeps", pids)
	}
	mustGorun(t, root, "delete", "--force", id)
	for _, p := range pids {
		if pidAlive(p) {
			t.Errorf("pid %d survived delete --force", p)
		}
	}
	checkNoCgroup(t, "/gorun/"+id)
}

// TestResourceCgroupsPaths: a relative linux.cgroupsPath goes below gorun's
// default parent, an absolute one where it says; on a hybrid host the
// container is in the cgroup2 hierarchy too (its 0:: line); delete removes
// the cgroup from every hierarchy, and the default parents it made.
func TestResourceCgroupsPaths(t *testing.T) {
	root := setup(t)
	h := detectCgroups(t)
	for _, c := range []struct{ name, cgroupsPath, want, parent string }{
		{"relative", "res-rel/" + containerID(t), "/gorun/res-rel/" + containerID(t), "/gorun/res-rel"},
		{"absolute", "/gorun-res-abs/" + containerID(t), "/gorun-res-abs/" + containerID(t), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := containerID(t)
			t.Cleanup(func() {
				for _, m := range resHierarchies(t) {
					os.Remove(filepath.Join(m, "gorun-res-abs"))
				}
			})
			b := sh(t, "sleep 300")
			b.Spec.Linux.CgroupsPath = c.cgroupsPath
			writeBundle(t, b)
			create(t, root, b, id)
			pid := state(t, root, id).Pid
			for _, m := range resHierarchies(t) {
				procs := readFileOrEmpty(filepath.Join(m, c.want, "cgroup.procs"))
				if !contains(lines(procs), strconv.Itoa(pid)) {
					t.Errorf("%s: pid %d not in %s", m, pid, c.want)
				}
			}
			if h.unified != "" {
				if own := readFile(t, fmt.Sprintf("/proc/%d/cgroup", pid)); !contains(lines(own), "0::"+c.want) {
					t.Errorf("/proc/%d/cgroup has no 0::%s line:\n%s", pid, c.want, own)
				}
			}
			mustGorun(t, root, "delete", "--force", id)
			checkNoCgroup(t, c.want)
			if c.parent != "" {
				checkNoCgroup(t, c.parent)
			}
		})
	}
}

// TestResourceSystemdPath: the systemd form of linux.cgroupsPath needs
// --systemd-cgroup, and that needs systemd, which this host lacks: both
// are clear errors.
func TestResourceSystemdPath(t *testing.T) {
	root := setup(t)
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs on this host")
	}
	id := containerID(t)
	b := sh(t, "true")
	b.Spec.Linux.CgroupsPath = "system.slice:gorun:" + id
	writeBundle(t, b)
	mustDelete(t, root, id)
	out, errOut, code := gorun(t, root, "create", "--bundle", b.Dir, id)
	expectFailure(t, "create with a systemd cgroupsPath", out, errOut, code, "linux.cgroupsPath", "--systemd-cgroup")
	out, errOut, code = gorun(t, root, "--systemd-cgroup", "create", "--bundle", b.Dir, id)
	expectFailure(t, "create --systemd-cgroup", out, errOut, code, "--systemd-cgroup", "systemd is not running")
	if _, err := os.Stat(filepath.Join(root, id)); err == nil {
		t.Errorf("a failed create left state")
	}
}

// TestResourceBadInput: negative, contradictory and unsupported limits, an
// unknown device type and an escaping cgroupsPath are refused with one
// error line naming the field, and leave neither state nor cgroup.
func TestResourceBadInput(t *testing.T) {
	root := setup(t)
	h := detectCgroups(t)
	maj, min := blockDevice(t)
	type badCase struct {
		name   string
		mutate func(s *specs.Spec)
		want   []string
		skip   bool // the host supports what the case expects to be refused
	}
	res := func(f func(r *specs.LinuxResources)) func(s *specs.Spec) {
		return func(s *specs.Spec) { f(s.Linux.Resources) }
	}
	v1Has := func(ctrl string) bool { _, err := os.Stat(filepath.Join("/sys/fs/cgroup", ctrl)); return err == nil }
	// CFQ, which had leaf weights, left the kernel in 5.0.
	_, leafErr := os.Stat("/sys/fs/cgroup/blkio/blkio.leaf_weight")
	cases := []badCase{
		{name: "negative memory", mutate: res(func(r *specs.LinuxResources) { r.Memory = &specs.LinuxMemory{Limit: ptrI64(-5)} }),
			want: []string{"linux.resources.memory.limit", `"-5"`}},
		{name: "negative pids", mutate: res(func(r *specs.LinuxResources) { r.Pids = &specs.LinuxPids{Limit: ptrI64(-2)} }),
			want: []string{"linux.resources.pids.limit", `"-2"`}},
		{name: "swap below memory", mutate: res(func(r *specs.LinuxResources) {
			r.Memory = &specs.LinuxMemory{Limit: ptrI64(64 << 20), Swap: ptrI64(32 << 20)}
		}), want: []string{"linux.resources.memory.swap"}},
		{name: "swap without memory", mutate: res(func(r *specs.LinuxResources) { r.Memory = &specs.LinuxMemory{Swap: ptrI64(32 << 20)} }),
			want: []string{"linux.resources.memory.swap", "memory limit"}},
		{name: "cpu shares out of range", mutate: res(func(r *specs.LinuxResources) { r.CPU = &specs.LinuxCPU{Shares: ptrU64(1)} }),
			want: []string{"linux.resources.cpu.shares"}},
		{name: "burst above quota", mutate: res(func(r *specs.LinuxResources) {
			r.CPU = &specs.LinuxCPU{Quota: ptrI64(10000), Burst: ptrU64(20000)}
		}), want: []string{"linux.resources.cpu.burst", `"20000"`}, skip: h.v2only},
		{name: "refused below new parents", mutate: func(s *specs.Spec) {
			s.Linux.CgroupsPath = "/gorun-res-bad/nested/ctr"
			s.Linux.Resources.CPU = &specs.LinuxCPU{Quota: ptrI64(10000), Burst: ptrU64(20000)}
		}, want: []string{"linux.resources.cpu.burst"}, skip: h.v2only},
		{name: "unknown device type", mutate: res(func(r *specs.LinuxResources) {
			r.Devices = append(r.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: "x", Access: "rwm"})
		}), want: []string{"linux.resources.devices[1].type", `"x"`}},
		{name: "cgroupsPath with dotdot", mutate: func(s *specs.Spec) { s.Linux.CgroupsPath = "res/../../escape" },
			want: []string{"linux.cgroupsPath", "res/../../escape"}},
		{name: "unknown hugepage size", mutate: res(func(r *specs.LinuxResources) {
			r.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "3MB", Limit: 1 << 30}}
		}), want: []string{"linux.resources.hugepageLimits[0]", "hugetlb.3MB"}},
		{name: "blkio leaf weight", mutate: res(func(r *specs.LinuxResources) { r.BlockIO = &specs.LinuxBlockIO{LeafWeight: ptrU16(500)} }),
			want: []string{"linux.resources.blockIO.leafWeight", "blkio.leaf_weight"}, skip: h.v2only || leafErr == nil},
		{name: "net_cls missing", mutate: res(func(r *specs.LinuxResources) { r.Network = &specs.LinuxNetwork{ClassID: ptrU32(0x10001)} }),
			want: []string{"linux.resources.network", "net_cls"}, skip: v1Has("net_cls")},
		{name: "rdma missing", mutate: res(func(r *specs.LinuxResources) {
			r.Rdma = map[string]specs.LinuxRdma{"mlx4_0": {HcaHandles: ptrU32(1)}}
		}), want: []string{"linux.resources.rdma.mlx4_0", "rdma"}, skip: v1Has("rdma") || h.v2only},
		{name: "unified file missing", mutate: res(func(r *specs.LinuxResources) { r.Unified = map[string]string{"memory.high": "1000"} }),
			want: []string{"linux.resources.unified.memory.high"}, skip: h.v2only},
		{name: "weight of a device BFQ does not schedule", mutate: res(func(r *specs.LinuxResources) {
			r.BlockIO = &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{Weight: ptrU16(300)}}}
			r.BlockIO.WeightDevice[0].Major, r.BlockIO.WeightDevice[0].Minor = maj, min
		}), want: []string{"linux.resources.blockIO.weightDevice[0].weight", "BFQ"}, skip: h.v2only || bfqScheduled(t)},
		{name: "unified key that is no limit", mutate: res(func(r *specs.LinuxResources) { r.Unified = map[string]string{"cgroup.procs": "1"} }),
			want: []string{"linux.resources.unified.cgroup.procs", "not a resource limit"}},
		{name: "throttle on a missing device", mutate: res(func(r *specs.LinuxResources) {
			r.BlockIO = &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{Rate: 100}}}
			r.BlockIO.ThrottleReadBpsDevice[0].Major, r.BlockIO.ThrottleReadBpsDevice[0].Minor = maj, min+99
		}), want: []string{"linux.resources.blockIO.throttleReadBpsDevice[0]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.skip {
				t.Skip("this host supports it")
			}
			id := containerID(t)
			b := sh(t, "true")
			c.mutate(b.Spec)
			writeBundle(t, b)
			mustDelete(t, root, id)
			out, errOut, code := gorun(t, root, "create", "--bundle", b.Dir, id)
			expectFailure(t, "create", out, errOut, code, c.want...)
			t.Log(strings.TrimSpace(errOut))
			if _, err := os.Stat(filepath.Join(root, id)); err == nil {
				t.Errorf("a failed create left state")
			}
			checkNoCgroup(t, "/gorun/"+id)
			checkNoCgroup(t, "/gorun/res")
			checkNoCgroup(t, "/gorun-res-bad")
		})
	}
}
