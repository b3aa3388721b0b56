package cgroups

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	cg "github.com/containerd/cgroups/v3"
)

// TestRemoveCgroupDir removes a real cgroup with child cgroups, and refuses
// (leaving it) one that still holds a process.
func TestRemoveCgroupDir(t *testing.T) {
	base := "/sys/fs/cgroup/pids"
	if os.Geteuid() != 0 {
		t.Skip("needs root to make cgroups")
	}
	if _, err := os.Stat(filepath.Join(base, "cgroup.procs")); err != nil {
		t.Skipf("no cgroup v1 pids hierarchy at %s on this host: %v", base, err)
	}
	top := filepath.Join(base, "gorun-unit-"+strconv.Itoa(os.Getpid()))
	t.Cleanup(func() { removeCgroupDir(top) })
	if err := os.MkdirAll(filepath.Join(top, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(top, "c"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := removeCgroupDir(top); err != nil {
		t.Fatalf("removeCgroupDir with child cgroups: %v", err)
	}
	if _, err := os.Stat(top); !os.IsNotExist(err) {
		t.Fatalf("%s still there after removal: %v", top, err)
	}
	if err := removeCgroupDir(top); err != nil {
		t.Errorf("removing a cgroup that is gone: %v", err)
	}

	if err := os.MkdirAll(filepath.Join(top, "busy"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	if err := os.WriteFile(filepath.Join(top, "busy", "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	err := removeCgroupDir(top)
	if err == nil || !strings.Contains(err.Error(), "busy") {
		t.Errorf("removeCgroupDir with a process inside: got %v, want an error naming the busy cgroup", err)
	}
	if _, serr := os.Stat(filepath.Join(top, "busy")); serr != nil {
		t.Errorf("the busy cgroup was removed: %v", serr)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if err := removeCgroupDir(top); err != nil {
		t.Errorf("after the process exited: %v", err)
	}
}

// TestPlacement: a new cgroup's placement names one existing tasks file per
// v1 hierarchy (co-mounted controllers once) and, where there is one, its
// cgroup2 directory.
func TestPlacement(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make cgroups")
	}
	p := "/gorun-unit-placement-" + strconv.Itoa(os.Getpid())
	m, err := New(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Destroy()
		RemoveEmptyParents(p)
	})
	pl := m.Placement()
	h, err := detect()
	if err != nil {
		t.Fatal(err)
	}
	if h.unified != "" && pl.Dir != filepath.Join(h.unified, p) {
		t.Errorf("Dir = %q, want %q", pl.Dir, filepath.Join(h.unified, p))
	}
	if h.mode == cg.Unified {
		if len(pl.Tasks) != 0 {
			t.Errorf("unified host: Tasks = %v, want none", pl.Tasks)
		}
		return
	}
	if len(pl.Tasks) == 0 {
		t.Fatal("v1 host: no tasks files")
	}
	seen := map[string]bool{}
	for _, f := range pl.Tasks {
		if filepath.Base(f) != "tasks" || !strings.HasSuffix(filepath.Dir(f), p) {
			t.Errorf("%s: not the tasks file of cgroup %s", f, p)
		}
		real, err := filepath.EvalSymlinks(filepath.Dir(f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if seen[real] {
			t.Errorf("%s: hierarchy listed twice", f)
		}
		seen[real] = true
	}
}
