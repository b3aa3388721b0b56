// Package integration drives the built gorun binary end to end: it makes
// busybox bundles, runs containers through the command line and checks what
// the containers see and what the host is left with.
//
// The tests need root. They find the binary through $GORUN_BINARY, else
// ../gorun (run `make build` first). They must not run in parallel: every
// test registers the leak checker, which looks at the whole host.
package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/tests/bundle"
	"github.com/gorun/gorun/tests/leakcheck"
)

// cmdTimeout bounds every gorun invocation.
const cmdTimeout = 30 * time.Second

// binary returns the path of the gorun binary under test.
func binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("GORUN_BINARY"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("GORUN_BINARY=%s: %v (run `make build` in the repository root)", p, err)
		}
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "gorun"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no gorun binary: GORUN_BINARY is not set and %s: %v (run `make build` in the repository root)", p, err)
	}
	return p
}

// setup starts a test: it checks for root, makes the test's own state root
// and registers the leak checker on it, before anything else.
func setup(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("integration tests need root")
	}
	binary(t)
	root := t.TempDir()
	leakcheck.Register(t, root)
	return root
}

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// containerID derives a container id from the test's name and an optional
// suffix, keeping only [A-Za-z0-9_.-].
func containerID(t testing.TB, suffix ...string) string {
	id := t.Name()
	if len(suffix) > 0 {
		id += "-" + strings.Join(suffix, "-")
	}
	return idUnsafe.ReplaceAllString(id, "_")
}

// cmdOpts are the optional stdio and extra files of one gorun invocation.
// A nil Stdout or Stderr is captured in a temporary file (never a pipe: a
// container that outlives gorun inherits them and would hold a pipe open).
type cmdOpts struct {
	Stdin          *os.File
	Stdout, Stderr *os.File
	ExtraFiles     []*os.File
}

// gorun runs the binary with --root root and args, and returns its stdout,
// stderr and exit code (128+N if it died of signal N, -1 if it could not
// run or timed out).
func gorun(t testing.TB, root string, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	return gorunWith(t, root, cmdOpts{}, args...)
}

func gorunWith(t testing.TB, root string, o cmdOpts, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), append([]string{"--root", root}, args...)...)
	cmd.Stdin = o.Stdin
	cmd.ExtraFiles = o.ExtraFiles
	// No t.Fatal here: parallel tests call this from other goroutines.
	var outF, errF *os.File
	var err error
	if o.Stdout != nil {
		cmd.Stdout = o.Stdout
	} else {
		if outF, err = os.CreateTemp("", "gorun-stdout-"); err != nil {
			t.Errorf("gorun %s: %v", strings.Join(args, " "), err)
			return "", "", -1
		}
		defer os.Remove(outF.Name())
		defer outF.Close()
		cmd.Stdout = outF
	}
	if o.Stderr != nil {
		cmd.Stderr = o.Stderr
	} else {
		if errF, err = os.CreateTemp("", "gorun-stderr-"); err != nil {
			t.Errorf("gorun %s: %v", strings.Join(args, " "), err)
			return "", "", -1
		}
		defer os.Remove(errF.Name())
		defer errF.Close()
		cmd.Stderr = errF
	}
	err = cmd.Run()
	if outF != nil {
		stdout = readFileOrEmpty(outF.Name())
	}
	if errF != nil {
		stderr = readFileOrEmpty(errF.Name())
	}
	switch {
	case ctx.Err() != nil:
		t.Errorf("gorun %s: timed out after %v", strings.Join(args, " "), cmdTimeout)
		exit = -1
	case err == nil:
		exit = 0
	case cmd.ProcessState != nil:
		exit = exitStatus(cmd.ProcessState)
	default:
		t.Errorf("gorun %s: %v", strings.Join(args, " "), err)
		exit = -1
	}
	return stdout, stderr, exit
}

func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mustGorun runs gorun and fails the test unless it exits 0.
func mustGorun(t testing.TB, root string, args ...string) string {
	t.Helper()
	out, errOut, code := gorun(t, root, args...)
	if code != 0 {
		t.Fatalf("gorun %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// runContainer runs b to completion in the foreground (`gorun run`) and
// returns the container's stdout, stderr and gorun's exit code.
func runContainer(t testing.TB, root string, b *bundle.Bundle, id string) (stdout, stderr string, exit int) {
	t.Helper()
	mustDelete(t, root, id)
	return gorun(t, root, "run", "--bundle", b.Dir, id)
}

// mustRun is runContainer that fails the test unless the container exits 0
// with nothing on stderr; it returns stdout.
func mustRun(t testing.TB, root string, b *bundle.Bundle, id string) string {
	t.Helper()
	out, errOut, code := runContainer(t, root, b, id)
	if code != 0 || errOut != "" {
		t.Fatalf("gorun run %s: exit %d\nstdout: %s\nstderr: %s", id, code, out, errOut)
	}
	return out
}

// mustDelete registers a cleanup that force-deletes container id if its
// state directory still exists, and fails the test if that fails.
func mustDelete(t testing.TB, root, id string) {
	t.Helper()
	t.Cleanup(func() {
		if _, err := os.Lstat(filepath.Join(root, id)); errors.Is(err, os.ErrNotExist) {
			return
		}
		if out, errOut, code := gorun(t, root, "delete", "--force", id); code != 0 {
			t.Errorf("cleanup: gorun delete --force %s: exit %d\nstdout: %s\nstderr: %s", id, code, out, errOut)
		}
	})
}

// create runs `gorun create` for b with the container's stdout and stderr
// going to files, and registers its deletion. It fails the test unless
// create succeeds. The container's output can be read with c.output().
func create(t testing.TB, root string, b *bundle.Bundle, id string, extraArgs ...string) *created {
	t.Helper()
	c := newCreated(t, root, id)
	args := append([]string{"create", "--bundle", b.Dir}, extraArgs...)
	args = append(args, id)
	out, errOut, code := gorunWith(t, root, cmdOpts{Stdout: c.stdout, Stderr: c.stderr}, args...)
	c.closeFiles()
	if code != 0 {
		t.Fatalf("gorun %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return c
}

// created is a container made by create, with the files its stdio goes to.
type created struct {
	t                      testing.TB
	id, root               string
	stdoutPath, stderrPath string
	stdout, stderr         *os.File
}

func newCreated(t testing.TB, root, id string) *created {
	t.Helper()
	dir := t.TempDir()
	c := &created{id: id, root: root, t: t,
		stdoutPath: filepath.Join(dir, "stdout"), stderrPath: filepath.Join(dir, "stderr")}
	var err error
	if c.stdout, err = os.Create(c.stdoutPath); err != nil {
		t.Fatal(err)
	}
	if c.stderr, err = os.Create(c.stderrPath); err != nil {
		c.stdout.Close()
		t.Fatal(err)
	}
	mustDelete(t, root, id)
	return c
}

// closeFiles closes the test's copies of the container's stdio files: the
// container has its own.
func (c *created) closeFiles() {
	c.stdout.Close()
	c.stderr.Close()
}

// output returns what the container wrote so far.
func (c *created) output() (stdout, stderr string) {
	return readFile(c.t, c.stdoutPath), readFile(c.t, c.stderrPath)
}

// waitOutput polls until the container's stdout contains want, up to
// timeout, and reports whether it did.
func (c *created) waitOutput(want string, timeout time.Duration) bool {
	return poll(timeout, func() bool {
		out, _ := c.output()
		return strings.Contains(out, want)
	})
}

// poll calls cond every 10 ms until it returns true or timeout passes.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// containerState is what `gorun state` prints.
type containerState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	Pid         int               `json:"pid"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations"`
}

// state parses `gorun state id`, failing the test if gorun fails.
func state(t testing.TB, root, id string) containerState {
	t.Helper()
	out := mustGorun(t, root, "state", id)
	var s containerState
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("gorun state %s: %v\n%s", id, err, out)
	}
	if s.ID != id {
		t.Errorf("gorun state %s: id %q", id, s.ID)
	}
	return s
}

// waitStatus polls `gorun state` until the status is want, up to timeout,
// and fails the test if it never is.
func waitStatus(t testing.TB, root, id, want string, timeout time.Duration) containerState {
	t.Helper()
	var s containerState
	if !poll(timeout, func() bool {
		s = state(t, root, id)
		return s.Status == want
	}) {
		t.Fatalf("container %s: status %q after %v, want %q", id, s.Status, timeout, want)
	}
	return s
}

// errorLine checks that stderr is exactly one line, and returns it.
func errorLine(t testing.TB, stderr string) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if stderr == "" || len(lines) != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stderr is not exactly one line:\n%s", stderr)
	}
	return lines[0]
}

// expectFailure checks the exit code is 1 and stderr is one line that
// contains every string of want.
func expectFailure(t testing.TB, what string, stdout, stderr string, code int, want ...string) {
	t.Helper()
	if code != 1 {
		t.Errorf("%s: exit %d, want 1\nstdout: %s\nstderr: %s", what, code, stdout, stderr)
	}
	line := errorLine(t, stderr)
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("%s: error %q does not name %q", what, line, w)
		}
	}
}

// hostDir makes a temporary directory on the host that a container may
// bind mount (mode 0777, so any user inside can write).
func hostDir(t testing.TB) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	return d
}

// bindMount appends a bind mount of src at dst to the spec.
func bindMount(s *specs.Spec, src, dst string, opts ...string) {
	s.Mounts = append(s.Mounts, specs.Mount{
		Destination: dst, Type: "bind", Source: src,
		Options: append([]string{"rbind"}, opts...),
	})
}

// writeBundle writes b's spec, failing the test on error.
func writeBundle(t testing.TB, b *bundle.Bundle) {
	t.Helper()
	if err := b.Write(); err != nil {
		t.Fatal(err)
	}
}

// sh makes a bundle running a busybox sh script.
func sh(t testing.TB, script string) *bundle.Bundle {
	t.Helper()
	return bundle.New(t, "sh", "-c", script)
}

// withMknod lets b's process make device nodes (CAP_MKNOD) in a /tmp of
// its own, to show what the device rules let it open.
func withMknod(b *bundle.Bundle) {
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=1777"}})
	c := b.Spec.Process.Capabilities
	c.Bounding, c.Effective, c.Permitted = append(c.Bounding, "CAP_MKNOD"), append(c.Effective, "CAP_MKNOD"), append(c.Permitted, "CAP_MKNOD")
}

// pidAlive reports whether pid exists on the host and is not a zombie.
func pidAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

// lines splits s into its non-empty trimmed lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// dropNamespace removes the namespaces of type typ from s: the container
// shares the host's.
func dropNamespace(s *specs.Spec, typ specs.LinuxNamespaceType) {
	var keep []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != typ {
			keep = append(keep, ns)
		}
	}
	s.Linux.Namespaces = keep
}
