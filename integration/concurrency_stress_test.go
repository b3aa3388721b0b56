package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorun/gorun/tests/bundle"
)

// validStatus is every status gorun may report.
var validStatus = map[string]bool{"creating": true, "created": true, "running": true, "stopped": true, "paused": true}

// ccResult is one gorun invocation of a concurrency test.
type ccResult struct {
	args           []string
	stdout, stderr string
	exit           int
}

// checkOneLineFailure reports a result that is neither a success nor a
// failure with exit 1 and exactly one line on stderr.
func checkOneLineFailure(t *testing.T, r ccResult) {
	t.Helper()
	switch {
	case r.exit == 0:
	case r.exit != 1:
		t.Errorf("gorun %s: exit %d, want 0 or 1\nstderr: %s", strings.Join(r.args, " "), r.exit, r.stderr)
	case r.stderr == "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n"):
		t.Errorf("gorun %s failed without exactly one error line:\n%s", strings.Join(r.args, " "), r.stderr)
	}
}

// TestConcurrencyMixedOneID: 20 gorun invocations at once on one container
// (start, kill, delete, state, 5 of each), several rounds. Each exits 0 or
// 1 with one error line; the process is started at most once; every state
// printed is whole; and what is left is either nothing or a container
// whose state reads fine.
func TestConcurrencyMixedOneID(t *testing.T) {
	root := setup(t)
	b := sh(t, "echo started; exec sleep 100")
	ops := [][]string{{"start"}, {"kill", "", "KILL"}, {"delete"}, {"state"}}
	for round := range 3 {
		t.Run(fmt.Sprint("round", round), func(t *testing.T) {
			id := containerID(t)
			c := create(t, root, b, id)
			res := make([]ccResult, 20)
			var wg sync.WaitGroup
			begin := make(chan struct{})
			for i := range res {
				args := append([]string(nil), ops[i%len(ops)]...)
				if len(args) > 1 {
					args[1] = id
				} else {
					args = append(args, id)
				}
				res[i].args = args
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-begin
					res[i].stdout, res[i].stderr, res[i].exit = gorun(t, root, args...)
				}()
			}
			close(begin)
			wg.Wait()

			starts := 0
			ok := map[string]int{}
			for _, r := range res {
				checkOneLineFailure(t, r)
				if r.exit != 0 {
					continue
				}
				ok[r.args[0]]++
				switch r.args[0] {
				case "start":
					starts++
				case "state":
					var s containerState
					if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || s.ID != id || !validStatus[s.Status] {
						t.Errorf("state during the storm: %v: %q", err, r.stdout)
					}
				}
			}
			t.Logf("succeeded (of 5 each): %v", ok)
			if starts > 1 {
				t.Errorf("%d starts succeeded, want at most 1", starts)
			}
			// The first delete removes the container: the others, waiting
			// for its lock meanwhile, must find it gone.
			if ok["delete"] > 1 {
				t.Errorf("%d deletes of one container succeeded, want at most 1", ok["delete"])
			}
			time.Sleep(100 * time.Millisecond)
			if out, _ := c.output(); strings.Count(out, "started") > 1 {
				t.Errorf("the process ran %d times: %q", strings.Count(out, "started"), out)
			}
			// What is left reads fine, and goes with delete --force.
			if out, errOut, code := gorun(t, root, "state", id); code == 0 {
				var s containerState
				if err := json.Unmarshal([]byte(out), &s); err != nil || !validStatus[s.Status] {
					t.Errorf("state after the storm: %v: %q", err, out)
				}
				mustGorun(t, root, "delete", "--force", id)
			} else if !strings.Contains(errOut, "does not exist") {
				t.Errorf("state after the storm: exit %d: %s", code, errOut)
			}
		})
	}
}

// TestConcurrencyLifecycles: 50 full lifecycles (create, start, state,
// kill, delete) at once on distinct ids all succeed.
func TestConcurrencyLifecycles(t *testing.T) {
	root := setup(t)
	const n = 50
	b := bundle.New(t, "sleep", "100")
	ids := make([]string, n)
	for i := range ids {
		ids[i] = containerID(t, fmt.Sprint(i))
		mustDelete(t, root, ids[i])
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := lifecycle(t, root, b.Dir, ids[i], true); err != nil {
				failed.Add(1)
				t.Errorf("%s: %v", ids[i], err)
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		t.Errorf("%d of %d parallel lifecycles failed", f, n)
	}
	if left := lines(mustGorun(t, root, "list", "-q")); len(left) > 0 {
		t.Errorf("after the lifecycles, list shows %v", left)
	}
}

// lifecycle takes one container through create, start, state, kill and
// delete; with kill false the process (which must exit by itself) is waited
// for instead. It returns the first failure. It may run on any goroutine.
func lifecycle(t testing.TB, root, bundleDir, id string, kill bool) error {
	step := func(args ...string) (string, error) {
		out, errOut, code := gorun(t, root, args...)
		if code != 0 {
			return out, fmt.Errorf("gorun %s: exit %d: %s", strings.Join(args, " "), code, strings.TrimSpace(errOut))
		}
		return out, nil
	}
	status := func() (string, error) {
		out, err := step("state", id)
		if err != nil {
			return "", err
		}
		var s containerState
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			return "", fmt.Errorf("state: %v: %q", err, out)
		}
		return s.Status, nil
	}
	if _, err := step("create", "--bundle", bundleDir, id); err != nil {
		return err
	}
	if _, err := step("start", id); err != nil {
		return err
	}
	if kill {
		if st, err := status(); err != nil {
			return err
		} else if st != "running" {
			return fmt.Errorf("after start: status %q", st)
		}
		if _, err := step("kill", id, "KILL"); err != nil {
			return err
		}
	}
	var st string
	var err error
	if !poll(10*time.Second, func() bool { st, err = status(); return err != nil || st == "stopped" }) {
		return fmt.Errorf("status %q 10 s after the process should have ended", st)
	}
	if err != nil {
		return err
	}
	_, err = step("delete", id)
	return err
}

// TestConcurrencyListDuringChurn: while 4 workers create, start, kill and
// delete containers, `gorun list` never fails and never shows a container
// half written.
func TestConcurrencyListDuringChurn(t *testing.T) {
	root := setup(t)
	b := bundle.New(t, "sleep", "100")
	const workers, perWorker = 4, 8
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				id := containerID(t, fmt.Sprint(w), fmt.Sprint(i))
				if err := lifecycle(t, root, b.Dir, id, true); err != nil {
					t.Errorf("churn %s: %v", id, err)
					gorun(t, root, "delete", "--force", id)
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	lists, seen := 0, 0
	for churning := true; churning; {
		select {
		case <-done:
			churning = false
		default:
		}
		out, errOut, code := gorun(t, root, "list", "--format", "json")
		lists++
		if code != 0 {
			t.Errorf("list during churn: exit %d: %s", code, errOut)
			continue
		}
		var states []containerState
		if err := json.Unmarshal([]byte(out), &states); err != nil {
			t.Errorf("list during churn: %v: %q", err, out)
			continue
		}
		for _, s := range states {
			seen++
			switch {
			case s.ID == "" || !validStatus[s.Status] || s.Bundle != b.Dir || s.Created.IsZero() || s.OCIVersion == "":
				t.Errorf("list during churn shows a half-written container: %+v", s)
			case (s.Status == "created" || s.Status == "running") && s.Pid <= 0:
				t.Errorf("list during churn: %s is %s without a pid", s.ID, s.Status)
			}
		}
	}
	t.Logf("%d lists during churn showed %d containers in all", lists, seen)
	if lists < 5 || seen == 0 {
		t.Errorf("only %d lists, showing %d containers: the churn was not observed", lists, seen)
	}
	if left := lines(mustGorun(t, root, "list", "-q")); len(left) > 0 {
		t.Errorf("after the churn, list shows %v", left)
	}
}
