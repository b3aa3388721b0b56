package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookScript appends "NAME STATUS ID MNTNS PID" to the log file: the
// hook's name ($1), the status and id of the state JSON on its stdin, the
// mount namespace it runs in, and the state's pid ("-" for none). $3, if
// set, is a time to sleep first.
const hookScript = `#!/bin/sh
in=$(cat)
status=$(printf '%s' "$in" | sed -n 's/.*"status":"\([^"]*\)".*/\1/p')
id=$(printf '%s' "$in" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
pid=$(printf '%s' "$in" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
[ -n "$3" ] && sleep "$3"
echo "$1 $status $id $(readlink /proc/self/ns/mnt) ${pid:--}" >> "$2"
`

type hookLine struct{ name, status, id, mntns, pid string }

func readHookLog(t *testing.T, path string) []hookLine {
	t.Helper()
	var out []hookLine
	for _, l := range lines(readFileOrEmpty(path)) {
		f := strings.Fields(l)
		if len(f) != 5 {
			t.Errorf("hook log line %q", l)
			continue
		}
		out = append(out, hookLine{f[0], f[1], f[2], f[3], f[4]})
	}
	return out
}

// hookFiles makes a host directory for the hooks' log (logDir/hooks.log)
// and writes hookScript to an executable file on the host.
func hookFiles(t *testing.T) (logDir, hostLog, script string) {
	t.Helper()
	logDir = hostDir(t)
	script = filepath.Join(t.TempDir(), "hook.sh")
	if err := os.WriteFile(script, []byte(hookScript), 0o755); err != nil {
		t.Fatal(err)
	}
	return logDir, filepath.Join(logDir, "hooks.log"), script
}

func TestHooks(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	logDir, hostLog, script := hookFiles(t)
	b := sh(t, "echo started; exec sleep 100")
	// startContainer runs in the container after pivot_root: its script is
	// in the rootfs and it logs through a bind mount. It takes a while, so
	// that a runtime that does not wait for it before poststart shows.
	if err := b.WriteFile("/hooks/hook.sh", hookScript, 0o755); err != nil {
		t.Fatal(err)
	}
	bindMount(b.Spec, logDir, "/hooklog")
	hostHook := func(name string) specs.Hook {
		return specs.Hook{Path: script, Args: []string{"hook.sh", name, hostLog},
			Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}}
	}
	b.Spec.Hooks = &specs.Hooks{
		Prestart:        []specs.Hook{hostHook("prestart")},
		CreateRuntime:   []specs.Hook{hostHook("createRuntime")},
		CreateContainer: []specs.Hook{hostHook("createContainer")},
		StartContainer: []specs.Hook{{Path: "/hooks/hook.sh",
			Args: []string{"hook.sh", "startContainer", "/hooklog/hooks.log", "0.3"}, Env: []string{"PATH=/bin"}}},
		Poststart: []specs.Hook{hostHook("poststart")},
		Poststop:  []specs.Hook{hostHook("poststop")},
	}
	writeBundle(t, b)

	hostNS, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	c := create(t, root, b, id)
	pid := state(t, root, id).Pid
	ctrNS, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	if ctrNS == hostNS {
		t.Fatal("the container shares the host's mount namespace")
	}
	// Every hook but poststop is given the init's pid (runtime-spec:
	// prestart and createRuntime too, which find its namespaces by it).
	p := strconv.Itoa(pid)
	want := []hookLine{
		{"prestart", "creating", id, hostNS, p},
		{"createRuntime", "creating", id, hostNS, p},
		{"createContainer", "creating", id, ctrNS, p},
	}
	checkHooks(t, "after create", readHookLog(t, hostLog), want)

	mustGorun(t, root, "start", id)
	// Right when start returns, the poststart hooks have run, and so have
	// the startContainer hooks, which come before the process runs.
	got := readHookLog(t, hostLog)
	if !c.waitOutput("started\n", 5*time.Second) {
		t.Error("the process never ran")
	}
	poll(2*time.Second, func() bool { return len(readHookLog(t, hostLog)) >= 5 })
	want = append(want,
		hookLine{"startContainer", "created", id, ctrNS, p},
		hookLine{"poststart", "running", id, hostNS, p})
	checkHooks(t, "after start", readHookLog(t, hostLog), want)
	if len(got) != 5 {
		t.Errorf("when start returned, %d hooks had run, want 5: %v", len(got), got)
	}

	mustGorun(t, root, "kill", id, "KILL")
	waitStatus(t, root, id, "stopped", 2*time.Second)
	mustGorun(t, root, "delete", id)
	want = append(want, hookLine{"poststop", "stopped", id, hostNS, "any"})
	checkHooks(t, "after delete", readHookLog(t, hostLog), want)
}

func checkHooks(t *testing.T, when string, got, want []hookLine) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d hooks ran, want %d:\n got %v\nwant %v", when, len(got), len(want), got, want)
		return
	}
	for i := range want {
		g, w := got[i], want[i]
		if w.name == "startContainer" && g.name == w.name && (g.status == "created" || g.status == "running") {
			w.status = g.status // the runtime-spec leaves this one open
		}
		if w.pid == "any" {
			w.pid = g.pid
		}
		if g != w {
			t.Errorf("%s: hook %d: got %v, want %v", when, i, g, w)
		}
	}
}

func TestFailingPrestartHook(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	logDir, hostLog, script := hookFiles(t)
	b := sh(t, "touch /hooklog/ran")
	bindMount(b.Spec, logDir, "/hooklog")
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	b.Spec.Hooks = &specs.Hooks{
		Prestart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo prestart says no >&2; exit 3"}, Env: env}},
		CreateContainer: []specs.Hook{{Path: script, Args: []string{"hook.sh", "createContainer", hostLog},
			Env: env}},
	}
	writeBundle(t, b)
	mustDelete(t, root, id)
	out, errOut, code := gorun(t, root, "create", "--bundle", b.Dir, id)
	expectFailure(t, "create with a failing prestart hook", out, errOut, code, "prestart")
	if _, err := os.Lstat(filepath.Join(root, id)); !os.IsNotExist(err) {
		t.Errorf("state left after a failed create: %v", err)
	}
	if got := readHookLog(t, hostLog); len(got) != 0 {
		t.Errorf("hooks after the failing prestart ran: %v", got)
	}
	if ids := lines(mustGorun(t, root, "list", "-q")); len(ids) != 0 {
		t.Errorf("list after a failed create: %v", ids)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(logDir, "ran")); err == nil {
		t.Error("the container's process ran")
	}
}

// TestFailingLaterHooks: runtime-spec's rules for hooks that fail after
// create. A failing startContainer hook makes start fail, the program never
// runs; a failing poststart hook makes start fail and stops the container;
// a failing poststop hook is a warning, and the hooks after it still run.
func TestFailingLaterHooks(t *testing.T) {
	root := setup(t)
	logDir := hostDir(t)
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	fail := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "echo hook says no >&2; exit 3"}, Env: env}

	t.Run("startContainer", func(t *testing.T) {
		id := containerID(t)
		b := sh(t, "touch /hooklog/ran-start; sleep 300")
		bindMount(b.Spec, logDir, "/hooklog")
		b.Spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{fail}}
		writeBundle(t, b)
		create(t, root, b, id)
		out, errOut, code := gorun(t, root, "start", id)
		expectFailure(t, "start with a failing startContainer hook", out, errOut, code, "hooks.startContainer[0]", "exit status 3")
		waitStatus(t, root, id, "stopped", 2*time.Second)
		if _, err := os.Stat(filepath.Join(logDir, "ran-start")); err == nil {
			t.Error("the container's program ran")
		}
		mustGorun(t, root, "delete", id)
	})

	t.Run("poststart", func(t *testing.T) {
		id := containerID(t)
		b := sh(t, "sleep 300")
		b.Spec.Hooks = &specs.Hooks{Poststart: []specs.Hook{fail}}
		writeBundle(t, b)
		create(t, root, b, id)
		out, errOut, code := gorun(t, root, "start", id)
		expectFailure(t, "start with a failing poststart hook", out, errOut, code, "hooks.poststart[0]")
		waitStatus(t, root, id, "stopped", 2*time.Second)
		mustGorun(t, root, "delete", id)
	})

	t.Run("poststop", func(t *testing.T) {
		id := containerID(t)
		b := sh(t, "true")
		mark := filepath.Join(logDir, "second-poststop")
		b.Spec.Hooks = &specs.Hooks{Poststop: []specs.Hook{fail,
			{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + mark}, Env: env}}}
		writeBundle(t, b)
		create(t, root, b, id)
		mustGorun(t, root, "start", id)
		waitStatus(t, root, id, "stopped", 2*time.Second)
		out, errOut, code := gorun(t, root, "delete", id)
		if code != 0 || !strings.Contains(errOut, "hooks.poststop[0]") {
			t.Errorf("delete with a failing poststop hook: exit %d, stdout %q, stderr %q; want success and a warning", code, out, errOut)
		}
		if _, err := os.Stat(mark); err != nil {
			t.Errorf("the poststop hook after the failing one did not run: %v", err)
		}
	})
}
