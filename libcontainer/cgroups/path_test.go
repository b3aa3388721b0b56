package cgroups

import (
	"path"
	"strings"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

func TestResolvePath(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"", "/gorun/ID", ""},
		{"web", "/gorun/web", ""},
		{"team/web/", "/gorun/team/web", ""},
		{"/custom/web", "/custom/web", ""},
		{"/custom//web/./x", "/custom/web/x", ""},
		{"/a/../b", "", "linux.cgroupsPath"},
		{"a/..", "", "linux.cgroupsPath"},
		{"..", "", "linux.cgroupsPath"},
		{"/", "", "root cgroup"},
		{"system.slice:gorun:web", "", "--systemd-cgroup"},
	} {
		got, err := ResolvePath(c.in, "ID")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ResolvePath(%q): %q, %v; want an error naming %s", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ResolvePath(%q): %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestParseSystemdPath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "/system.slice/gorun-ID.scope"},
		{"system.slice:docker:abc", "/system.slice/docker-abc.scope"},
		{":cri-containerd:abc", "/system.slice/cri-containerd-abc.scope"},
		{"kubepods-burstable-pod12.slice:cri-containerd:abc",
			"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice/cri-containerd-abc.scope"},
		{"machine.slice::web", "/machine.slice/web.scope"},
		{"-.slice:gorun:web", "/gorun-web.scope"},
	} {
		u, err := ParseSystemdPath(c.in, "ID")
		if got := u.Path; err != nil || got != c.want || path.Base(got) != u.Unit {
			t.Errorf("ParseSystemdPath(%q): %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{
		"system.slice:gorun", "a:b:c:d", "/abs/path", "system.slice:gorun:", "system:gorun:web", "a--b.slice:x:y",
		"-a.slice:x:y", "a-.slice:x:y", "system.slice:gorun:..", "system.slice:go/run:web", "../x.slice:a:b", ".slice:a:b",
		"system.slice:gorun:sub.slice", "system.slice:go\nrun:web",
	} {
		if got, err := ParseSystemdPath(in, "ID"); err == nil || !strings.Contains(err.Error(), "linux.cgroupsPath") {
			t.Errorf("ParseSystemdPath(%q): %q, %v; want an error naming linux.cgroupsPath", in, got, err)
		}
	}
}

func TestMerge(t *testing.T) {
	cur := &rspec.LinuxResources{
		Devices: []rspec.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
		Memory:  &rspec.LinuxMemory{Limit: i64(100), Swap: i64(200), Swappiness: u64(10)},
		CPU:     &rspec.LinuxCPU{Shares: u64(512), Cpus: "0"},
		Pids:    &rspec.LinuxPids{Limit: i64(10)},
		Unified: map[string]string{"a.b": "1", "c.d": "2"},
	}
	upd := &rspec.LinuxResources{
		Devices: []rspec.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}},
		Memory:  &rspec.LinuxMemory{Limit: i64(300)},
		CPU:     &rspec.LinuxCPU{Quota: i64(5000), Burst: u64(100), Idle: i64(1)},
		Unified: map[string]string{"c.d": "3"},
	}
	m := Merge(cur, upd)
	if *m.Memory.Limit != 300 || *m.Memory.Swap != 200 || *m.Memory.Swappiness != 10 {
		t.Errorf("memory: %+v", m.Memory)
	}
	if *m.CPU.Shares != 512 || m.CPU.Cpus != "0" || *m.CPU.Quota != 5000 || *m.CPU.Burst != 100 || *m.CPU.Idle != 1 {
		t.Errorf("cpu: %+v", m.CPU)
	}
	if *m.Pids.Limit != 10 || m.Unified["a.b"] != "1" || m.Unified["c.d"] != "3" {
		t.Errorf("pids %+v unified %v", m.Pids, m.Unified)
	}
	if len(m.Devices) != 1 || m.Devices[0].Allow {
		t.Errorf("devices changed by an update: %+v", m.Devices)
	}
	if *cur.Memory.Limit != 100 || cur.CPU.Quota != nil || cur.Unified["c.d"] != "2" {
		t.Errorf("Merge changed its input: %+v %+v %v", cur.Memory, cur.CPU, cur.Unified)
	}
}

// TestV1UnifiedWithoutCgroup2: cgroup v2 files on a legacy host (no cgroup2
// hierarchy) are an error naming the field.
func TestV1UnifiedWithoutCgroup2(t *testing.T) {
	m := &v1{dirs: map[string]string{"memory": "/x"}}
	_, err := m.dirOf(setting{v2: true, file: "memory.high", field: "linux.resources.unified.memory.high"})
	if err == nil || !strings.Contains(err.Error(), "linux.resources.unified.memory.high") || !strings.Contains(err.Error(), "cgroup2") {
		t.Errorf("unified on a legacy host: %v", err)
	}
	if _, err := m.dirOf(setting{ctrl: "rdma"}); err != errNoController {
		t.Errorf("missing controller: %v", err)
	}
}

func TestMissingAncestor(t *testing.T) {
	root := t.TempDir()
	fakeDir(t, root+"/a/b")
	for p, want := range map[string]string{"/a/b/c": "", "/a/b/c/d": "/a/b/c", "/x/y/z": "/x", "/top": "", "/a/x/y/z": "/a/x"} {
		if got := missingAncestor(root, p); got != want {
			t.Errorf("missingAncestor(%q): %q, want %q", p, got, want)
		}
	}
}
