package integration

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/tests/bundle"
)

func TestHostname(t *testing.T) {
	root := setup(t)
	b := sh(t, "hostname; cat /proc/sys/kernel/hostname")
	b.Spec.Hostname = "itest-host"
	writeBundle(t, b)
	out := mustRun(t, root, b, containerID(t))
	if out != "itest-host\nitest-host\n" {
		t.Errorf("hostname inside: %q, want itest-host twice", out)
	}
	host, _ := os.Hostname()
	if host == "itest-host" {
		t.Error("the host's hostname was changed")
	}
}

func TestPid1(t *testing.T) {
	root := setup(t)
	out := mustRun(t, root, sh(t, "echo $$; tr '\\0' ' ' </proc/1/cmdline; echo"), containerID(t))
	l := lines(out)
	if len(l) != 2 || l[0] != "1" || !strings.HasPrefix(l[1], "sh -c echo $$;") {
		t.Errorf("inside: %q, want pid 1 to be the shell", out)
	}
}

func TestEnvAndCwd(t *testing.T) {
	root := setup(t)
	b := sh(t, `pwd; echo "FOO=$FOO"; echo "HOME=$HOME"; env | sort`)
	b.Spec.Process.Env = append(b.Spec.Process.Env, "FOO=bar")
	b.Spec.Process.Cwd = "/tmp"
	writeBundle(t, b)
	out := mustRun(t, root, b, containerID(t))
	l := lines(out)
	if len(l) < 3 || l[0] != "/tmp" || l[1] != "FOO=bar" {
		t.Fatalf("inside:\n%s\nwant pwd /tmp and FOO=bar", out)
	}
	// HOME comes from /etc/passwd when the spec sets none (root: /root).
	if l[2] != "HOME=/root" {
		t.Errorf("%s, want HOME=/root", l[2])
	}
	env := strings.Join(l[3:], "\n")
	for _, want := range []string{"PATH=" + bundle.DefaultPath, "TERM=xterm", "FOO=bar"} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %s:\n%s", want, env)
		}
	}
	if strings.Contains(env, "GORUN") || strings.Contains(env, "_LIBCONTAINER") {
		t.Errorf("gorun's own environment leaked into the container:\n%s", env)
	}
}

func TestUserAndGroups(t *testing.T) {
	root := setup(t)
	b := sh(t, "id; id -u; id -g; id -G; grep -E '^(Uid|Gid|Groups):' /proc/self/status")
	b.Spec.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{2000}}
	writeBundle(t, b)
	out := mustRun(t, root, b, containerID(t))
	l := lines(out)
	if len(l) < 7 {
		t.Fatalf("inside:\n%s", out)
	}
	if !strings.HasPrefix(l[0], "uid=1000") || !strings.Contains(l[0], "gid=1000") || !strings.Contains(l[0], "2000") {
		t.Errorf("id: %q, want uid=1000 gid=1000 and group 2000", l[0])
	}
	if l[1] != "1000" || l[2] != "1000" {
		t.Errorf("id -u, id -g: %q %q", l[1], l[2])
	}
	groups := strings.Fields(l[3])
	if !contains(groups, "2000") {
		t.Errorf("id -G %q lacks 2000", l[3])
	}
	status := strings.Join(l[4:], "\n")
	for _, re := range []string{`Uid:\s+1000\s+1000\s+1000\s+1000`, `Gid:\s+1000\s+1000\s+1000\s+1000`, `Groups:\s+2000\s*$`} {
		if !regexp.MustCompile(`(?m)` + re).MatchString(status) {
			t.Errorf("/proc/self/status does not match %s:\n%s", re, status)
		}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// capNumbers are the capabilities the tests use.
var capNumbers = map[string]uint{
	"CAP_KILL":             5,
	"CAP_NET_BIND_SERVICE": 10,
	"CAP_SYS_RESOURCE":     24,
	"CAP_AUDIT_WRITE":      29,
}

// capMask is the /proc/PID/status bitmask of the named capabilities.
func capMask(t testing.TB, names ...string) string {
	var m uint64
	for _, n := range names {
		bit, ok := capNumbers[n]
		if !ok {
			t.Fatalf("unknown capability %s", n)
		}
		m |= 1 << bit
	}
	return fmt.Sprintf("%016x", m)
}

// capStatus runs b and returns its Cap* lines of /proc/self/status.
func capStatus(t *testing.T, root string, b *bundle.Bundle) map[string]string {
	t.Helper()
	b.Spec.Process.Args = []string{"grep", "^Cap", "/proc/self/status"}
	writeBundle(t, b)
	out := mustRun(t, root, b, containerID(t))
	got := map[string]string{}
	for _, l := range lines(out) {
		if f := strings.Fields(l); len(f) == 2 {
			got[strings.TrimSuffix(f[0], ":")] = f[1]
		}
	}
	return got
}

func TestCapabilities(t *testing.T) {
	root := setup(t)
	b := bundle.New(t)
	got := capStatus(t, root, b)
	all := capMask(t, "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE")
	none := capMask(t)
	want := map[string]string{"CapInh": none, "CapPrm": all, "CapEff": all, "CapBnd": all, "CapAmb": none}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %s", k, got[k], v)
		}
	}
	if len(got) != 5 {
		t.Errorf("Cap lines: %v", got)
	}
}

// TestAmbientCapabilities: a non-root process keeps across exec only its
// ambient capabilities (in permitted and effective); inheritable and
// bounding are kept as set.
func TestAmbientCapabilities(t *testing.T) {
	root := setup(t)
	b := bundle.New(t)
	b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
	b.Spec.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding:    []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
		Permitted:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
		Effective:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
		Inheritable: []string{"CAP_NET_BIND_SERVICE"},
		Ambient:     []string{"CAP_NET_BIND_SERVICE"},
	}
	got := capStatus(t, root, b)
	nbs := capMask(t, "CAP_NET_BIND_SERVICE")
	want := map[string]string{
		"CapInh": nbs, "CapPrm": nbs, "CapEff": nbs, "CapAmb": nbs,
		"CapBnd": capMask(t, "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %s", k, got[k], v)
		}
	}
}

func TestNoNewPrivileges(t *testing.T) {
	root := setup(t)
	for _, nnp := range []bool{true, false} {
		t.Run(fmt.Sprint(nnp), func(t *testing.T) {
			b := sh(t, "grep NoNewPrivs /proc/self/status")
			b.Spec.Process.NoNewPrivileges = nnp
			writeBundle(t, b)
			out := mustRun(t, root, b, containerID(t))
			want := "0"
			if nnp {
				want = "1"
			}
			if f := strings.Fields(out); len(f) != 2 || f[1] != want {
				t.Errorf("noNewPrivileges %v: %q, want NoNewPrivs: %s", nnp, out, want)
			}
		})
	}
}

func TestRlimits(t *testing.T) {
	root := setup(t)
	b := sh(t, "ulimit -n; ulimit -Hn; grep 'Max open files' /proc/self/limits")
	b.Spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 100, Hard: 200}}
	writeBundle(t, b)
	out := mustRun(t, root, b, containerID(t))
	l := lines(out)
	if len(l) != 3 || l[0] != "100" || l[1] != "200" {
		t.Fatalf("ulimit -n, -Hn:\n%s\nwant 100 and 200", out)
	}
	if f := strings.Fields(l[2]); len(f) < 5 || f[3] != "100" || f[4] != "200" {
		t.Errorf("/proc/self/limits: %q, want soft 100 hard 200", l[2])
	}
}

func TestUmask(t *testing.T) {
	root := setup(t)
	b := sh(t, "umask; touch /tmp/f; stat -c %a /tmp/f")
	mask := uint32(0o027)
	b.Spec.Process.User.Umask = &mask
	writeBundle(t, b)
	out := mustRun(t, root, b, containerID(t))
	if out != "0027\n640\n" {
		t.Errorf("umask 027: %q, want 0027 and a file of mode 640", out)
	}
}

func TestOOMScoreAdj(t *testing.T) {
	root := setup(t)
	b := sh(t, "cat /proc/self/oom_score_adj")
	adj := 100
	b.Spec.Process.OOMScoreAdj = &adj
	writeBundle(t, b)
	if out := mustRun(t, root, b, containerID(t)); out != "100\n" {
		t.Errorf("oom_score_adj: %q, want 100", out)
	}
	self := strings.TrimSpace(readFile(t, "/proc/self/oom_score_adj"))
	if self == "100" {
		t.Error("the test process's own oom_score_adj was changed")
	}
}

// TestCapabilityHostLacks: root here lacks CAP_SYS_RESOURCE, so a spec
// asking for it in permitted and effective cannot be honoured.
func TestCapabilityHostLacks(t *testing.T) {
	root := setup(t)
	if hostHasCap(t, capNumbers["CAP_SYS_RESOURCE"]) {
		t.Skip("this host grants CAP_SYS_RESOURCE; the test needs one that does not")
	}
	b := sh(t, "echo should not run")
	c := b.Spec.Process.Capabilities
	c.Bounding = append(c.Bounding, "CAP_SYS_RESOURCE")
	c.Permitted = append(c.Permitted, "CAP_SYS_RESOURCE")
	c.Effective = append(c.Effective, "CAP_SYS_RESOURCE")
	writeBundle(t, b)
	out, errOut, code := runContainer(t, root, b, containerID(t))
	expectFailure(t, "run with CAP_SYS_RESOURCE", out, errOut, code, "CAP_SYS_RESOURCE")
	if strings.Contains(out, "should not run") {
		t.Error("the process ran")
	}
}

func hostHasCap(t testing.TB, bit uint) bool {
	for _, l := range lines(readFile(t, "/proc/self/status")) {
		if strings.HasPrefix(l, "CapEff:") {
			var m uint64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "CapEff:")), "%x", &m)
			return m&(1<<bit) != 0
		}
	}
	t.Fatal("no CapEff in /proc/self/status")
	return false
}

// TestOnlyStdioFds: `ls /proc/self/fd` shows 0, 1, 2 and the directory fd
// of ls itself (3), nothing of gorun's.
func TestOnlyStdioFds(t *testing.T) {
	root := setup(t)
	out := mustRun(t, root, bundle.New(t, "ls", "/proc/self/fd"), containerID(t))
	if got := strings.Join(lines(out), " "); got != "0 1 2 3" {
		t.Errorf("fds inside: %s, want 0 1 2 3 (3 is ls's own)", got)
	}
}

func TestPreserveFds(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	b := sh(t, "ls /proc/self/fd | tr '\\n' ' '; echo; cat <&3")
	writeBundle(t, b)
	p := filepath.Join(t.TempDir(), "extra")
	if err := os.WriteFile(p, []byte("content of fd 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mustDelete(t, root, id)
	out, errOut, code := gorunWith(t, root, cmdOpts{ExtraFiles: []*os.File{f}},
		"run", "--preserve-fds", "1", "--bundle", b.Dir, id)
	if code != 0 {
		t.Fatalf("run --preserve-fds 1: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	l := lines(out)
	// ls's own directory fd is 4 now.
	if len(l) != 2 || l[0] != "0 1 2 3 4" || l[1] != "content of fd 3" {
		t.Errorf("inside:\n%s\nwant fds 0 1 2 3 4 and the file's content on fd 3", out)
	}

	// Without --preserve-fds the fd does not reach the container.
	id2 := containerID(t, "none")
	mustDelete(t, root, id2)
	out, errOut, code = gorunWith(t, root, cmdOpts{ExtraFiles: []*os.File{f}}, "run", "--bundle", b.Dir, id2)
	if code == 0 || strings.Contains(out, "content of fd 3") || !strings.HasPrefix(out, "0 1 2 3 \n") {
		t.Errorf("run without --preserve-fds: exit %d, stdout %q, stderr %q; want fds 0-3 and no fd 3 to read", code, out, errOut)
	}
}

// TestStdioPipesForNonRoot: a process running as uid 1000 can reopen
// /dev/stdout and /dev/stderr when they are the caller's pipes (root's,
// mode 0600), as containerd's shim and conmon pass them; stdin /dev/null
// and the host's /dev/null stay as they were.
func TestStdioPipesForNonRoot(t *testing.T) {
	root := setup(t)
	b := sh(t, "id -u; echo via-reopen > /dev/stdout; echo err-via-reopen > /dev/stderr; cat")
	b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
	writeBundle(t, b)
	id := containerID(t)
	mustDelete(t, root, id)
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	null, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	drain := func(r *os.File) <-chan string {
		c := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(r)
			r.Close()
			c <- string(b)
		}()
		return c
	}
	outC, errC := drain(outR), drain(errR)
	_, _, code := gorunWith(t, root, cmdOpts{Stdin: null, Stdout: outW, Stderr: errW}, "run", "--bundle", b.Dir, id)
	outW.Close()
	errW.Close()
	stdout, stderr := <-outC, <-errC
	if code != 0 || stdout != "1000\nvia-reopen\n" || stderr != "err-via-reopen\n" {
		t.Errorf("uid 1000 reopening its stdio pipes: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
}
