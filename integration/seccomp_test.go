package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/tests/bundle"
)

// The seccomp tests load linux.seccomp profiles into busybox containers
// and watch what the container's syscalls get. ECHRNG ("Channel number out
// of range") is the errno of choice: nothing else returns it here.

const echrng = "Channel number out of range"

func uintPtr(v uint) *uint { return &v }

// mkdirRule is a rule for both ways of calling mkdir.
func mkdirRule(act specs.LinuxSeccompAction, errnoRet *uint) specs.LinuxSyscall {
	return specs.LinuxSyscall{Names: []string{"mkdir", "mkdirat"}, Action: act, ErrnoRet: errnoRet}
}

// seccompBundle makes a busybox bundle running script, with sectool, and
// the profile.
func seccompBundle(t *testing.T, script string, sc *specs.LinuxSeccomp) *bundle.Bundle {
	t.Helper()
	b := sh(t, script)
	addSectool(t, b)
	b.Spec.Linux.Seccomp = sc
	writeBundle(t, b)
	return b
}

func allowAll(rules ...specs.LinuxSyscall) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: rules}
}

func TestSeccompActionErrno(t *testing.T) {
	root := setup(t)
	b := seccompBundle(t, `mkdir /tmp/x; echo "rc=$?"; [ -d /tmp/x ] || echo "no dir"`,
		allowAll(mkdirRule(specs.ActErrno, uintPtr(uint(unix.ECHRNG)))))
	out, errOut, code := runContainer(t, root, b, containerID(t))
	if code != 0 || !strings.Contains(out, "rc=1\nno dir\n") || !strings.Contains(errOut, echrng) {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s\nwant mkdir to fail with %q", code, out, errOut, echrng)
	}
}

// TestSeccompActionErrnoDefault: SCMP_ACT_ERRNO without errnoRet is EPERM.
func TestSeccompActionErrnoDefault(t *testing.T) {
	root := setup(t)
	b := seccompBundle(t, `mkdir /tmp/x`, allowAll(mkdirRule(specs.ActErrno, nil)))
	_, errOut, code := runContainer(t, root, b, containerID(t))
	if code != 1 || !strings.Contains(errOut, "Operation not permitted") {
		t.Errorf("exit %d, stderr %q; want EPERM", code, errOut)
	}
}

// TestSeccompActionKill: KILL, KILL_THREAD and KILL_PROCESS end a
// single-threaded mkdir with SIGSYS (exit 128+31 in the shell).
func TestSeccompActionKill(t *testing.T) {
	root := setup(t)
	for _, act := range []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillThread, specs.ActKillProcess} {
		t.Run(string(act), func(t *testing.T) {
			b := seccompBundle(t, `(/bin/mkdir /tmp/x); echo "rc=$?"; [ -d /tmp/x ] || echo "no dir"`,
				allowAll(mkdirRule(act, nil)))
			// The shell reports "Bad system call" on stderr.
			if out, errOut, code := runContainer(t, root, b, containerID(t)); code != 0 || out != "rc=159\nno dir\n" {
				t.Errorf("exit %d, stdout %q, stderr %q; want rc=159 (SIGSYS) and no dir", code, out, errOut)
			}
		})
	}
}

// TestSeccompActionKillThreadVsProcess: a thread's mkdir kills only that
// thread under KILL_THREAD, the whole process under KILL_PROCESS.
func TestSeccompActionKillThreadVsProcess(t *testing.T) {
	root := setup(t)
	for act, want := range map[specs.LinuxSeccompAction]string{
		specs.ActKillThread:  "main alive\nrc=0\n",
		specs.ActKillProcess: "rc=159\n",
	} {
		t.Run(string(act), func(t *testing.T) {
			b := seccompBundle(t, `sectool thread-mkdir /tmp/x; echo "rc=$?"`, allowAll(mkdirRule(act, nil)))
			if out, errOut, code := runContainer(t, root, b, containerID(t)); code != 0 || out != want {
				t.Errorf("exit %d, stdout %q, stderr %q; want stdout %q", code, out, errOut, want)
			}
		})
	}
}

func TestSeccompActionTrap(t *testing.T) {
	root := setup(t)
	b := seccompBundle(t, `sectool trap-mkdir /tmp/x; [ -d /tmp/x ] || echo "no dir"`,
		allowAll(mkdirRule(specs.ActTrap, nil)))
	out := mustRun(t, root, b, containerID(t))
	want := fmt.Sprintf("trapped syscall=%d\nno dir\n", unix.SYS_MKDIR)
	if out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
}

// TestSeccompActionTrace: with no tracer attached the syscall fails with
// ENOSYS.
func TestSeccompActionTrace(t *testing.T) {
	root := setup(t)
	b := seccompBundle(t, `mkdir /tmp/x`, allowAll(mkdirRule(specs.ActTrace, uintPtr(7))))
	_, errOut, code := runContainer(t, root, b, containerID(t))
	if code != 1 || !strings.Contains(errOut, "Function not implemented") {
		t.Errorf("exit %d, stderr %q; want ENOSYS", code, errOut)
	}
}

// TestSeccompActionAllow: under a default that refuses, a conditional
// ALLOW lets through only the calls it matches (chmod with mode 0700).
func TestSeccompActionAllow(t *testing.T) {
	root := setup(t)
	sc := defaultProfileWith(t, uint(unix.ECHRNG))
	sc.Syscalls = withoutNames(sc.Syscalls, "chmod", "fchmodat", "fchmodat2")
	sc.Syscalls = append(sc.Syscalls, specs.LinuxSyscall{Names: []string{"chmod"}, Action: specs.ActAllow,
		Args: []specs.LinuxSeccompArg{{Index: 1, Op: specs.OpEqualTo, Value: 0o700}}})
	b := seccompBundle(t, `mkdir -m 700 /tmp/a && echo a ok; mkdir -m 755 /tmp/b 2>&1; ls -ld /tmp/a /tmp/b | cut -c1-10`, sc)
	out := mustRun(t, root, b, containerID(t))
	if !strings.Contains(out, "a ok\n") || !strings.Contains(out, echrng) || !strings.Contains(out, "drwx------\n") {
		t.Errorf("stdout %q: want chmod 0700 allowed and chmod 0755 refused with ECHRNG", out)
	}
}

// TestSeccompActionLog: SCMP_ACT_LOG lets the call through (the kernel logs
// it through audit).
func TestSeccompActionLog(t *testing.T) {
	root := setup(t)
	b := seccompBundle(t, `mkdir /tmp/x && [ -d /tmp/x ] && echo made`, allowAll(mkdirRule(specs.ActLog, nil)))
	if out := mustRun(t, root, b, containerID(t)); out != "made\n" {
		t.Errorf("stdout %q", out)
	}
}

// TestSeccompOperators: one container per operator, each refusing umask(2)
// calls whose argument compares to 012 (octal) and reporting which of 0,
// 010, 012, 017, 023 and 034 were refused.
func TestSeccompOperators(t *testing.T) {
	root := setup(t)
	cases := []struct {
		op      specs.LinuxSeccompOperator
		v, v2   uint64
		refused string
	}{
		{specs.OpEqualTo, 0o12, 0, "012"},
		{specs.OpNotEqual, 0o12, 0, "0 010 017 023 034"},
		{specs.OpLessThan, 0o12, 0, "0 010"},
		{specs.OpLessEqual, 0o12, 0, "0 010 012"},
		{specs.OpGreaterEqual, 0o12, 0, "012 017 023 034"},
		{specs.OpGreaterThan, 0o12, 0, "017 023 034"},
		{specs.OpMaskedEqual, 0o10, 0o10, "010 012 017 034"}, // value is the mask
	}
	script := `r=""; for v in 0 010 012 017 023 034; do sectool sys ` + strconv.Itoa(unix.SYS_UMASK) +
		` $v | grep -q "errno=` + strconv.Itoa(int(unix.ECHRNG)) + `" && r="$r $v"; done; echo "refused:${r:- none}"`
	for _, c := range cases {
		t.Run(string(c.op), func(t *testing.T) {
			sc := allowAll(specs.LinuxSyscall{Names: []string{"umask"}, Action: specs.ActErrno, ErrnoRet: uintPtr(uint(unix.ECHRNG)),
				Args: []specs.LinuxSeccompArg{{Index: 0, Op: c.op, Value: c.v, ValueTwo: c.v2}}})
			b := seccompBundle(t, script, sc)
			got := strings.TrimSpace(mustRun(t, root, b, containerID(t)))
			if want := "refused: " + c.refused; got != want {
				t.Errorf("%q, want %q", got, want)
			}
		})
	}
}

// TestSeccompSameArgumentTwice: two comparisons of one argument match
// either (0 and 034 refused), as the default profile's personality rules
// expect.
func TestSeccompSameArgumentTwice(t *testing.T) {
	root := setup(t)
	sc := allowAll(specs.LinuxSyscall{Names: []string{"umask"}, Action: specs.ActErrno, ErrnoRet: uintPtr(uint(unix.ECHRNG)),
		Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: 0}, {Index: 0, Op: specs.OpEqualTo, Value: 0o34}}})
	b := seccompBundle(t, `for v in 0 012 034; do sectool sys `+strconv.Itoa(unix.SYS_UMASK)+` $v | cut -d= -f1; done`, sc)
	out := mustRun(t, root, b, containerID(t))
	want := "errno\nret\nerrno\n"
	if out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
}

// TestSeccompDefaultErrnoRet: the default action's errno is
// defaultErrnoRet; with the default profile, mount(2) gets it.
func TestSeccompDefaultErrnoRet(t *testing.T) {
	root := setup(t)
	b := seccompBundle(t, `echo hello; ls / >/dev/null && echo listed; mount -t tmpfs none /mnt 2>&1`, defaultProfileWith(t, uint(unix.ECHRNG)))
	out, errOut, _ := runContainer(t, root, b, containerID(t))
	if !strings.HasPrefix(out, "hello\nlisted\n") || !strings.Contains(out, echrng) {
		t.Errorf("stdout %q, stderr %q: want busybox to work and mount to get ECHRNG", out, errOut)
	}
}

// TestSeccompDefaultProfile: the profile `gorun spec` writes runs a busybox
// workload, and refuses what reaches past the container: namespaces
// (unshare -U, clone with CLONE_NEWUSER), mount, keyctl, unusual
// personalities; clone3 gets ENOSYS so the C library falls back to clone.
func TestSeccompDefaultProfile(t *testing.T) {
	root := setup(t)
	sys := func(nr int, args ...string) string {
		return "sectool sys " + strconv.Itoa(nr) + " " + strings.Join(args, " ")
	}
	script := strings.Join([]string{
		`ls / | grep -cx bin`,
		`grep ^root: /etc/passwd | cut -d: -f7`,
		`sleep 0.01 && (echo sub) && date +%Y >/dev/null && echo workload ok`,
		`unshare -U true 2>&1 | grep -q "Operation not permitted" && echo unshare refused`,
		`mount -t tmpfs none /mnt 2>&1 | grep -qi "permission denied" && echo mount refused`,
		sys(unix.SYS_KEYCTL, "0", "0"),                                          // KEYCTL_GET_KEYRING_ID
		sys(unix.SYS_CLONE, strconv.Itoa(unix.CLONE_NEWUSER|int(unix.SIGCHLD))), // refused before it forks
		sys(unix.SYS_CLONE3, "0", "0"),
		sys(unix.SYS_PERSONALITY, "0xffffffff"),
		sys(unix.SYS_PERSONALITY, "0x0006"),  // PER_BSD
		sys(unix.SYS_PTRACE, "12", "999999"), // PTRACE_GETREGS: allowed, no such process
	}, "; ")
	b := seccompBundle(t, script, defaultProfileWith(t, uint(unix.EPERM)))
	got := lines(mustRun(t, root, b, containerID(t)))
	want := []string{
		"1", "/bin/sh", "sub", "workload ok", "unshare refused", "mount refused",
		"errno=1 Operation not permitted", "errno=1 Operation not permitted",
		"errno=38 Function not implemented", "ret=0", "errno=1 Operation not permitted",
		"errno=3 No such process",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSeccompUnknownSyscallSkipped: a name libseccomp does not know is
// ignored, as the runtime-spec says; the rest of the rule applies.
func TestSeccompUnknownSyscallSkipped(t *testing.T) {
	root := setup(t)
	rule := mkdirRule(specs.ActErrno, uintPtr(uint(unix.ECHRNG)))
	rule.Names = append(rule.Names, "gorun_no_such_syscall", "another_unknown_one")
	b := seccompBundle(t, `mkdir /tmp/x`, allowAll(rule))
	_, errOut, code := runContainer(t, root, b, containerID(t))
	if code != 1 || !strings.Contains(errOut, echrng) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestSeccompFlagsAndArchitectures: LOG, SPEC_ALLOW and TSYNC and the
// x86 family of architectures load; WAIT_KILLABLE_RECV needs libseccomp
// 2.6 and says so when gorun runs with an older one.
func TestSeccompFlagsAndArchitectures(t *testing.T) {
	root := setup(t)
	sc := allowAll(mkdirRule(specs.ActErrno, uintPtr(uint(unix.ECHRNG))))
	sc.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow, "SECCOMP_FILTER_FLAG_TSYNC"}
	sc.Architectures = []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	b := seccompBundle(t, `grep ^Seccomp: /proc/self/status; mkdir /tmp/x 2>&1; true`, sc)
	out := mustRun(t, root, b, containerID(t))
	if !strings.Contains(out, "Seccomp:\t2\n") || !strings.Contains(out, echrng) {
		t.Errorf("stdout %q: want filter mode 2 and mkdir refused", out)
	}

	sc.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}
	b = seccompBundle(t, `true`, sc)
	major, minor, _ := libseccomp.GetLibraryVersion()
	out, errOut, code := runContainer(t, root, b, containerID(t, "wait-killable"))
	if major == 2 && minor < 6 {
		expectFailure(t, "WAIT_KILLABLE_RECV with libseccomp 2.5", out, errOut, code, "linux.seccomp.flags[0]", "libseccomp 2.6")
	} else if code != 0 {
		t.Errorf("WAIT_KILLABLE_RECV: exit %d, stderr %s", code, errOut)
	}
}

// TestSeccompWithoutNoNewPrivileges: without no_new_privileges the filter
// is loaded while the init still holds CAP_SYS_ADMIN, before it becomes
// uid 1000; it still applies, and no_new_privs stays off.
func TestSeccompWithoutNoNewPrivileges(t *testing.T) {
	root := setup(t)
	b := seccompBundle(t, `grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status; id -u; mkdir /tmp/x 2>&1; true`,
		allowAll(mkdirRule(specs.ActErrno, uintPtr(uint(unix.ECHRNG)))))
	b.Spec.Process.NoNewPrivileges = false
	b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
	writeBundle(t, b)
	out := mustRun(t, root, b, containerID(t))
	want := "NoNewPrivs:\t0\nSeccomp:\t2\n1000\n"
	if !strings.HasPrefix(out, want) || !strings.Contains(out, echrng) {
		t.Errorf("stdout %q, want %q then mkdir refused", out, want)
	}
}

// TestSeccompExec: a process started by `gorun exec` gets the container's
// filter too: through the compiled program the state names (with
// --process, exec reads no config, shown here by a config it could not
// parse), and, once the cache lost that program, compiled again from the
// container's config.
func TestSeccompExec(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	b := seccompBundle(t, `exec sleep 100`, allowAll(mkdirRule(specs.ActErrno, uintPtr(uint(unix.ECHRNG)))))
	create(t, root, b, id)
	mustGorun(t, root, "start", id)
	execMkdir := func(step string, args ...string) {
		t.Helper()
		out, errOut, code := gorun(t, root, append([]string{"exec"}, args...)...)
		if code != 1 || !strings.Contains(errOut, echrng) {
			t.Errorf("%s: exec mkdir: exit %d, stdout %q, stderr %q; want mkdir refused with %q", step, code, out, errOut, echrng)
		}
	}
	execMkdir("cached program", id, "mkdir", "/tmp/x")

	config := filepath.Join(root, id, "config.json")
	good, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(specs.Process{Args: []string{"mkdir", "/tmp/y"}, Cwd: "/", Env: []string{"PATH=/bin"}})
	pf := filepath.Join(t.TempDir(), "process.json")
	os.WriteFile(pf, data, 0o644)
	execMkdir("--process, config unreadable", "--process", pf, id)
	if err := os.WriteFile(config, good, 0o600); err != nil {
		t.Fatal(err)
	}

	cached, _ := filepath.Glob(filepath.Join(root, "@cache", "seccomp", "*.json"))
	if len(cached) == 0 {
		t.Fatal("no compiled program in the seccomp cache")
	}
	for _, f := range cached {
		os.Remove(f)
	}
	execMkdir("program not cached", id, "mkdir", "/tmp/z")
}

// TestSeccompNotify: SCMP_ACT_NOTIFY rules send the notify fd, with the
// container's state and listenerMetadata, to an agent on listenerPath; the
// agent answers the container's mkdir calls (here: a fake success). Both
// the init and an exec'd process are covered.
func TestSeccompNotify(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	agent := startAgent(t)
	sc := allowAll(mkdirRule(specs.ActNotify, nil))
	sc.ListenerPath = agent.path
	sc.ListenerMetadata = "gorun-test-metadata"
	b := seccompBundle(t, `mkdir /tmp/a && echo "mkdir said ok"; [ -d /tmp/a ] || echo "but made nothing"; exec sleep 100`, sc)
	c := create(t, root, b, id)
	initPid := state(t, root, id).Pid
	mustGorun(t, root, "start", id)
	if !c.waitOutput("but made nothing\n", 10*time.Second) {
		out, errOut := c.output()
		t.Fatalf("container output %q, stderr %q; want the agent's fake success", out, errOut)
	}
	got := agent.next(t)
	if got.state.Version == "" || len(got.state.Fds) != 1 || got.state.Fds[0] != specs.SeccompFdName ||
		got.state.Pid != initPid || got.state.Metadata != "gorun-test-metadata" ||
		got.state.State.ID != id || got.state.State.Pid != initPid || got.state.State.Bundle != b.Dir {
		t.Errorf("agent got %+v; want fds [seccompFd], pid %d, the metadata and the container's state", got.state, initPid)
	}
	if got.syscalls == 0 {
		t.Error("the agent handled no syscall")
	}

	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	out, errOut, code := gorun(t, root, "exec", "--pid-file", pidFile, id, "sh", "-c", `mkdir /tmp/b && echo ok; [ -d /tmp/b ] || echo none`)
	if code != 0 || out != "ok\nnone\n" {
		t.Errorf("exec: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	got = agent.next(t)
	execPid, _ := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	if got.state.Pid != execPid || got.state.State.Pid != initPid || got.state.State.Status != specs.StateRunning {
		t.Errorf("exec: agent got pid %d, state pid %d status %q; want %d, %d, running", got.state.Pid, got.state.State.Pid, got.state.State.Status, execPid, initPid)
	}
}

// TestSeccompNotifyWithoutNoNewPrivileges: without no_new_privileges the
// filter is loaded, and the notify fd sent, before `gorun create` returns;
// the agent still gets it and answers.
func TestSeccompNotifyWithoutNoNewPrivileges(t *testing.T) {
	root := setup(t)
	agent := startAgent(t)
	sc := allowAll(mkdirRule(specs.ActNotify, nil))
	sc.ListenerPath = agent.path
	b := seccompBundle(t, `mkdir /tmp/a && echo "mkdir said ok"; [ -d /tmp/a ] || echo "but made nothing"`, sc)
	b.Spec.Process.NoNewPrivileges = false
	writeBundle(t, b)
	if out := mustRun(t, root, b, containerID(t)); out != "mkdir said ok\nbut made nothing\n" {
		t.Errorf("stdout %q", out)
	}
	if got := agent.next(t); got.syscalls == 0 || got.state.State.ID != containerID(t) {
		t.Errorf("agent got %+v", got)
	}
}

// TestSeccompNotifyNoAgent: nothing listens on listenerPath: create fails
// and names it.
func TestSeccompNotifyNoAgent(t *testing.T) {
	root := setup(t)
	sc := allowAll(mkdirRule(specs.ActNotify, nil))
	sc.ListenerPath = filepath.Join(t.TempDir(), "nobody.sock")
	b := seccompBundle(t, `true`, sc)
	out, errOut, code := runContainer(t, root, b, containerID(t))
	expectFailure(t, "notify without an agent", out, errOut, code, "linux.seccomp.listenerPath", sc.ListenerPath)
}

// agent is a seccomp agent for the notify test: it accepts connections on
// a unix socket, reads the ContainerProcessState and the notify fd, and
// answers every notification with success, without doing the syscall.
type agent struct {
	path     string
	ln       *net.UnixListener
	sessions chan agentSession
	wg       sync.WaitGroup
	closed   atomic.Bool
}

type agentSession struct {
	state    specs.ContainerProcessState
	syscalls int
	err      error
}

func startAgent(t *testing.T) *agent {
	t.Helper()
	a := &agent{path: filepath.Join(t.TempDir(), "agent.sock"), sessions: make(chan agentSession, 4)}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: a.path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	a.ln = ln
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			conn, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				a.serve(conn)
			}()
		}
	}()
	t.Cleanup(func() {
		a.closed.Store(true)
		ln.Close()
		a.wg.Wait()
	})
	return a
}

func (a *agent) serve(conn *net.UnixConn) {
	defer conn.Close()
	var s agentSession
	var data []byte
	notifyFd := -1
	buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		data = append(data, buf[:n]...)
		if oobn > 0 && notifyFd < 0 {
			if msgs, perr := unix.ParseSocketControlMessage(oob[:oobn]); perr == nil && len(msgs) == 1 {
				if fds, perr := unix.ParseUnixRights(&msgs[0]); perr == nil && len(fds) == 1 {
					notifyFd = fds[0]
				}
			}
		}
		if err != nil || n == 0 {
			break
		}
	}
	if s.err = json.Unmarshal(data, &s.state); s.err == nil && notifyFd < 0 {
		s.err = errors.New("no notify fd")
	}
	if notifyFd >= 0 {
		defer unix.Close(notifyFd)
		// Answer until the filter has no process left (POLLHUP) or the
		// test ends.
		for !a.closed.Load() {
			pfd := []unix.PollFd{{Fd: int32(notifyFd), Events: unix.POLLIN}}
			if n, err := unix.Poll(pfd, 100); err != nil && err != unix.EINTR || n > 0 && pfd[0].Revents&unix.POLLIN == 0 {
				break
			} else if n <= 0 {
				continue
			}
			req, err := libseccomp.NotifReceive(libseccomp.ScmpFd(notifyFd))
			if err != nil {
				continue
			}
			s.syscalls++
			libseccomp.NotifRespond(libseccomp.ScmpFd(notifyFd), &libseccomp.ScmpNotifResp{ID: req.ID})
			if s.syscalls == 1 {
				// Report as soon as the first call is answered.
				a.sessions <- s
			}
		}
	}
	if s.syscalls == 0 {
		a.sessions <- s
	}
}

// next waits for the next agent session to have its state (and its first
// syscall, if any).
func (a *agent) next(t *testing.T) agentSession {
	t.Helper()
	select {
	case s := <-a.sessions:
		if s.err != nil {
			t.Fatalf("agent: %v", s.err)
		}
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("the agent got no connection")
		return agentSession{}
	}
}

// defaultProfileWith is the profile `gorun spec` writes, with errno as its
// default errno.
func defaultProfileWith(t *testing.T, errno uint) *specs.LinuxSeccomp {
	t.Helper()
	dir := t.TempDir()
	mustGorun(t, t.TempDir(), "spec", "--bundle", dir)
	var s specs.Spec
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "config.json"))), &s); err != nil {
		t.Fatal(err)
	}
	if s.Linux == nil || s.Linux.Seccomp == nil {
		t.Fatal("gorun spec wrote no linux.seccomp")
	}
	sc := s.Linux.Seccomp
	sc.DefaultErrnoRet = &errno
	return sc
}

func withoutNames(rules []specs.LinuxSyscall, names ...string) []specs.LinuxSyscall {
	drop := map[string]bool{}
	for _, n := range names {
		drop[n] = true
	}
	var out []specs.LinuxSyscall
	for _, r := range rules {
		var keep []string
		for _, n := range r.Names {
			if !drop[n] {
				keep = append(keep, n)
			}
		}
		if len(keep) > 0 {
			r.Names = keep
			out = append(out, r)
		}
	}
	return out
}
