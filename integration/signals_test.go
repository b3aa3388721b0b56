package integration

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/tests/bundle"
)

// trapScript traps each forwarded signal with an exit code of its own, so
// that gorun run's exit code says which signal reached the container.
const trapScript = `trap 'exit 21' TERM; trap 'exit 22' INT; trap 'exit 23' HUP; trap 'exit 24' USR1; ` +
	`trap 'echo got WINCH' WINCH; echo ready; while :; do sleep 0.05; done`

// TestSignalForwarding: `gorun run` in the foreground passes TERM, INT,
// HUP and USR1 on to the container's init (here PID 1 of its own pid
// namespace, which the kernel lets signals reach only through a handler)
// and exits with the container's status.
func TestSignalForwarding(t *testing.T) {
	root := setup(t)
	b := sh(t, trapScript)
	for _, c := range []struct {
		sig  syscall.Signal
		name string
		exit int
	}{
		{syscall.SIGTERM, "TERM", 21},
		{syscall.SIGINT, "INT", 22},
		{syscall.SIGHUP, "HUP", 23},
		{syscall.SIGUSR1, "USR1", 24},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := startBackgroundRun(t, root, b.Dir, containerID(t))
			r.waitLine(t, "ready", 10*time.Second)
			if err := r.cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			if code := r.wait(t, 10*time.Second); code != c.exit {
				t.Errorf("gorun run exited %d after SIG%s, want %d (the trap's); stderr: %s",
					code, c.name, c.exit, readFile(t, r.stderr))
			}
		})
	}
}

// TestSignalWinch: without a terminal, SIGWINCH is forwarded like any other
// signal.
func TestSignalWinch(t *testing.T) {
	root := setup(t)
	b := sh(t, trapScript)
	r := startBackgroundRun(t, root, b.Dir, containerID(t))
	r.waitLine(t, "ready", 10*time.Second)
	// Until the container shows it, send again: a signal that arrives
	// while sh waits for its sleep is handled when the sleep ends.
	got := make(chan struct{})
	go func() {
		defer close(got)
		for l := range r.lines {
			if l == "got WINCH" {
				return
			}
		}
	}()
	if err := r.cmd.Process.Signal(syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatalf("the container never saw SIGWINCH; stderr: %s", readFile(t, r.stderr))
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	if code := r.wait(t, 10*time.Second); code != 21 {
		t.Errorf("gorun run exited %d after SIGTERM, want 21", code)
	}
}

// withoutPidNS removes the pid namespace from b's spec: the container's
// processes are then ordinary host processes, so that default signal
// actions apply to its init and its orphans go to gorun run, the subreaper.
func withoutPidNS(t *testing.T, b *bundle.Bundle) {
	t.Helper()
	dropNamespace(b.Spec, specs.PIDNamespace)
	writeBundle(t, b)
}

// TestSignalExitStatus: the container's init dies of a forwarded signal
// it does not handle, and gorun run exits 128+N.
func TestSignalExitStatus(t *testing.T) {
	root := setup(t)
	b := sh(t, "echo ready; exec sleep 100")
	withoutPidNS(t, b)
	for _, c := range []struct {
		sig  syscall.Signal
		name string
	}{{syscall.SIGUSR1, "USR1"}, {syscall.SIGTERM, "TERM"}} {
		t.Run(c.name, func(t *testing.T) {
			r := startBackgroundRun(t, root, b.Dir, containerID(t))
			r.waitLine(t, "ready", 10*time.Second)
			r.cmd.Process.Signal(c.sig)
			if code, want := r.wait(t, 10*time.Second), 128+int(c.sig); code != want {
				t.Errorf("gorun run exited %d after SIG%s killed the container, want %d; stderr: %s",
					code, c.name, want, readFile(t, r.stderr))
			}
		})
	}
}

// procStat returns the state letter and parent pid of pid, or ok false if
// pid is gone.
func procStat(pid int) (state byte, ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 2 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	return f[0][0], ppid, true
}

// zombieChildren lists the zombie children of pid.
func zombieChildren(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ppid, ok := procStat(p); ok && ppid == pid && st == 'Z' {
			out = append(out, p)
		}
	}
	return out
}

// TestSignalSubreaper: gorun run is the subreaper of its container; an
// orphan of the container is reparented to it and, once it exits, reaped:
// no zombie child of gorun stays while the container runs on.
func TestSignalSubreaper(t *testing.T) {
	root := setup(t)
	b := sh(t, `trap 'exit 0' TERM; sh -c 'sleep 0.3 & echo orphan $!'; echo ready; while :; do sleep 0.05; done`)
	withoutPidNS(t, b)
	r := startBackgroundRun(t, root, b.Dir, containerID(t))
	var orphan int
	deadline := time.After(10 * time.Second)
	for orphan == 0 {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("container stdout closed; stderr: %s", readFile(t, r.stderr))
			}
			if p, found := strings.CutPrefix(l, "orphan "); found {
				orphan, _ = strconv.Atoi(p)
			}
		case <-deadline:
			t.Fatal("the container never reported its orphan")
		}
	}
	r.waitLine(t, "ready", 10*time.Second)
	gorunPid := r.cmd.Process.Pid
	if _, ppid, ok := procStat(orphan); !ok || ppid != gorunPid {
		t.Fatalf("orphan %d: parent %d (exists %v), want gorun run %d (the subreaper)", orphan, ppid, ok, gorunPid)
	}
	// The orphan exits after 0.3 s; gorun must reap it.
	if !poll(3*time.Second, func() bool { _, _, ok := procStat(orphan); return !ok }) {
		st, ppid, _ := procStat(orphan)
		t.Errorf("orphan %d still there (state %c, parent %d) 3 s after it exited: gorun run did not reap it", orphan, st, ppid)
	}
	if z := zombieChildren(gorunPid); len(z) > 0 {
		t.Errorf("zombie children of gorun run: %v", z)
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	if code := r.wait(t, 10*time.Second); code != 0 {
		t.Errorf("gorun run exited %d after SIGTERM, want 0 (the trap's)", code)
	}
}
