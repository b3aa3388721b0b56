package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// startSleeper creates and starts a container whose init sleeps, and
// returns its host pid.
func startSleeper(t *testing.T, root, id string, mutate func(*specs.Spec)) int {
	t.Helper()
	b := sh(t, "sleep 300")
	if mutate != nil {
		mutate(b.Spec)
		writeBundle(t, b)
	}
	create(t, root, b, id)
	mustGorun(t, root, "start", id)
	return state(t, root, id).Pid
}

func TestExecJoinsEveryNamespaceAndCgroup(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	initPid := startSleeper(t, root, id, nil)

	out := mustGorun(t, root, "exec", id, "sh", "-c", "hostname; echo pid=$$; ps -o pid,args | grep 'sleep 300' | grep -v grep; cmp /proc/1/mountinfo /proc/self/mountinfo && echo same-mounts; cat /proc/self/cgroup | grep pids")
	for _, want := range []string{"gorun-test", "same-mounts", "pids:/"} {
		if !strings.Contains(out, want) {
			t.Errorf("exec output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "    1 sleep 300") && !strings.Contains(out, "1 sleep 300") {
		t.Errorf("exec does not see the init as pid 1 of its pid namespace:\n%s", out)
	}
	if strings.Contains(out, "pid=1\n") {
		t.Errorf("the exec'd process must not be pid 1:\n%s", out)
	}

	// From the host: a detached exec shares every namespace of the init
	// and sits in its cgroup.
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	mustGorun(t, root, "exec", "--detach", "--pid-file", pidFile, id, "sleep", "300")
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	for _, ns := range []string{"mnt", "pid", "net", "ipc", "uts", "cgroup"} {
		a, err1 := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", initPid, ns))
		b, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		if err1 != nil || err2 != nil || a != b {
			t.Errorf("%s namespace: init %s (%v), exec %s (%v)", ns, a, err1, b, err2)
		}
	}
	procs := readFile(t, "/sys/fs/cgroup/pids/gorun/"+id+"/cgroup.procs")
	if !strings.Contains("\n"+procs, "\n"+strconv.Itoa(pid)+"\n") {
		t.Errorf("exec'd pid %d not in the container's cgroup: %q", pid, procs)
	}
	psOut := mustGorun(t, root, "ps", "--format", "json", id)
	var pids []int
	if err := json.Unmarshal([]byte(psOut), &pids); err != nil || len(pids) != 2 {
		t.Errorf("ps --format json: %q (%v), want the init and the exec'd process", psOut, err)
	}
}

// userNSReachable makes the test's temp directories searchable by any
// uid, so that a container whose root is a mapped uid reaches its rootfs.
func userNSReachable(t *testing.T) {
	t.Helper()
	dir := filepath.Dir(t.TempDir())
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestExecExitStatus(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	startSleeper(t, root, id, nil)
	if _, _, code := gorun(t, root, "exec", id, "sh", "-c", "exit 5"); code != 5 {
		t.Errorf("exec exit 5: gorun exited %d", code)
	}
	if _, _, code := gorun(t, root, "exec", id, "sh", "-c", "kill -9 $$"); code != 137 {
		t.Errorf("exec killed by SIGKILL: gorun exited %d, want 137", code)
	}
	if _, stderr, code := gorun(t, root, "exec", id, "/no/such/program"); code != 1 || !strings.Contains(stderr, "/no/such/program") {
		t.Errorf("exec of a missing program: exit %d, stderr %q", code, stderr)
	}
}

func TestExecUserAndCapabilities(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	startSleeper(t, root, id, nil)
	out := mustGorun(t, root, "exec", "--user", "1000:1000", "--additional-gids", "2000", id, "id")
	if !strings.Contains(out, "uid=1000") || !strings.Contains(out, "gid=1000") || !strings.Contains(out, "2000") {
		t.Errorf("exec --user 1000:1000 -g 2000: %s", out)
	}
	out = mustGorun(t, root, "exec", "--cap", "CAP_SYS_ADMIN", id, "grep", "Cap", "/proc/self/status")
	caps := map[string]uint64{}
	for _, l := range lines(out) {
		f := strings.Fields(l)
		v, _ := strconv.ParseUint(f[1], 16, 64)
		caps[strings.TrimSuffix(f[0], ":")] = v
	}
	const sysAdmin = 1 << 21
	for _, set := range []string{"CapEff", "CapPrm", "CapBnd"} {
		if caps[set]&sysAdmin == 0 {
			t.Errorf("exec --cap CAP_SYS_ADMIN: %s %x lacks it", set, caps[set])
		}
	}
	// CVE-2022-29162: --cap must not make the capability inheritable.
	if caps["CapInh"] != 0 || caps["CapAmb"] != 0 {
		t.Errorf("exec --cap set CapInh %x CapAmb %x, want 0", caps["CapInh"], caps["CapAmb"])
	}
}

func TestExecIntoUserNamespace(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	startSleeper(t, root, id, func(s *specs.Spec) {
		// Test temp dirs are 0700: the container's root (host uid 200000)
		// must be able to reach its rootfs, with runc as with gorun.
		userNSReachable(t)
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
	})
	pidFile := filepath.Join(t.TempDir(), "pid")
	mustGorun(t, root, "exec", "-d", "--pid-file", pidFile, id, "sleep", "300")
	out := mustGorun(t, root, "exec", id, "sh", "-c", "id -u; cat /proc/self/uid_map")
	if l := lines(out); len(l) < 2 || l[0] != "0" || !strings.Contains(l[1], "200000") {
		t.Errorf("exec in a user namespace: %q", out)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	status := readFile(t, fmt.Sprintf("/proc/%d/status", pid))
	if !strings.Contains(status, "Uid:\t200000\t200000") {
		t.Errorf("exec'd process does not run as host uid 200000:\n%s", status)
	}
}

func TestExecIntoPausedOrStoppedContainerFails(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	startSleeper(t, root, id, nil)
	mustGorun(t, root, "pause", id)
	if s := state(t, root, id); s.Status != "paused" {
		t.Fatalf("after pause: status %s", s.Status)
	}
	_, stderr, code := gorun(t, root, "exec", id, "true")
	expectFailure(t, "exec into a paused container", "", stderr, code, "paused")
	mustGorun(t, root, "resume", id)
	mustGorun(t, root, "kill", id, "KILL")
	waitStatus(t, root, id, "stopped", 5*time.Second)
	_, stderr, code = gorun(t, root, "exec", id, "true")
	expectFailure(t, "exec into a stopped container", "", stderr, code, "stopped")
}

// TestExecProcessFile runs exec as containerd's shim does:
// exec --process F --detach --pid-file P ID.
func TestExecProcessFile(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	dir := hostDir(t)
	startSleeper(t, root, id, func(s *specs.Spec) { bindMount(s, dir, "/out") })
	p := specs.Process{
		Args: []string{"sh", "-c", "echo $GREETING from $(pwd) as $(id -u) > /out/result"},
		Env:  []string{"PATH=/bin", "GREETING=hello"},
		Cwd:  "/tmp",
		User: specs.User{UID: 1000, GID: 1000},
	}
	data, _ := json.Marshal(p)
	pf := filepath.Join(t.TempDir(), "process.json")
	os.WriteFile(pf, data, 0o644)
	pidFile := filepath.Join(t.TempDir(), "pid")
	mustGorun(t, root, "exec", "--process", pf, "--detach", "--pid-file", pidFile, id)
	if _, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile))); err != nil {
		t.Errorf("pid file: %v", err)
	}
	if !poll(5*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "result"))
		return strings.TrimSpace(string(b)) == "hello from /tmp as 1000"
	}) {
		b, _ := os.ReadFile(filepath.Join(dir, "result"))
		t.Errorf("exec --process result: %q", b)
	}
}

func TestExecNoHostFdLeaks(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	startSleeper(t, root, id, nil)
	// ls itself opens one fd for the directory it lists.
	out := mustGorun(t, root, "exec", id, "sh", "-c", "ls /proc/$$/fd; true")
	if got := strings.Join(lines(out), " "); got != "0 1 2" {
		t.Errorf("fds of the exec'd shell: %q, want 0 1 2", got)
	}
	extra, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	out, stderr, code := gorunWith(t, root, cmdOpts{ExtraFiles: []*os.File{extra}}, "exec", "--preserve-fds", "1", id, "sh", "-c", "ls /proc/$$/fd; readlink /proc/$$/fd/3; true")
	if code != 0 {
		t.Fatalf("exec --preserve-fds 1: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "3\n") || !strings.Contains(out, "/dev/null") {
		t.Errorf("exec --preserve-fds 1: fd 3 missing:\n%s", out)
	}
}

// TestExecIgnorePaused: with --ignore-paused, exec into a paused container
// is allowed; the process is frozen until resume, and exec returns after.
func TestExecIgnorePaused(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	startSleeper(t, root, id, nil)
	mustGorun(t, root, "pause", id)
	type result struct {
		out, errOut string
		code        int
	}
	done := make(chan result, 1)
	go func() {
		out, errOut, code := gorun(t, root, "exec", "--ignore-paused", id, "sh", "-c", "echo ran")
		done <- result{out, errOut, code}
	}()
	select {
	case r := <-done:
		t.Fatalf("exec into the paused container returned before resume: exit %d %q %q", r.code, r.out, r.errOut)
	case <-time.After(300 * time.Millisecond):
	}
	mustGorun(t, root, "resume", id)
	select {
	case r := <-done:
		if r.code != 0 || r.out != "ran\n" {
			t.Errorf("exec --ignore-paused after resume: exit %d %q %q", r.code, r.out, r.errOut)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("exec --ignore-paused did not finish after resume")
	}
}

// TestExecSubCgroup: exec --cgroup puts the process in an existing cgroup
// below the container's, in every hierarchy or in the controllers named;
// a sub-cgroup that does not exist is an error.
func TestExecSubCgroup(t *testing.T) {
	root := setup(t)
	needV1(t)
	id := containerID(t)
	startSleeper(t, root, id, nil)
	cg := "/gorun/" + id
	var dirs []string // the container's cgroup in every hierarchy
	ents, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range ents {
		if d := filepath.Join("/sys/fs/cgroup", e.Name(), cg); e.IsDir() && isDir(d) {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		if err := os.Mkdir(filepath.Join(d, "all"), 0o755); err != nil {
			t.Fatal(err)
		}
		// A new v1 cpuset has no CPUs and no memory nodes until given.
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if b, err := os.ReadFile(filepath.Join(d, f)); err == nil {
				if err := os.WriteFile(filepath.Join(d, "all", f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := os.Mkdir(filepath.Join("/sys/fs/cgroup/pids", cg, "p"), 0o755); err != nil {
		t.Fatal(err)
	}
	execCgroups := func(args ...string) string {
		t.Helper()
		pidFile := filepath.Join(t.TempDir(), "pid")
		mustGorun(t, root, append(append([]string{"exec", "-d", "--pid-file", pidFile}, args...), id, "sleep", "300")...)
		return readFile(t, "/proc/"+strings.TrimSpace(readFile(t, pidFile))+"/cgroup")
	}
	for _, l := range lines(execCgroups("--cgroup", "all")) {
		if !strings.HasSuffix(l, cg+"/all") {
			t.Errorf("exec --cgroup all: %s is not in %s/all", l, cg)
		}
	}
	for _, l := range lines(execCgroups("--cgroup", "pids:p")) {
		pids := strings.Contains(l, ":pids:")
		if in := strings.HasSuffix(l, cg+"/p"); in != pids || !pids && !strings.HasSuffix(l, cg) {
			t.Errorf("exec --cgroup pids:p: %s (only pids should be in %s/p)", l, cg)
		}
	}
	out, errOut, code := gorun(t, root, "exec", "--cgroup", "nosuch", id, "true")
	expectFailure(t, "exec into a sub-cgroup that does not exist", out, errOut, code, "--cgroup", "nosuch", "make the sub-cgroup first")
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// TestExecCgroupWithSubtree: a container that moves its init below its own
// cgroup2 cgroup and hands a controller down (systemd or a container engine
// inside it) makes that cgroup refuse processes (EBUSY, cgroup v2's rule);
// exec then places the process beside the init, as runc does.
func TestExecCgroupWithSubtree(t *testing.T) {
	root := setup(t)
	h := detectCgroups(t)
	if h.unified == "" {
		t.Skip("no cgroup2 hierarchy")
	}
	id := containerID(t)
	pid := startSleeper(t, root, id, nil)
	cg := filepath.Join(h.unified, "gorun", id)
	// A controller the container's cgroup can hand down: on this hybrid
	// host cgroup2 has hugetlb, which /gorun (no process of its own) may
	// pass on. /gorun goes with the last container.
	ctrls := strings.Fields(readFile(t, filepath.Join(cg, "..", "cgroup.controllers")))
	if len(ctrls) == 0 {
		t.Skip("cgroup2 has no controller here to hand down")
	}
	if err := os.WriteFile(filepath.Join(cg, "..", "cgroup.subtree_control"), []byte("+"+ctrls[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(cg, "init"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cg, "init", "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cg, "cgroup.subtree_control"), []byte("+"+ctrls[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustGorun(t, root, "exec", id, "grep", "^0::", "/proc/self/cgroup")
	if out != "0::/init\n" {
		t.Errorf("the exec'd process is in %q, want the init's cgroup (0::/init)", out)
	}
}
