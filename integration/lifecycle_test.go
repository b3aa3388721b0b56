package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ---- gorun run ----

func TestRunEcho(t *testing.T) {
	root := setup(t)
	b := sh(t, "echo hello from the container")
	out, errOut, code := runContainer(t, root, b, containerID(t))
	if code != 0 || out != "hello from the container\n" || errOut != "" {
		t.Errorf("run: exit %d, stdout %q, stderr %q; want 0, %q, nothing", code, out, "hello from the container\n", errOut)
	}
	// A foreground run deletes its container.
	if _, err := os.Stat(filepath.Join(root, containerID(t))); !os.IsNotExist(err) {
		t.Errorf("state directory left after run: %v", err)
	}
}

func TestRunExitCode(t *testing.T) {
	root := setup(t)
	b := sh(t, "echo before; exit 7")
	out, errOut, code := runContainer(t, root, b, containerID(t))
	if code != 7 {
		t.Errorf("run: exit %d, want 7\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if out != "before\n" {
		t.Errorf("stdout %q", out)
	}
}

// TestRunDeathBySignal: the container's init dies of SIGKILL and gorun
// exits 128+9. The init of a pid namespace cannot be killed by a signal
// sent from inside its namespace (the kernel drops it), so this container
// has no pid namespace of its own: there `kill -9 $$` kills the init.
func TestRunDeathBySignal(t *testing.T) {
	root := setup(t)
	b := sh(t, "kill -9 $$; echo survived")
	dropNamespace(b.Spec, specs.PIDNamespace)
	writeBundle(t, b)
	out, errOut, code := runContainer(t, root, b, containerID(t))
	if code != 137 {
		t.Errorf("run: exit %d, want 137\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if strings.Contains(out, "survived") {
		t.Errorf("the shell survived kill -9: %q", out)
	}
}

// bgRun is a `gorun run` in the background whose stdout is read line by
// line.
type bgRun struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr string // path
	done   chan struct{}
	exit   int
}

func startBackgroundRun(t *testing.T, root string, dir, id string) *bgRun {
	t.Helper()
	mustDelete(t, root, id)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errPath := filepath.Join(t.TempDir(), "stderr")
	errF, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	r := &bgRun{
		cmd:    exec.Command(binary(t), "--root", root, "run", "--bundle", dir, id),
		lines:  make(chan string, 100),
		stderr: errPath,
		done:   make(chan struct{}),
	}
	r.cmd.Stdout = pw
	r.cmd.Stderr = errF
	err = r.cmd.Start()
	pw.Close()
	errF.Close()
	if err != nil {
		pr.Close()
		t.Fatal(err)
	}
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
	}()
	go func() {
		r.cmd.Wait()
		r.exit = exitStatus(r.cmd.ProcessState)
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill()
			<-r.done
		}
		// Drain, so that the reader closes its end of the pipe.
		for range r.lines {
		}
	})
	return r
}

// waitLine waits for a line equal to want on the container's stdout.
func (r *bgRun) waitLine(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("container stdout closed before %q; stderr: %s", want, readFile(t, r.stderr))
			}
			if l == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %q on the container's stdout within %v", want, timeout)
		}
	}
}

// wait waits for gorun to exit and returns its exit code.
func (r *bgRun) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
		return r.exit
	case <-time.After(timeout):
		t.Fatalf("gorun run did not exit within %v; stderr: %s", timeout, readFile(t, r.stderr))
		return -1
	}
}

func TestRunForwardsSignals(t *testing.T) {
	root := setup(t)
	b := sh(t, `trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.05; done`)
	r := startBackgroundRun(t, root, b.Dir, containerID(t))
	r.waitLine(t, "ready", 10*time.Second)
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t, 10*time.Second); code != 42 {
		t.Errorf("gorun run exited %d after SIGTERM, want 42 (the trap's); stderr: %s", code, readFile(t, r.stderr))
	}
}

// TestRunKilledFromOutside: `gorun kill ID KILL` on a foreground run's
// container makes the run exit 137.
func TestRunKilledFromOutside(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	b := sh(t, `echo ready; exec sleep 100`)
	r := startBackgroundRun(t, root, b.Dir, id)
	r.waitLine(t, "ready", 10*time.Second)
	mustGorun(t, root, "kill", id, "KILL")
	if code := r.wait(t, 10*time.Second); code != 137 {
		t.Errorf("gorun run exited %d after its init got SIGKILL, want 137; stderr: %s", code, readFile(t, r.stderr))
	}
}

// ---- create, start, kill, delete ----

func TestCreateStartKillDelete(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	shared := hostDir(t)
	b := sh(t, "echo started; touch /shared/ran; exec sleep 100")
	bindMount(b.Spec, shared, "/shared")
	writeBundle(t, b)

	c := create(t, root, b, id)
	st := state(t, root, id)
	if st.Status != "created" {
		t.Errorf("after create: status %q, want created", st.Status)
	}
	if st.Pid <= 0 {
		t.Fatalf("after create: pid %d", st.Pid)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(st.Pid)); err != nil {
		t.Errorf("after create: the init's /proc entry: %v", err)
	}
	if st.Bundle != b.Dir {
		t.Errorf("state bundle %q, want %q", st.Bundle, b.Dir)
	}
	if st.OCIVersion == "" || st.Created.IsZero() {
		t.Errorf("state lacks ociVersion or created: %+v", st)
	}
	// Give a process that ran too early the time to show it.
	time.Sleep(200 * time.Millisecond)
	if out, _ := c.output(); out != "" {
		t.Errorf("the process wrote %q before start", out)
	}
	if _, err := os.Stat(filepath.Join(shared, "ran")); err == nil {
		t.Error("the process ran before start: /shared/ran exists")
	}
	if st := state(t, root, id); st.Status != "created" {
		t.Errorf("200 ms after create: status %q, want created", st.Status)
	}

	mustGorun(t, root, "start", id)
	if !c.waitOutput("started\n", 5*time.Second) {
		out, errOut := c.output()
		t.Fatalf("no output after start: stdout %q, stderr %q", out, errOut)
	}
	if !poll(2*time.Second, func() bool { _, err := os.Stat(filepath.Join(shared, "ran")); return err == nil }) {
		t.Error("after start: /shared/ran never appeared on the host")
	}
	st2 := state(t, root, id)
	if st2.Status != "running" || st2.Pid != st.Pid {
		t.Errorf("after start: status %q pid %d, want running pid %d", st2.Status, st2.Pid, st.Pid)
	}

	mustGorun(t, root, "kill", id, "KILL")
	waitStatus(t, root, id, "stopped", 2*time.Second)

	mustGorun(t, root, "delete", id)
	if _, err := os.Lstat(filepath.Join(root, id)); !os.IsNotExist(err) {
		t.Errorf("after delete: state dir: %v", err)
	}
	out, errOut, code := gorun(t, root, "state", id)
	expectFailure(t, "state after delete", out, errOut, code, id)
	if pidAlive(st.Pid) {
		t.Errorf("after delete: init %d still alive", st.Pid)
	}
}

func TestStartTwice(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	create(t, root, sh(t, "exec sleep 100"), id)
	mustGorun(t, root, "start", id)
	out, errOut, code := gorun(t, root, "start", id)
	expectFailure(t, "second start", out, errOut, code, id, "running")
	if st := state(t, root, id); st.Status != "running" {
		t.Errorf("after a second start: status %q", st.Status)
	}
}

func TestDeleteRunning(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	create(t, root, sh(t, "exec sleep 100"), id)
	mustGorun(t, root, "start", id)
	pid := state(t, root, id).Pid

	out, errOut, code := gorun(t, root, "delete", id)
	expectFailure(t, "delete of a running container", out, errOut, code, id, "running")
	if st := state(t, root, id); st.Status != "running" || !pidAlive(pid) {
		t.Errorf("after a refused delete: status %q, init alive %v", st.Status, pidAlive(pid))
	}

	mustGorun(t, root, "delete", "--force", id)
	if _, err := os.Lstat(filepath.Join(root, id)); !os.IsNotExist(err) {
		t.Errorf("after delete --force: state dir: %v", err)
	}
	if !poll(2*time.Second, func() bool { return !pidAlive(pid) }) {
		t.Errorf("after delete --force: init %d still alive", pid)
	}
}

func TestKillStopped(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	create(t, root, sh(t, "true"), id)
	mustGorun(t, root, "start", id)
	waitStatus(t, root, id, "stopped", 2*time.Second)
	out, errOut, code := gorun(t, root, "kill", id, "KILL")
	expectFailure(t, "kill of a stopped container", out, errOut, code, id)
}

// TestKillSignalNames: the init traps only TERM, so it exits only if the
// signal sent really was SIGTERM.
func TestKillSignalNames(t *testing.T) {
	root := setup(t)
	b := sh(t, `trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done`)
	for _, sig := range []string{"TERM", "SIGTERM", "15", ""} {
		name := sig
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			id := containerID(t)
			c := create(t, root, b, id)
			mustGorun(t, root, "start", id)
			if !c.waitOutput("ready\n", 5*time.Second) {
				t.Fatal("container never printed ready")
			}
			args := []string{"kill", id}
			if sig != "" {
				args = append(args, sig)
			}
			mustGorun(t, root, args...)
			waitStatus(t, root, id, "stopped", 2*time.Second)
			mustGorun(t, root, "delete", id)
		})
	}
}

func TestKillUnknownSignal(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	create(t, root, sh(t, "exec sleep 100"), id)
	mustGorun(t, root, "start", id)
	out, errOut, code := gorun(t, root, "kill", id, "SIGFOO")
	expectFailure(t, "kill SIGFOO", out, errOut, code, "SIGFOO")
	if st := state(t, root, id); st.Status != "running" {
		t.Errorf("after kill SIGFOO: status %q, want running", st.Status)
	}
}

func TestPidFile(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	pidFile := filepath.Join(t.TempDir(), "init.pid")
	create(t, root, sh(t, "exec sleep 100"), id, "--pid-file", pidFile)
	data := readFile(t, pidFile)
	pid, err := strconv.Atoi(strings.TrimSpace(data))
	if err != nil {
		t.Fatalf("pid file %q: %v", data, err)
	}
	if st := state(t, root, id); st.Pid != pid {
		t.Errorf("pid file says %d, state says %d", pid, st.Pid)
	}
	// The pid is the init's: it is in the container's pid namespace.
	self, _ := os.Readlink("/proc/self/ns/pid")
	theirs, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/pid")
	if err != nil || theirs == self {
		t.Errorf("pid %d: pid namespace %q (%v), ours %q", pid, theirs, err, self)
	}
}

// TestStoppedOnItsOwn: a container whose process exits is reported stopped
// although no gorun process was there to see it exit.
func TestStoppedOnItsOwn(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	create(t, root, sh(t, "exit 0"), id)
	mustGorun(t, root, "start", id)
	st := waitStatus(t, root, id, "stopped", 2*time.Second)
	if st.Pid != 0 {
		t.Errorf("stopped container shows pid %d", st.Pid)
	}
	mustGorun(t, root, "delete", id)
}

func TestList(t *testing.T) {
	root := setup(t)
	idCreated, idRunning := containerID(t, "created"), containerID(t, "running")
	b := sh(t, "exec sleep 100")
	create(t, root, b, idCreated)
	create(t, root, b, idRunning)
	mustGorun(t, root, "start", idRunning)
	want := map[string]string{idCreated: "created", idRunning: "running"}

	// Table.
	table := lines(mustGorun(t, root, "list"))
	if len(table) != 3 || !strings.HasPrefix(table[0], "ID") || !strings.Contains(table[0], "STATUS") {
		t.Errorf("list table:\n%s", strings.Join(table, "\n"))
	}
	got := map[string]string{}
	for _, l := range table[1:] {
		f := strings.Fields(l)
		if len(f) >= 3 {
			got[f[0]] = f[2]
		}
	}
	if len(got) != 2 || got[idCreated] != "created" || got[idRunning] != "running" {
		t.Errorf("list table: id -> status %v, want %v", got, want)
	}

	// JSON.
	var states []containerState
	out := mustGorun(t, root, "list", "--format", "json")
	if err := json.Unmarshal([]byte(out), &states); err != nil {
		t.Fatalf("list --format json: %v\n%s", err, out)
	}
	got = map[string]string{}
	for _, s := range states {
		got[s.ID] = s.Status
		if s.Pid <= 0 {
			t.Errorf("list json: %s has pid %d", s.ID, s.Pid)
		}
	}
	if len(states) != 2 || got[idCreated] != "created" || got[idRunning] != "running" {
		t.Errorf("list json: %v, want %v", got, want)
	}

	// Quiet.
	ids := lines(mustGorun(t, root, "list", "-q"))
	sort.Strings(ids)
	wantIDs := []string{idCreated, idRunning}
	sort.Strings(wantIDs)
	if strings.Join(ids, " ") != strings.Join(wantIDs, " ") {
		t.Errorf("list -q: %q, want %q", ids, wantIDs)
	}
}

func TestRunDetach(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	shared := hostDir(t)
	b := sh(t, "touch /shared/started; exec sleep 100")
	bindMount(b.Spec, shared, "/shared")
	writeBundle(t, b)
	mustDelete(t, root, id)
	start := time.Now()
	mustGorun(t, root, "run", "-d", "--bundle", b.Dir, id)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("run -d took %v", d)
	}
	st := state(t, root, id)
	if st.Status != "running" || !pidAlive(st.Pid) {
		t.Errorf("after run -d: status %q, pid %d alive %v", st.Status, st.Pid, pidAlive(st.Pid))
	}
	if !poll(2*time.Second, func() bool { _, err := os.Stat(filepath.Join(shared, "started")); return err == nil }) {
		t.Error("the detached container never ran its process")
	}
	mustGorun(t, root, "delete", "--force", id)
}

// TestRunKeep: run --keep leaves the stopped container for delete.
func TestRunKeep(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	b := sh(t, "exit 3")
	mustDelete(t, root, id)
	if _, errOut, code := gorun(t, root, "run", "--keep", "--bundle", b.Dir, id); code != 3 {
		t.Fatalf("run --keep: exit %d, want 3: %s", code, errOut)
	}
	if s := state(t, root, id); s.Status != "stopped" {
		t.Errorf("after run --keep: status %q, want stopped", s.Status)
	}
	mustGorun(t, root, "delete", id)
}

// TestRunSubreaper: in the foreground, gorun adopts orphans of the
// container's processes (seen here without a pid namespace, where they do
// not go to the container's init), unless --no-subreaper.
func TestRunSubreaper(t *testing.T) {
	root := setup(t)
	b := sh(t, `o=$(sh -c 'sleep 30 >/dev/null 2>&1 & echo $!'); sleep 0.2
r=$(grep PPid /proc/$$/status | cut -f2); p=$(grep PPid /proc/$o/status | cut -f2); kill $o
[ "$p" = "$r" ] && echo adopted || echo "not adopted"`)
	b.Spec.Linux.Namespaces = slices.DeleteFunc(b.Spec.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.PIDNamespace })
	writeBundle(t, b)
	if out := mustRun(t, root, b, containerID(t)); out != "adopted\n" {
		t.Errorf("run: the orphan was %q, want adopted by gorun", out)
	}
	id := containerID(t, "2")
	mustDelete(t, root, id)
	out, errOut, code := gorun(t, root, "run", "--no-subreaper", "--bundle", b.Dir, id)
	if code != 0 || out != "not adopted\n" {
		t.Errorf("run --no-subreaper: exit %d, orphan %q %s, want not adopted", code, out, errOut)
	}
}

// TestStartFastExit: start releases the init by opening the exec fifo; a
// program that exits at once, under a parent that reaps it at once (conmon,
// a shim: a subreaper), may be gone before start looks for its process.
// Start must still succeed: it failed one time in four under podman on a
// loaded host. The reaping parent is this test binary, run again as
// startRaceHelper.
func TestStartFastExit(t *testing.T) {
	root := setup(t)
	b := sh(t, "exit 0")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStartRaceHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GORUN_RACE_HELPER=1", "GORUN_RACE_BINARY="+binary(t), "GORUN_RACE_ROOT="+root,
		"GORUN_RACE_BUNDLE="+b.Dir, "GORUN_RACE_ID="+containerID(t))
	out, err := cmd.CombinedOutput()
	close(stop)
	wg.Wait()
	if err != nil || !strings.Contains(string(out), "race: 0 of 40 starts failed") {
		t.Errorf("starts of a program that exits at once, reaped at once: %v\n%s", err, out)
	}
}

// TestStartRaceHelper is TestStartFastExit's reaping parent: a subreaper
// that creates and starts containers and reaps every child the moment it
// exits. Run on its own, it only skips.
func TestStartRaceHelper(t *testing.T) {
	if os.Getenv("GORUN_RACE_HELPER") == "" {
		t.Skip("the reaping parent of TestStartFastExit, run by it")
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	bin, root, bundleDir, id := os.Getenv("GORUN_RACE_BINARY"), os.Getenv("GORUN_RACE_ROOT"), os.Getenv("GORUN_RACE_BUNDLE"), os.Getenv("GORUN_RACE_ID")
	failed := 0
	for i := range 40 {
		cid := id + "-" + strconv.Itoa(i)
		// Not through a pipe of this process: the init keeps its
		// stdout, and a reader of the pipe would wait for it.
		create := exec.Command(bin, "--root", root, "create", "--bundle", bundleDir, cid)
		create.Stdout, create.Stderr = os.Stderr, os.Stderr
		if err := create.Run(); err != nil {
			t.Fatalf("create: %v", err)
		}
		start := exec.Command(bin, "--root", root, "start", cid)
		start.Stderr = os.Stderr
		if err := start.Start(); err != nil {
			t.Fatal(err)
		}
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, 0, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if pid == start.Process.Pid {
				if ws.ExitStatus() != 0 {
					failed++
				}
				break
			}
		}
		exec.Command(bin, "--root", root, "delete", "--force", cid).Run()
	}
	fmt.Printf("race: %d of 40 starts failed\n", failed)
}
