package integration

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorun/gorun/tests/bundle"
)

// soakCounts is what must not grow over a soak: open fds of this process,
// mounts of the host's mount namespace, cgroup directories of every
// hierarchy.
type soakCounts struct {
	fds, mounts, cgroups int
}

func (c soakCounts) String() string {
	return fmt.Sprintf("fds %d, mounts %d, cgroups %d", c.fds, c.mounts, c.cgroups)
}

func countSoak(t *testing.T) soakCounts {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	mounts := len(lines(readFile(t, "/proc/self/mountinfo")))
	cgroups := 0
	for _, m := range allCgroupMounts(t) {
		filepath.WalkDir(m, func(_ string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				cgroups++
			}
			return nil
		})
	}
	// One fd is ReadDir's own.
	return soakCounts{fds: len(fds) - 1, mounts: mounts, cgroups: cgroups}
}

// memAvailable returns the host's MemAvailable in kB.
func memAvailable(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatal("no MemAvailable in /proc/meminfo")
	return 0
}

// TestSoak runs $GORUN_SOAK (default 200) container lifecycles one after
// another: a foreground `run`, create/start of a process that exits by
// itself, and create/start/kill, in turn, each ending with delete. It
// fails if the test process's fds, the host's mounts or cgroup directories
// grew, and reports the host's MemAvailable before and after. `make soak`
// runs 2,000.
func TestSoak(t *testing.T) {
	root := setup(t)
	n := 200
	if s := os.Getenv("GORUN_SOAK"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("GORUN_SOAK=%q: want a positive count of lifecycles", s)
		}
		n = v
	}
	sleeper := bundle.New(t, "sleep", "100")
	quick := bundle.New(t, "true")
	one := func(i int) error {
		id := containerID(t, strconv.Itoa(i))
		switch i % 3 {
		case 0:
			out, errOut, code := gorun(t, root, "run", "--bundle", quick.Dir, id)
			if code != 0 {
				return fmt.Errorf("run: exit %d: %s%s", code, out, errOut)
			}
			return nil
		case 1:
			return lifecycle(t, root, quick.Dir, id, false)
		default:
			return lifecycle(t, root, sleeper.Dir, id, true)
		}
	}
	// Warm up (first use of a cgroup parent, of the Go runtime's poller,
	// ...) before the counts are taken.
	for i := range 3 {
		if err := one(-1 - i); err != nil {
			t.Fatalf("warm-up: %v", err)
		}
	}
	before, memBefore := countSoak(t), memAvailable(t)
	start := time.Now()
	failures := 0
	for i := range n {
		if err := one(i); err != nil {
			failures++
			t.Errorf("lifecycle %d: %v", i, err)
			gorun(t, root, "delete", "--force", containerID(t, strconv.Itoa(i)))
			if failures >= 5 {
				t.Fatalf("%d lifecycles failed; stopping", failures)
			}
		}
	}
	elapsed := time.Since(start)
	// Processes and cgroups of the last container may take a moment to go.
	var after soakCounts
	poll(5*time.Second, func() bool {
		after = countSoak(t)
		return after.fds <= before.fds && after.mounts <= before.mounts && after.cgroups <= before.cgroups
	})
	memAfter := memAvailable(t)
	t.Logf("soak: %d lifecycles in %v (%v each)", n, elapsed.Round(time.Millisecond), (elapsed / time.Duration(n)).Round(100*time.Microsecond))
	t.Logf("soak: before: %v; after: %v", before, after)
	t.Logf("soak: host MemAvailable %d MB before, %d MB after (%+d MB)", memBefore/1024, memAfter/1024, (memAfter-memBefore)/1024)
	if after.fds > before.fds {
		t.Errorf("open fds of the test process grew from %d to %d", before.fds, after.fds)
	}
	if after.mounts > before.mounts {
		t.Errorf("mounts grew from %d to %d", before.mounts, after.mounts)
	}
	if after.cgroups > before.cgroups {
		t.Errorf("cgroup directories grew from %d to %d", before.cgroups, after.cgroups)
	}
	if left := lines(mustGorun(t, root, "list", "-q")); len(left) > 0 {
		t.Errorf("after the soak, list shows %v", left)
	}
}
