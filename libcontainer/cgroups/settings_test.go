package cgroups

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/cgroups/v3/cgroup2"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

func u64(v uint64) *uint64 { return &v }
func u16(v uint16) *uint16 { return &v }
func u32(v uint32) *uint32 { return &v }
func bptr(v bool) *bool    { return &v }

// files renders settings as "file=value" lines (v2 files of a v1 host
// prefixed "v2:"), in order.
func files(ss []setting) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.file + "=" + s.value
		if s.v2 {
			out[i] = "v2:" + out[i]
		}
	}
	return out
}

func has(list []string, want string) bool {
	for _, l := range list {
		if l == want {
			return true
		}
	}
	return false
}

func fieldOf(ss []setting, file string) string {
	for _, s := range ss {
		if s.file == file {
			return s.field
		}
	}
	return ""
}

// every is a linux.resources with every field set.
func every() *rspec.LinuxResources {
	return &rspec.LinuxResources{
		Devices: []rspec.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "rw"}},
		Memory: &rspec.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(96 << 20), Kernel: i64(8 << 20),
			KernelTCP: i64(4 << 20), Swappiness: u64(30), DisableOOMKiller: bptr(false), UseHierarchy: bptr(true), CheckBeforeUpdate: bptr(true)},
		CPU: &rspec.LinuxCPU{Shares: u64(512), Quota: i64(50000), Burst: u64(1000), Period: u64(100000), RealtimeRuntime: i64(1000),
			RealtimePeriod: u64(500000), Cpus: "0-1", Mems: "0", Idle: i64(0)},
		Pids: &rspec.LinuxPids{Limit: i64(64)},
		BlockIO: &rspec.LinuxBlockIO{Weight: u16(500), LeafWeight: u16(300),
			WeightDevice:            []rspec.LinuxWeightDevice{{Weight: u16(200), LeafWeight: u16(100)}},
			ThrottleReadBpsDevice:   []rspec.LinuxThrottleDevice{{Rate: 1000}},
			ThrottleWriteBpsDevice:  []rspec.LinuxThrottleDevice{{Rate: 2000}},
			ThrottleReadIOPSDevice:  []rspec.LinuxThrottleDevice{{Rate: 30}},
			ThrottleWriteIOPSDevice: []rspec.LinuxThrottleDevice{{Rate: 40}}},
		HugepageLimits: []rspec.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 8 << 20}},
		Network:        &rspec.LinuxNetwork{ClassID: u32(0x100001), Priorities: []rspec.LinuxInterfacePriority{{Name: "eth0", Priority: 5}}},
		Rdma:           map[string]rspec.LinuxRdma{"mlx5_1": {HcaHandles: u32(3)}, "mlx4_0": {HcaHandles: u32(2), HcaObjects: u32(2000)}},
		Unified:        map[string]string{"cgroup.max.descendants": "7"},
	}
}

func withDevNums(r *rspec.LinuxResources) *rspec.LinuxResources {
	b := r.BlockIO
	b.WeightDevice[0].Major, b.WeightDevice[0].Minor = 8, 0
	for _, l := range [][]rspec.LinuxThrottleDevice{b.ThrottleReadBpsDevice, b.ThrottleWriteBpsDevice, b.ThrottleReadIOPSDevice, b.ThrottleWriteIOPSDevice} {
		l[0].Major, l[0].Minor = 8, 0
	}
	return r
}

func TestV1SettingsEveryField(t *testing.T) {
	ss, err := v1Settings(withDevNums(every()), v1Opts{})
	if err != nil {
		t.Fatal(err)
	}
	got := files(ss)
	for _, want := range []string{
		"devices.deny=a *:* rwm", "devices.allow=c 1:11 rw", "devices.allow=c 1:3 rwm", "devices.allow=c 136:* rwm",
		"memory.limit_in_bytes=67108864", "memory.soft_limit_in_bytes=33554432", "memory.memsw.limit_in_bytes=100663296",
		"memory.kmem.limit_in_bytes=8388608", "memory.kmem.tcp.limit_in_bytes=4194304", "memory.swappiness=30",
		"memory.oom_control=0", "memory.use_hierarchy=1",
		"cpu.shares=512", "cpu.idle=0", "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=50000", "cpu.cfs_burst_us=1000",
		"cpu.rt_period_us=500000", "cpu.rt_runtime_us=1000", "cpuset.cpus=0-1", "cpuset.mems=0",
		"pids.max=64",
		"blkio.weight=500", "blkio.leaf_weight=300", "blkio.weight_device=8:0 200", "blkio.leaf_weight_device=8:0 100",
		"blkio.throttle.read_bps_device=8:0 1000", "blkio.throttle.write_bps_device=8:0 2000",
		"blkio.throttle.read_iops_device=8:0 30", "blkio.throttle.write_iops_device=8:0 40",
		"hugetlb.2MB.limit_in_bytes=8388608", "hugetlb.2MB.rsvd.limit_in_bytes=8388608",
		"net_cls.classid=1048577", "net_prio.ifpriomap=eth0 5",
		"rdma.max=mlx4_0 hca_handle=2 hca_object=2000", "rdma.max=mlx5_1 hca_handle=3 hca_object=max",
		"v2:cgroup.max.descendants=7",
	} {
		if !has(got, want) {
			t.Errorf("no %s in\n%s", want, strings.Join(got, "\n"))
		}
	}
	// The config's device rules come first, in order, then the defaults.
	if got[0] != "devices.deny=a *:* rwm" || got[1] != "devices.allow=c 1:11 rw" || got[2] != "devices.allow=c *:* m" {
		t.Errorf("device rules out of order: %q", got[:3])
	}
	for file, field := range map[string]string{
		"memory.memsw.limit_in_bytes": "linux.resources.memory.swap", "cpu.cfs_burst_us": "linux.resources.cpu.burst",
		"blkio.weight_device": "linux.resources.blockIO.weightDevice[0].weight", "hugetlb.2MB.limit_in_bytes": "linux.resources.hugepageLimits[0]",
		"devices.deny": "linux.resources.devices[0]", "cgroup.max.descendants": "linux.resources.unified.cgroup.max.descendants",
	} {
		if got := fieldOf(ss, file); got != field {
			t.Errorf("%s: field %q, want %q", file, got, field)
		}
	}
}

func TestV1SettingsSpecialValues(t *testing.T) {
	for _, c := range []struct {
		name     string
		r        rspec.LinuxResources
		want     []string
		wantNone []string
	}{
		{"unlimited", rspec.LinuxResources{Memory: &rspec.LinuxMemory{Limit: i64(-1), Swap: i64(-1)}, Pids: &rspec.LinuxPids{Limit: i64(-1)},
			CPU: &rspec.LinuxCPU{Quota: i64(-1)}},
			[]string{"memory.limit_in_bytes=-1", "memory.memsw.limit_in_bytes=-1", "pids.max=max", "cpu.cfs_quota_us=-1"}, nil},
		{"pids 0 is a limit, -1 none", rspec.LinuxResources{Pids: &rspec.LinuxPids{Limit: i64(0)}}, []string{"pids.max=0"}, nil},
		{"pids -1 is no limit", rspec.LinuxResources{Pids: &rspec.LinuxPids{Limit: i64(-1)}}, []string{"pids.max=max"}, nil},
		{"zero is unset", rspec.LinuxResources{Memory: &rspec.LinuxMemory{Limit: i64(0), Swap: i64(0), Reservation: i64(0)},
			CPU:     &rspec.LinuxCPU{Shares: u64(0), Quota: i64(0), Period: u64(0), RealtimeRuntime: i64(0), RealtimePeriod: u64(0)},
			BlockIO: &rspec.LinuxBlockIO{Weight: u16(0)}},
			nil, []string{"memory.", "cpu.", "blkio."}},
		{"swappiness -1 keeps the default", rspec.LinuxResources{Memory: &rspec.LinuxMemory{Swappiness: u64(math.MaxUint64)}}, nil, []string{"memory.swappiness"}},
		{"OOM killer off", rspec.LinuxResources{Memory: &rspec.LinuxMemory{DisableOOMKiller: bptr(true), UseHierarchy: bptr(false)}},
			[]string{"memory.oom_control=1", "memory.use_hierarchy=0"}, nil},
		{"idle", rspec.LinuxResources{CPU: &rspec.LinuxCPU{Idle: i64(1)}}, []string{"cpu.idle=1"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			ss, err := v1Settings(&c.r, v1Opts{update: true})
			if err != nil {
				t.Fatal(err)
			}
			got := files(ss)
			for _, w := range c.want {
				if !has(got, w) {
					t.Errorf("no %s in %q", w, got)
				}
			}
			for _, g := range got {
				for _, n := range c.wantNone {
					if strings.HasPrefix(g, n) {
						t.Errorf("unexpected %s", g)
					}
				}
				if strings.HasPrefix(g, "devices.") {
					t.Errorf("an update rewrites device rules: %s", g)
				}
			}
		})
	}
}

func TestV1SettingsOptionalAndAlternative(t *testing.T) {
	ss, err := v1Settings(withDevNums(every()), v1Opts{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		switch s.file {
		case "memory.kmem.limit_in_bytes", "memory.kmem.tcp.limit_in_bytes", "hugetlb.2MB.rsvd.limit_in_bytes":
			if !s.optional {
				t.Errorf("%s must be optional", s.file)
			}
		case "blkio.weight":
			if s.alt != "blkio.bfq.weight" {
				t.Errorf("blkio.weight: alt %q", s.alt)
			}
		default:
			if s.optional {
				t.Errorf("%s must not be optional", s.file)
			}
		}
	}
}

func TestV1SettingsHugetlbInV2(t *testing.T) {
	ss, err := v1Settings(&rspec.LinuxResources{HugepageLimits: []rspec.LinuxHugepageLimit{{Pagesize: "1GB", Limit: 1 << 30}}}, v1Opts{hugetlbV2: true})
	if err != nil {
		t.Fatal(err)
	}
	got := files(ss)
	if !has(got, "v2:hugetlb.1GB.max=1073741824") || !has(got, "v2:hugetlb.1GB.rsvd.max=1073741824") {
		t.Errorf("hugetlb on a hybrid host without a v1 hugetlb hierarchy: %q", got)
	}
	if ss[len(ss)-1].ctrl != "hugetlb" {
		t.Errorf("controller %q, want hugetlb (to enable it)", ss[len(ss)-1].ctrl)
	}
}

func TestV1SettingsContradictions(t *testing.T) {
	_, err := v1Settings(&rspec.LinuxResources{Memory: &rspec.LinuxMemory{Swap: i64(100 << 20)}}, v1Opts{})
	if err == nil || !strings.Contains(err.Error(), "linux.resources.memory.swap") {
		t.Errorf("swap without a memory limit: %v", err)
	}
	_, err = v1Settings(&rspec.LinuxResources{Memory: &rspec.LinuxMemory{Limit: i64(-1), Swap: i64(100 << 20)}}, v1Opts{})
	if err == nil || !strings.Contains(err.Error(), "linux.resources.memory.swap") {
		t.Errorf("swap with an unlimited memory limit: %v", err)
	}
	_, err = v1Settings(&rspec.LinuxResources{Unified: map[string]string{"cgroup.threads": "1"}}, v1Opts{})
	if err == nil || !strings.Contains(err.Error(), "linux.resources.unified.cgroup.threads") {
		t.Errorf("unified cgroup.threads on a hybrid host: %v", err)
	}
}

func TestV2SettingsEveryField(t *testing.T) {
	r := withDevNums(every())
	r.CPU.RealtimeRuntime, r.CPU.RealtimePeriod = nil, nil
	r.Network = nil
	ss, err := v2Settings(r)
	if err != nil {
		t.Fatal(err)
	}
	got := files(ss)
	for _, want := range []string{
		"memory.max=67108864", "memory.low=33554432", "memory.swap.max=33554432",
		"cpu.weight=59", "cpu.idle=0", "cpu.max=50000 100000", "cpu.max.burst=1000", "cpuset.cpus=0-1", "cpuset.mems=0",
		"pids.max=64",
		"io.bfq.weight=500", "io.bfq.weight=8:0 200",
		"io.max=8:0 rbps=1000", "io.max=8:0 wbps=2000", "io.max=8:0 riops=30", "io.max=8:0 wiops=40",
		"hugetlb.2MB.max=8388608", "hugetlb.2MB.rsvd.max=8388608",
		"rdma.max=mlx4_0 hca_handle=2 hca_object=2000", "rdma.max=mlx5_1 hca_handle=3 hca_object=max",
		"cgroup.max.descendants=7",
	} {
		if !has(got, want) {
			t.Errorf("no %s in\n%s", want, strings.Join(got, "\n"))
		}
	}
	if last := got[len(got)-1]; last != "cgroup.max.descendants=7" {
		t.Errorf("the unified map must come last (it overrides): last is %s", last)
	}
	for _, s := range ss {
		if strings.HasPrefix(s.file, "devices.") || strings.Contains(s.file, "kmem") || s.file == "memory.swappiness" {
			t.Errorf("v1-only file on v2: %s", s)
		}
		if s.file == "io.bfq.weight" && (s.alt != "io.weight" || (s.altValue != "4950" && s.altValue != "8:0 1920")) {
			t.Errorf("io weight fallback: %+v", s)
		}
	}
}

func TestV2SettingsConversions(t *testing.T) {
	for _, c := range []struct {
		name string
		r    rspec.LinuxResources
		want []string
	}{
		// The library writes "-1" where the kernel wants "max", and drops
		// a quota without a period.
		{"unlimited memory", rspec.LinuxResources{Memory: &rspec.LinuxMemory{Limit: i64(-1), Swap: i64(-1), Reservation: i64(-1)}},
			[]string{"memory.max=max", "memory.swap.max=max", "memory.low=max"}},
		{"swap -1 with a limit", rspec.LinuxResources{Memory: &rspec.LinuxMemory{Limit: i64(100), Swap: i64(-1)}},
			[]string{"memory.max=100", "memory.swap.max=max"}},
		{"swap equal to the limit is no swap", rspec.LinuxResources{Memory: &rspec.LinuxMemory{Limit: i64(100), Swap: i64(100)}},
			[]string{"memory.swap.max=0"}},
		{"pids -1", rspec.LinuxResources{Pids: &rspec.LinuxPids{Limit: i64(-1)}}, []string{"pids.max=max"}},
		{"quota without period", rspec.LinuxResources{CPU: &rspec.LinuxCPU{Quota: i64(20000)}}, []string{"cpu.max=20000 100000"}},
		{"quota -1", rspec.LinuxResources{CPU: &rspec.LinuxCPU{Quota: i64(-1), Period: u64(50000)}}, []string{"cpu.max=max 50000"}},
		{"period alone", rspec.LinuxResources{CPU: &rspec.LinuxCPU{Period: u64(50000)}}, []string{"cpu.max=max 50000"}},
		{"shares bounds", rspec.LinuxResources{CPU: &rspec.LinuxCPU{Shares: u64(2)}}, []string{"cpu.weight=1"}},
		{"shares max", rspec.LinuxResources{CPU: &rspec.LinuxCPU{Shares: u64(262144)}}, []string{"cpu.weight=10000"}},
		{"shares default", rspec.LinuxResources{CPU: &rspec.LinuxCPU{Shares: u64(1024)}}, []string{"cpu.weight=100"}},
		{"shares 4096", rspec.LinuxResources{CPU: &rspec.LinuxCPU{Shares: u64(4096)}}, []string{"cpu.weight=303"}},
		{"ignored v1-only fields", rspec.LinuxResources{Memory: &rspec.LinuxMemory{Kernel: i64(1), KernelTCP: i64(1), Swappiness: u64(10),
			UseHierarchy: bptr(true), DisableOOMKiller: bptr(false)}, BlockIO: &rspec.LinuxBlockIO{LeafWeight: u16(100)}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			ss, err := v2Settings(&c.r)
			if err != nil {
				t.Fatal(err)
			}
			got := files(ss)
			if c.want == nil && len(got) != 0 {
				t.Errorf("got %q, want nothing", got)
			}
			for _, w := range c.want {
				if !has(got, w) {
					t.Errorf("no %s in %q", w, got)
				}
			}
		})
	}
}

func TestV2SettingsErrors(t *testing.T) {
	for _, c := range []struct {
		name, field string
		r           rspec.LinuxResources
	}{
		{"realtime", "linux.resources.cpu.realtimeRuntime", rspec.LinuxResources{CPU: &rspec.LinuxCPU{RealtimeRuntime: i64(1000)}}},
		{"network", "linux.resources.network", rspec.LinuxResources{Network: &rspec.LinuxNetwork{ClassID: u32(1)}}},
		{"OOM killer off", "linux.resources.memory.disableOOMKiller", rspec.LinuxResources{Memory: &rspec.LinuxMemory{DisableOOMKiller: bptr(true)}}},
		{"flat accounting", "linux.resources.memory.useHierarchy", rspec.LinuxResources{Memory: &rspec.LinuxMemory{UseHierarchy: bptr(false)}}},
		{"swap without limit", "linux.resources.memory.swap", rspec.LinuxResources{Memory: &rspec.LinuxMemory{Swap: i64(100)}}},
		{"swap below limit", "linux.resources.memory.swap", rspec.LinuxResources{Memory: &rspec.LinuxMemory{Limit: i64(200), Swap: i64(100)}}},
		{"idle with shares", "linux.resources.cpu.shares", rspec.LinuxResources{CPU: &rspec.LinuxCPU{Idle: i64(1), Shares: u64(512)}}},
		{"unified moves processes", "linux.resources.unified.cgroup.procs", rspec.LinuxResources{Unified: map[string]string{"cgroup.procs": "1"}}},
		{"unified kills", "linux.resources.unified.cgroup.kill", rspec.LinuxResources{Unified: map[string]string{"cgroup.kill": "1"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := v2Settings(&c.r)
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Errorf("error %v, want one naming %s", err, c.field)
			}
		})
	}
}

func TestUnifiedController(t *testing.T) {
	for file, want := range map[string]string{"memory.high": "memory", "cgroup.max.depth": "", "hugetlb.2MB.max": "hugetlb", "io.max": "io"} {
		if got := unifiedController(file); got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
}

// fakeDir makes a directory holding the given control files, empty.
func fakeDir(t *testing.T, dir string, names ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestApplySettings(t *testing.T) {
	dir := t.TempDir()
	fakeDir(t, dir, "memory.max", "io.weight")
	at := func(setting) (string, error) { return dir, nil }
	err := applySettings([]setting{
		{file: "memory.max", value: "100", field: "linux.resources.memory.limit"},
		{file: "io.bfq.weight", alt: "io.weight", value: "500", altValue: "5000"},
		{file: "memory.kmem.limit_in_bytes", value: "5", optional: true},
	}, at)
	if err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{"memory.max": "100", "io.weight": "5000"} {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); string(b) != want {
			t.Errorf("%s: %q, want %q", f, b, want)
		}
	}
	// A missing file is an error naming the field and the file.
	err = applySettings([]setting{{file: "cpu.max.burst", value: "1", field: "linux.resources.cpu.burst"}}, at)
	if err == nil || !strings.Contains(err.Error(), "linux.resources.cpu.burst") || !strings.Contains(err.Error(), "cpu.max.burst") ||
		errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	// A missing controller too.
	err = applySettings([]setting{{ctrl: "net_cls", file: "net_cls.classid", value: "1", field: "linux.resources.network.classID"}},
		func(setting) (string, error) { return "", errNoController })
	if err == nil || !strings.Contains(err.Error(), "linux.resources.network.classID") || !strings.Contains(err.Error(), "net_cls") {
		t.Errorf("missing controller: %v", err)
	}
	// A vanished cgroup is reported as such (New retries on it).
	err = applySettings([]setting{{file: "memory.max", value: "1"}}, func(setting) (string, error) { return filepath.Join(dir, "gone"), nil })
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("vanished cgroup: %v", err)
	}
}

// TestApplySettingsRetriesRejected: a write the kernel rejects (EINVAL) is
// retried after the others, which may have made it valid.
func TestApplySettingsRetriesRejected(t *testing.T) {
	dir := t.TempDir()
	fakeDir(t, dir, "memory.limit_in_bytes", "memory.memsw.limit_in_bytes")
	var order []string
	tries := 0
	prev := writeFileHook
	t.Cleanup(func() { writeFileHook = prev })
	writeFileHook = func(path, value string) error {
		order = append(order, filepath.Base(path))
		if filepath.Base(path) == "memory.limit_in_bytes" && tries == 0 {
			tries++
			return &os.PathError{Op: "write", Path: path, Err: syscall.EINVAL}
		}
		return nil
	}
	err := applySettings([]setting{
		{file: "memory.limit_in_bytes", value: "200"},
		{file: "memory.memsw.limit_in_bytes", value: "300"},
	}, func(setting) (string, error) { return dir, nil })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(order, ",") != "memory.limit_in_bytes,memory.memsw.limit_in_bytes,memory.limit_in_bytes" {
		t.Errorf("write order %q", order)
	}
}

func TestNormalizeDevice(t *testing.T) {
	d := normalizeDevice(rspec.LinuxDeviceCgroup{Allow: false})
	if d.Type != "a" || *d.Major != -1 || *d.Minor != -1 || d.Access != "rwm" {
		t.Errorf("normalised deny-all: %+v", d)
	}
}

func TestDeviceRules(t *testing.T) {
	// No rules: deny everything but the default devices.
	r := v2DeviceRules(nil)
	if len(r) != 1+len(defaultDevices) || !isDenyAll(r[0]) {
		t.Errorf("no rules: %+v", r)
	}
	// Allow rules only: still an allowlist.
	r = v2DeviceRules([]rspec.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "rw"}})
	if len(r) != 2+len(defaultDevices) || !isDenyAll(r[0]) || !r[1].Allow {
		t.Errorf("allow rules only: %+v", r)
	}
	// A config starting with its own deny-all (with the type left empty,
	// as runc spec writes it) gets no second one, and it is normalised.
	r = v2DeviceRules([]rspec.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "rw"}})
	if len(r) != 2+len(defaultDevices) || !isDenyAll(r[0]) || r[1].Type != "c" {
		t.Errorf("deny-all first: %+v", r)
	}
	// The library's filter takes the list (it rejects an empty type).
	if _, _, err := cgroup2.DeviceFilter(r); err != nil {
		t.Errorf("DeviceFilter: %v", err)
	}
	ss := v1DeviceSettings(nil)
	if ss[0].file != "devices.deny" || ss[0].value != "a *:* rwm" || !strings.Contains(ss[0].field, "linux.resources.devices") {
		t.Errorf("v1 without rules: %+v", ss[0])
	}
}
