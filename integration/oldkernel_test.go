package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

// noClone3Env makes this test binary, re-executed, exec the gorun command
// line it is given under a seccomp filter that fails clone3 with ENOSYS, as
// a kernel before 5.3 does (and one before 5.7 refuses CLONE_INTO_CGROUP).
const noClone3Env = "GORUN_ITEST_NO_CLONE3"

func init() {
	if os.Getenv(noClone3Env) == "" {
		return
	}
	runtime.LockOSThread()
	fail := func(err error) {
		os.Stderr.WriteString("no-clone3 wrapper: " + err.Error() + "\n")
		os.Exit(125)
	}
	f, err := libseccomp.NewFilter(libseccomp.ActAllow)
	if err != nil {
		fail(err)
	}
	nr, err := libseccomp.GetSyscallFromName("clone3")
	if err != nil {
		fail(err)
	}
	if err := f.AddRule(nr, libseccomp.ActErrno.SetReturnCode(int16(syscall.ENOSYS))); err != nil {
		fail(err)
	}
	if err := f.Load(); err != nil {
		fail(err)
	}
	args := strings.Split(os.Getenv(noClone3Env), "\x1f")
	env := []string{}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, noClone3Env+"=") {
			env = append(env, e)
		}
	}
	fail(syscall.Exec(args[0], args, env))
}

// TestStartWithoutClone3: where clone3(CLONE_INTO_CGROUP) is missing, the
// init is started plainly and moved into its cgroup by the parent: the
// container runs, in its cgroup on every hierarchy, cgroup2 included.
func TestStartWithoutClone3(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	b := sh(t, "cat /proc/self/cgroup")
	dropNamespace(b.Spec, specs.CgroupNamespace)
	writeBundle(t, b)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), noClone3Env+"="+strings.Join([]string{binary(t), "--root", root, "run", "--bundle", b.Dir, id}, "\x1f"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gorun run without clone3: %v\n%s", err, out)
	}
	want := "/gorun/" + id
	var got []string
	for _, l := range lines(string(out)) {
		if strings.Count(l, ":") >= 2 {
			got = append(got, l)
		}
	}
	if len(got) == 0 {
		t.Fatalf("no /proc/self/cgroup lines in the output:\n%s", out)
	}
	for _, l := range got {
		if !strings.HasSuffix(l, ":"+want) {
			t.Errorf("%q: not in %s", l, want)
		}
	}
	if _, err := os.Stat("/sys/fs/cgroup/unified"); err == nil && !contains(got, "0::"+want) {
		t.Errorf("no 0::%s line (cgroup2 hierarchy):\n%s", want, strings.Join(got, "\n"))
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/pids", want)); !os.IsNotExist(err) {
		t.Errorf("the cgroup is left after run: %v", err)
	}
}
