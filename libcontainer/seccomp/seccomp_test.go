package seccomp

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

func uptr(v uint) *uint { return &v }

// helperEnv makes the test binary a helper that loads the filter given as
// JSON and reports which umask(2) arguments it blocks: umask is harmless
// and takes any value, so it carries the argument comparisons.
const helperEnv = "GORUN_SECCOMP_TEST_FILTER"

func TestMain(m *testing.M) {
	if js := os.Getenv(helperEnv); js != "" {
		runtime.LockOSThread()
		var sc rspec.LinuxSeccomp
		if err := json.Unmarshal([]byte(js), &sc); err != nil {
			fmt.Println("bad filter:", err)
			os.Exit(2)
		}
		f, err := Build(&sc)
		if err != nil {
			fmt.Println("build:", err)
			os.Exit(2)
		}
		if _, err := f.Load(); err != nil {
			fmt.Println("load:", err)
			os.Exit(2)
		}
		var blocked []string
		for _, v := range []uintptr{0, 0o10, 0o12, 0o17, 0o23, 0o34} {
			_, _, e := unix.RawSyscall(unix.SYS_UMASK, v, 0, 0)
			if e == unix.ECHRNG {
				blocked = append(blocked, fmt.Sprintf("%o", v))
			}
		}
		fmt.Println(strings.Join(blocked, " "))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// blockedUmasks loads sc in a helper process and returns the umask
// arguments (octal) it refused with ECHRNG.
func blockedUmasks(t *testing.T, sc *rspec.LinuxSeccomp) string {
	t.Helper()
	js, _ := json.Marshal(sc)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(js))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func umaskRule(op rspec.LinuxSeccompOperator, value, valueTwo uint64) *rspec.LinuxSeccomp {
	return &rspec.LinuxSeccomp{
		DefaultAction: rspec.ActAllow,
		Syscalls: []rspec.LinuxSyscall{{
			Names: []string{"umask"}, Action: rspec.ActErrno, ErrnoRet: uptr(uint(unix.ECHRNG)),
			Args: []rspec.LinuxSeccompArg{{Index: 0, Op: op, Value: value, ValueTwo: valueTwo}},
		}},
	}
}

// TestOperators loads a filter per operator (umask's argument against 012)
// and checks which of 0, 010, 012, 017, 023, 034 it blocks.
func TestOperators(t *testing.T) {
	cases := []struct {
		op      rspec.LinuxSeccompOperator
		v, v2   uint64
		blocked string
	}{
		{rspec.OpEqualTo, 0o12, 0, "12"},
		{rspec.OpNotEqual, 0o12, 0, "0 10 17 23 34"},
		{rspec.OpLessThan, 0o12, 0, "0 10"},
		{rspec.OpLessEqual, 0o12, 0, "0 10 12"},
		{rspec.OpGreaterEqual, 0o12, 0, "12 17 23 34"},
		{rspec.OpGreaterThan, 0o12, 0, "17 23 34"},
		// value is the mask, valueTwo what the masked argument equals.
		{rspec.OpMaskedEqual, 0o10, 0o10, "10 12 17 34"},
		{rspec.OpMaskedEqual, 0o10, 0, "0 23"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s_%o_%o", c.op, c.v, c.v2), func(t *testing.T) {
			if got := blockedUmasks(t, umaskRule(c.op, c.v, c.v2)); got != c.blocked {
				t.Errorf("blocked %q, want %q", got, c.blocked)
			}
		})
	}
}

// TestSameArgumentTwice: comparisons of one argument are ORed (one rule
// each), comparisons of different arguments ANDed.
func TestSameArgumentTwice(t *testing.T) {
	sc := umaskRule(rspec.OpEqualTo, 0o10, 0)
	sc.Syscalls[0].Args = append(sc.Syscalls[0].Args, rspec.LinuxSeccompArg{Index: 0, Op: rspec.OpEqualTo, Value: 0o34})
	if got := blockedUmasks(t, sc); got != "10 34" {
		t.Errorf("blocked %q, want %q", got, "10 34")
	}
	// Argument 1 of umask is whatever is in the register: 0 here.
	sc = umaskRule(rspec.OpGreaterEqual, 0o12, 0)
	sc.Syscalls[0].Args = append(sc.Syscalls[0].Args, rspec.LinuxSeccompArg{Index: 1, Op: rspec.OpEqualTo, Value: 1})
	if got := blockedUmasks(t, sc); got != "" {
		t.Errorf("AND with a false condition blocked %q", got)
	}
}

func TestDefaultErrnoRet(t *testing.T) {
	sc := &rspec.LinuxSeccomp{
		DefaultAction:   rspec.ActErrno,
		DefaultErrnoRet: uptr(uint(unix.ECHRNG)),
		Syscalls: []rspec.LinuxSyscall{{
			Names: []string{"umask"}, Action: rspec.ActAllow,
			Args: []rspec.LinuxSeccompArg{{Index: 0, Op: rspec.OpNotEqual, Value: 0o23}},
		}, {
			// Everything the helper, and the Go runtime's other threads
			// around it (new threads, signals, memory, timers), may need
			// to print and exit.
			Names: []string{"write", "exit_group", "exit", "futex", "rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "sigaltstack",
				"nanosleep", "clock_nanosleep", "clock_gettime", "sched_yield", "sched_getaffinity", "tgkill", "tkill", "getpid", "gettid",
				"madvise", "mmap", "munmap", "mprotect", "brk", "epoll_pwait", "epoll_wait", "epoll_ctl", "fcntl", "clone", "clone3",
				"set_robust_list", "rseq", "prlimit64", "getrlimit", "read", "close", "openat", "pipe2", "eventfd2"},
			Action: rspec.ActAllow,
		}},
	}
	if got := blockedUmasks(t, sc); got != "23" {
		t.Errorf("blocked %q, want %q", got, "23")
	}
}

func TestUnknownNamesSkipped(t *testing.T) {
	sc := umaskRule(rspec.OpEqualTo, 0o12, 0)
	sc.Syscalls[0].Names = []string{"no_such_syscall", "umask", "neither_this_one"}
	f, err := Build(sc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	if strings.Join(f.Skipped, ",") != "no_such_syscall,neither_this_one" {
		t.Errorf("skipped %v", f.Skipped)
	}
	if got := blockedUmasks(t, sc); got != "12" {
		t.Errorf("blocked %q, want 12", got)
	}
}

func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name  string
		sc    rspec.LinuxSeccomp
		field string
	}{
		{"notify default", rspec.LinuxSeccomp{DefaultAction: rspec.ActNotify}, "linux.seccomp.defaultAction"},
		{"unknown default", rspec.LinuxSeccomp{DefaultAction: "SCMP_ACT_MAYBE"}, "linux.seccomp.defaultAction"},
		{"errnoRet on allow", rspec.LinuxSeccomp{DefaultAction: rspec.ActAllow, DefaultErrnoRet: uptr(1)}, "linux.seccomp.defaultAction"},
		{"errno too big", rspec.LinuxSeccomp{DefaultAction: rspec.ActAllow, Syscalls: []rspec.LinuxSyscall{{Names: []string{"umask"}, Action: rspec.ActErrno, ErrnoRet: uptr(70000)}}}, "linux.seccomp.syscalls[0].action"},
		{"bad arch", rspec.LinuxSeccomp{DefaultAction: rspec.ActAllow, Architectures: []rspec.Arch{"SCMP_ARCH_VAX"}}, "linux.seccomp.architectures[0]"},
		{"bad flag", rspec.LinuxSeccomp{DefaultAction: rspec.ActAllow, Flags: []rspec.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NOPE"}}, "linux.seccomp.flags[0]"},
		{"bad op", rspec.LinuxSeccomp{DefaultAction: rspec.ActAllow, Syscalls: []rspec.LinuxSyscall{{Names: []string{"umask"}, Action: rspec.ActErrno, Args: []rspec.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_ABOUT"}}}}}, "linux.seccomp.syscalls[0].args[0].op"},
		{"bad index", rspec.LinuxSeccomp{DefaultAction: rspec.ActAllow, Syscalls: []rspec.LinuxSyscall{{Names: []string{"umask"}, Action: rspec.ActErrno, Args: []rspec.LinuxSeccompArg{{Index: 6, Op: rspec.OpEqualTo}}}}}, "linux.seccomp.syscalls[0].args[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Build(&c.sc)
			if err == nil {
				f.Release()
				t.Fatal("no error")
			}
			var e *errs.Error
			if !errors.As(err, &e) || e.Field != c.field {
				t.Errorf("error %v (field %q), want field %q", err, e.Field, c.field)
			}
		})
	}
}

// TestWaitKillableRecv: the flag needs libseccomp 2.6; with an older one
// the error says so.
func TestWaitKillableRecv(t *testing.T) {
	sc := &rspec.LinuxSeccomp{DefaultAction: rspec.ActAllow, Flags: []rspec.LinuxSeccompFlag{FlagWaitKillableRecv}}
	f, err := Build(sc)
	supported := strings.Contains(strings.Join(SupportedFlags(), ","), string(FlagWaitKillableRecv))
	switch {
	case supported && err != nil:
		t.Errorf("libseccomp %s supports it, but: %v", LibraryVersion(), err)
	case !supported && (err == nil || !strings.Contains(err.Error(), "libseccomp 2.6")):
		t.Errorf("libseccomp %s: error %v, want one naming libseccomp 2.6", LibraryVersion(), err)
	}
	if f != nil {
		f.Release()
	}
}

// TestPFC checks what libseccomp made of a profile with every action,
// flags and an extra architecture.
func TestPFC(t *testing.T) {
	sc := &rspec.LinuxSeccomp{
		DefaultAction: rspec.ActAllow,
		Architectures: []rspec.Arch{rspec.ArchX86_64, rspec.ArchX86, rspec.ArchX32},
		Flags:         []rspec.LinuxSeccompFlag{FlagLog, FlagSpecAllow, FlagTsync},
		Syscalls: []rspec.LinuxSyscall{
			{Names: []string{"mkdir"}, Action: rspec.ActKill},
			{Names: []string{"rmdir"}, Action: rspec.ActKillProcess},
			{Names: []string{"link"}, Action: rspec.ActKillThread},
			{Names: []string{"unlink"}, Action: rspec.ActTrap},
			{Names: []string{"symlink"}, Action: rspec.ActErrno, ErrnoRet: uptr(44)},
			{Names: []string{"rename"}, Action: rspec.ActTrace, ErrnoRet: uptr(7)},
			{Names: []string{"chmod"}, Action: rspec.ActLog},
			{Names: []string{"chown"}, Action: rspec.ActNotify},
			{Names: []string{"getpid"}, Action: rspec.ActAllow}, // same as the default: dropped
		},
	}
	if runtime.GOARCH != "amd64" {
		sc.Architectures = nil
	}
	f, err := Build(sc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	if !f.Notify() || !NeedsListener(sc) {
		t.Error("a notify rule is not reported")
	}
	p := filepath.Join(t.TempDir(), "pfc")
	out, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ExportPFC(out); err != nil {
		t.Fatal(err)
	}
	out.Close()
	pfc, _ := os.ReadFile(p)
	for _, want := range []string{
		"action KILL;", "action KILL_PROCESS;", "action TRAP;", "action ERRNO(44);",
		"action TRACE(7);", "action LOG;",
	} {
		if !strings.Contains(string(pfc), want) {
			t.Errorf("PFC lacks %q:\n%s", want, pfc)
		}
	}
	// libseccomp 2.5 prints SCMP_ACT_NOTIFY as its value.
	if !strings.Contains(string(pfc), "action NOTIFY;") && !strings.Contains(string(pfc), "action 0x7fc00000;") {
		t.Errorf("PFC lacks the notify action:\n%s", pfc)
	}
	if strings.Contains(string(pfc), `"getpid"`) {
		t.Errorf("PFC has a rule for getpid, which does what the default does")
	}
	if runtime.GOARCH == "amd64" {
		for _, want := range []string{"# filter for arch x86_64", "# filter for arch x86 ", "# filter for arch x32"} {
			if !strings.Contains(string(pfc), want) {
				t.Errorf("PFC lacks %q", want)
			}
		}
	}
}

func TestNames(t *testing.T) {
	if len(Actions()) != 9 || len(Operators()) != 7 || len(Archs()) != 23 || len(KnownFlags()) != 4 {
		t.Errorf("actions %v operators %v archs %v flags %v", Actions(), Operators(), Archs(), KnownFlags())
	}
	for _, a := range Archs() {
		if _, err := arch(rspec.Arch(a)); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
}

// TestBinaryTree: a profile of many syscalls compiles to a binary search
// over the syscall number (comparisons with jgt/jge), not to one equality
// test after another, which the kernel pays for at every load.
func TestBinaryTree(t *testing.T) {
	names := []string{"read", "write", "openat", "close", "fstat", "lseek", "mmap", "mprotect", "munmap", "brk",
		"rt_sigaction", "rt_sigprocmask", "ioctl", "pread64", "pwrite64", "readv", "writev", "access", "pipe", "select",
		"sched_yield", "mremap", "msync", "mincore", "madvise", "dup", "dup2", "nanosleep", "getpid", "socket",
		"connect", "accept", "sendto", "recvfrom", "clone", "fork", "execve", "exit", "wait4", "kill"}
	f, err := Build(&rspec.LinuxSeccomp{DefaultAction: rspec.ActErrno, Syscalls: []rspec.LinuxSyscall{{Names: names, Action: rspec.ActAllow}}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	p, err := f.Program()
	if err != nil {
		t.Fatal(err)
	}
	const jgt, jge = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	ranges := 0
	for i := 0; i+8 <= len(p.BPF); i += 8 {
		if code := uint16(p.BPF[i]) | uint16(p.BPF[i+1])<<8; code == jgt || code == jge {
			ranges++
		}
	}
	if ranges < 5 {
		t.Errorf("%d range comparisons in a filter of %d syscalls (%d instructions): not a binary tree", ranges, len(names), len(p.BPF)/8)
	}
}
