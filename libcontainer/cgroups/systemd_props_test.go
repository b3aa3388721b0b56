package cgroups

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// props renders properties as NAME=VALUE, in order.
func props(t *testing.T, r *rspec.LinuxResources, unified, devices bool) []string {
	t.Helper()
	ps, _ := systemdProperties(r, unified, devices)
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s=%v", p.Name, p.Value.Value()))
	}
	return out
}

func TestSystemdPropertiesV1(t *testing.T) {
	r := &rspec.LinuxResources{
		Memory:  &rspec.LinuxMemory{Limit: i64(64 << 20), Swap: i64(128 << 20)},
		CPU:     &rspec.LinuxCPU{Shares: u64(512), Quota: i64(50000), Period: u64(100000), Cpus: "0-1"},
		Pids:    &rspec.LinuxPids{Limit: i64(40)},
		BlockIO: &rspec.LinuxBlockIO{Weight: u16(300)},
	}
	got := props(t, r, false, false)
	want := []string{"MemoryLimit=67108864", "CPUShares=512", "CPUQuotaPeriodUSec=100000", "CPUQuotaPerSecUSec=500000", "TasksMax=40", "BlockIOWeight=300"}
	if !slices.Equal(got, want) {
		t.Errorf("v1 properties:\n got %v\nwant %v", got, want)
	}
	// No limit is systemd's infinity.
	got = props(t, &rspec.LinuxResources{Memory: &rspec.LinuxMemory{Limit: i64(-1)}, Pids: &rspec.LinuxPids{Limit: i64(-1)}}, false, false)
	inf := fmt.Sprint(uint64(math.MaxUint64))
	if !slices.Equal(got, []string{"MemoryLimit=" + inf, "TasksMax=" + inf}) {
		t.Errorf("unlimited: %v", got)
	}
	// A pids limit of 0, which systemd refuses, is left to gorun's write.
	if got := props(t, &rspec.LinuxResources{Pids: &rspec.LinuxPids{Limit: i64(0)}}, false, false); len(got) != 0 {
		t.Errorf("pids 0: %v", got)
	}
}

func TestSystemdPropertiesV2(t *testing.T) {
	r := &rspec.LinuxResources{
		Memory:  &rspec.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(96 << 20)},
		CPU:     &rspec.LinuxCPU{Shares: u64(1024), Cpus: "0-2,9", Mems: "0"},
		BlockIO: &rspec.LinuxBlockIO{Weight: u16(1000)},
	}
	got := props(t, r, true, false)
	want := []string{"MemoryMax=67108864", "MemoryLow=33554432", "MemorySwapMax=33554432", "CPUWeight=100",
		"AllowedCPUs=[7 2]", "AllowedMemoryNodes=[1]", "IOWeight=10000"}
	if !slices.Equal(got, want) {
		t.Errorf("v2 properties:\n got %v\nwant %v", got, want)
	}
}

func TestQuotaPerSec(t *testing.T) {
	for _, c := range []struct {
		quota  int64
		period uint64
		want   uint64
	}{
		{50000, 100000, 500000}, {12345, 100000, 130000}, {25000, 50000, 500000}, {100000, 0, 1000000}, {-1, 100000, math.MaxUint64},
	} {
		if got := quotaPerSec(c.quota, &c.period); got != c.want {
			t.Errorf("quotaPerSec(%d, %d) = %d, want %d", c.quota, c.period, got, c.want)
		}
	}
}

func TestSystemdDevicePolicy(t *testing.T) {
	devices := func(typ string, major int64) string {
		if typ == "c" && major == 136 {
			return "pts"
		}
		if typ == "c" && major == 4 {
			return "tty"
		}
		return ""
	}
	render := func(rules []rspec.LinuxDeviceCgroup) (string, []string) {
		es, warns := systemdDeviceAllow(rules, devices)
		var s []string
		for _, e := range es {
			s = append(s, e.Path+" "+e.Perms)
		}
		return strings.Join(s, ", "), warns
	}
	defaults := "char-* m, block-* m, /dev/char/1:3 rwm, /dev/char/1:5 rwm, /dev/char/1:7 rwm, /dev/char/1:8 rwm, /dev/char/1:9 rwm, " +
		"/dev/char/5:0 rwm, /dev/char/5:2 rwm, char-pts rwm, /dev/char/10:200 rwm"
	for _, c := range []struct {
		name  string
		rules []rspec.LinuxDeviceCgroup
		want  string
		warn  string
	}{
		{"default list", []rspec.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, defaults, ""},
		{"a block device", []rspec.LinuxDeviceCgroup{{Allow: true, Type: "b", Major: i64(8), Minor: i64(0), Access: "rw"}},
			"/dev/block/8:0 rw, " + defaults, ""},
		{"a major by name", []rspec.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: i64(4), Access: "rw"}},
			"char-tty rw, " + defaults, ""},
		{"a deny takes access away", []rspec.LinuxDeviceCgroup{
			{Allow: true, Type: "c", Major: i64(1), Minor: i64(1), Access: "rwm"},
			{Allow: false, Type: "c", Major: i64(1), Minor: i64(1), Access: "w"}}, "/dev/char/1:1 rm, " + defaults, ""},
		{"a deny inside a wider allow", []rspec.LinuxDeviceCgroup{
			{Allow: true, Type: "c", Major: i64(4), Access: "rwm"},
			{Allow: false, Type: "c", Major: i64(4), Minor: i64(1), Access: "rwm"}}, defaults, "denies part of an earlier rule"},
		{"a major without a name", []rspec.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: i64(250), Access: "rwm"}},
			defaults, "not in /proc/devices"},
		{"everything (privileged)", []rspec.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}},
			"char-* rwm, block-* rwm, " + defaults, ""},
	} {
		got, warns := render(c.rules)
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
		if w := strings.Join(warns, "; "); (c.warn == "") != (w == "") || !strings.Contains(w, c.warn) {
			t.Errorf("%s: warnings %q, want one containing %q", c.name, w, c.warn)
		}
	}
	// The update path leaves the device rules alone.
	for _, p := range props(t, &rspec.LinuxResources{Devices: []rspec.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}}, false, false) {
		t.Errorf("update with device rules set %s", p)
	}
	if got := props(t, nil, false, true); len(got) != 2 || got[0] != "DevicePolicy=strict" {
		t.Errorf("create without resources: %v", got)
	}
}

func TestMajorFromDevices(t *testing.T) {
	devs := []byte("Character devices:\n  1 mem\n  4 /dev/vc/0\n  4 tty\n136 pts\n\nBlock devices:\n  8 sd\n254 virtblk\n")
	for _, c := range []struct {
		typ   string
		major int64
		want  string
	}{{"c", 1, "mem"}, {"c", 136, "pts"}, {"b", 8, "sd"}, {"b", 1, ""}, {"c", 8, ""}, {"b", 254, "virtblk"}, {"c", 4, "tty"}} {
		if got := majorFromDevices(devs, c.typ, c.major); got != c.want {
			t.Errorf("%s %d: %q, want %q", c.typ, c.major, got, c.want)
		}
	}
}

func TestSupportedProperties(t *testing.T) {
	ps, _ := systemdProperties(&rspec.LinuxResources{CPU: &rspec.LinuxCPU{Quota: i64(50000), Period: u64(100000), Cpus: "0"}}, true, false)
	names := func(v int) ([]string, []string) {
		kept, dropped := supported(ps, v)
		var k []string
		for _, p := range kept {
			k = append(k, p.Name)
		}
		return k, dropped
	}
	if k, d := names(239); !slices.Equal(k, []string{"CPUQuotaPerSecUSec"}) || !slices.Equal(d, []string{"CPUQuotaPeriodUSec", "AllowedCPUs"}) {
		t.Errorf("systemd 239: kept %v, dropped %v", k, d)
	}
	if k, d := names(243); !slices.Equal(k, []string{"CPUQuotaPeriodUSec", "CPUQuotaPerSecUSec"}) || len(d) != 1 {
		t.Errorf("systemd 243: kept %v, dropped %v", k, d)
	}
	for _, v := range []int{0, 252} {
		if k, d := names(v); len(k) != 3 || len(d) != 0 {
			t.Errorf("systemd %d: kept %v, dropped %v", v, k, d)
		}
	}
	if leadingInt("252.38-1~deb12u1") != 252 || leadingInt("") != 0 {
		t.Error("leadingInt")
	}
}

func TestAnnotationProperties(t *testing.T) {
	ps, err := annotationProperties(map[string]string{
		"org.systemd.property.TimeoutStopUSec": "uint64 5000000",
		"org.systemd.property.CollectMode":     "'inactive-or-failed'",
		"io.kubernetes.pod.name":               "x",
	})
	if err != nil || len(ps) != 2 || ps[0].Name != "CollectMode" || ps[1].Name != "TimeoutStopUSec" || ps[1].Value.Value() != uint64(5000000) {
		t.Errorf("annotationProperties: %v, %v", ps, err)
	}
	for _, bad := range []map[string]string{
		{"org.systemd.property.TimeoutStopUSec": "'unterminated"},
		{"org.systemd.property.": "uint64 1"},
	} {
		if _, err := annotationProperties(bad); err == nil || !strings.Contains(err.Error(), "annotations.org.systemd.property.") {
			t.Errorf("annotationProperties(%v): %v, want an error naming the annotation", bad, err)
		}
	}
}

func TestUnifiedProperties(t *testing.T) {
	r := &rspec.LinuxResources{Unified: map[string]string{
		"memory.high": "100000000", "memory.max": "max", "pids.max": "20", "cpu.max": "50000 50000",
		"cpu.weight": "200", "cpuset.cpus": "1", "io.weight": "default 300", "memory.oom.group": "1", "cpu.idle": "1",
	}}
	inf := fmt.Sprint(uint64(math.MaxUint64))
	want := []string{"CPUQuotaPeriodUSec=50000", "CPUQuotaPerSecUSec=1000000", "CPUWeight=200", "AllowedCPUs=[2]",
		"IOWeight=300", "MemoryHigh=100000000", "MemoryMax=" + inf, "TasksMax=20"}
	if got := props(t, r, true, false); !slices.Equal(got, want) {
		t.Errorf("unified keys:\n got %v\nwant %v", got, want)
	}
	// On v1 systemd has no such properties.
	if got := props(t, r, false, false); len(got) != 0 {
		t.Errorf("unified keys on v1: %v", got)
	}
}
