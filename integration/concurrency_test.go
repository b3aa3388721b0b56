package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorun/gorun/tests/bundle"
)

type result struct {
	stdout, stderr string
	exit           int
}

// parallel runs n gorun invocations at once (args(i) for the i-th) and
// returns their results.
func parallel(t *testing.T, root string, n int, args func(i int) []string) []result {
	t.Helper()
	res := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := &res[i]
			r.stdout, r.stderr, r.exit = gorun(t, root, args(i)...)
		}()
	}
	close(start)
	wg.Wait()
	return res
}

func TestParallelCreate(t *testing.T) {
	root := setup(t)
	const n = 20
	b := bundle.New(t, "sleep", "100")
	ids := make([]string, n)
	for i := range ids {
		ids[i] = containerID(t, fmt.Sprint(i))
		mustDelete(t, root, ids[i])
	}
	res := parallel(t, root, n, func(i int) []string {
		return []string{"create", "--bundle", b.Dir, ids[i]}
	})
	for i, r := range res {
		if r.exit != 0 {
			t.Errorf("create %s: exit %d\nstderr: %s", ids[i], r.exit, r.stderr)
		}
	}

	var states []containerState
	out := mustGorun(t, root, "list", "--format", "json")
	if err := json.Unmarshal([]byte(out), &states); err != nil {
		t.Fatalf("list --format json: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	pids := map[int]bool{}
	for _, s := range states {
		if s.Status != "created" || s.Pid <= 0 || !pidAlive(s.Pid) {
			t.Errorf("list: %s status %q pid %d", s.ID, s.Status, s.Pid)
		}
		seen[s.ID] = true
		pids[s.Pid] = true
	}
	if len(states) != n || len(seen) != n || len(pids) != n {
		t.Errorf("list shows %d containers (%d ids, %d pids), want %d", len(states), len(seen), len(pids), n)
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("list lacks %s", id)
		}
	}

	res = parallel(t, root, n, func(i int) []string { return []string{"delete", ids[i]} })
	for i, r := range res {
		if r.exit != 0 {
			t.Errorf("delete %s: exit %d\nstderr: %s", ids[i], r.exit, r.stderr)
		}
	}
	if left := lines(mustGorun(t, root, "list", "-q")); len(left) != 0 {
		t.Errorf("after deleting all, list shows %v", left)
	}
	for _, m := range allCgroupMounts(t) {
		if _, err := os.Stat(filepath.Join(m, "gorun", ids[0])); err == nil {
			t.Errorf("cgroup %s left", filepath.Join(m, "gorun", ids[0]))
		}
	}
}

func TestParallelStart(t *testing.T) {
	root := setup(t)
	const n = 10
	id := containerID(t)
	c := create(t, root, sh(t, "echo started; exec sleep 100"), id)
	res := parallel(t, root, n, func(int) []string { return []string{"start", id} })
	ok := 0
	for _, r := range res {
		switch r.exit {
		case 0:
			ok++
		case 1:
			if errorLine(t, r.stderr) == "" {
				t.Error("a failed start said nothing")
			}
		default:
			t.Errorf("start: exit %d\nstderr: %s", r.exit, r.stderr)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d parallel starts succeeded, want exactly 1", ok, n)
	}
	if !c.waitOutput("started\n", 5*time.Second) {
		t.Error("the process never ran")
	}
	time.Sleep(100 * time.Millisecond)
	if out, _ := c.output(); strings.Count(out, "started") != 1 {
		t.Errorf("container output %q, want one start", out)
	}
	if st := state(t, root, id); st.Status != "running" {
		t.Errorf("status %q after start", st.Status)
	}
	mustGorun(t, root, "delete", "--force", id)
}
