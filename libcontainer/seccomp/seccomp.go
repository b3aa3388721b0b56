// Package seccomp turns linux.seccomp into a BPF filter with libseccomp
// (github.com/seccomp/libseccomp-golang, cgo) and loads it. The child builds
// the filter early, so a bad profile fails `gorun create` or `gorun exec`
// with an error, and loads it last: just before execve, on the thread that
// execs (or, without no_new_privileges, before it gives up CAP_SYS_ADMIN).
// With an SCMP_ACT_NOTIFY rule the loaded filter yields a notify fd, which
// is sent to the agent at linux.seccomp.listenerPath (see notify.go).
package seccomp

import (
	"fmt"
	"log/slog"
	"os"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

const field = "linux.seccomp"

// Filter is a profile compiled by libseccomp, not yet loaded.
type Filter struct {
	f      *libseccomp.ScmpFilter
	notify bool
	flags  uint // SECCOMP_FILTER_FLAG_* from linux.seccomp.flags
	// Skipped lists the syscall names this libseccomp does not know. The
	// runtime-spec has a runtime ignore them rather than fail.
	Skipped []string
}

// Build compiles sc. It does not touch the kernel's seccomp state, so it is
// safe to call in any process.
func Build(sc *rspec.LinuxSeccomp) (_ *Filter, retErr error) {
	if sc.DefaultAction == rspec.ActNotify {
		return nil, errs.Field(field+".defaultAction", string(sc.DefaultAction), "use SCMP_ACT_NOTIFY only in syscalls rules", "cannot be the default action")
	}
	def, err := action(sc.DefaultAction, sc.DefaultErrnoRet)
	if err != nil {
		return nil, &errs.Error{Field: field + ".defaultAction", Value: string(sc.DefaultAction), Err: err}
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, &errs.Error{Field: field, Err: fmt.Errorf("libseccomp: %w", err)}
	}
	defer func() {
		if retErr != nil {
			f.Release()
		}
	}()
	// A binary search over the syscall numbers instead of one comparison
	// after another. The kernel runs the filter once per syscall number
	// when it is loaded, to cache which are always allowed: with the
	// default profile's ~970 instructions in a row that took 0.75 ms of
	// every container start and exec here. The tree makes every later
	// syscall cheaper to check too. Without it (libseccomp before 2.5)
	// the filter is the same, only slower.
	if err := f.SetOptimize(2); err != nil {
		slog.Debug("seccomp: libseccomp cannot build a binary tree filter", "err", err)
	}
	// libseccomp would set no_new_privileges on load; gorun sets it only
	// when process.noNewPrivileges asks.
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return nil, &errs.Error{Field: field, Err: fmt.Errorf("libseccomp: clear the no_new_privs attribute: %w", err)}
	}
	for i, a := range sc.Architectures {
		sa, err := arch(a)
		if err == nil {
			err = f.AddArch(sa)
		}
		if err != nil {
			return nil, &errs.Error{Field: fmt.Sprintf("%s.architectures[%d]", field, i), Value: string(a), Err: err, Hint: "libseccomp " + LibraryVersion() + " does not support it"}
		}
	}
	out := &Filter{f: f}
	for i, fl := range sc.Flags {
		if err := setFlag(f, fl); err != nil {
			return nil, &errs.Error{Field: fmt.Sprintf("%s.flags[%d]", field, i), Value: string(fl), Err: err}
		}
		out.flags |= kernelFlags[fl]
	}
	for i, sys := range sc.Syscalls {
		if err := out.addRule(i, sys, def); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// kernelFlags are the seccomp(2) flags that linux.seccomp.flags ask for
// (TSYNC is always set).
var kernelFlags = map[rspec.LinuxSeccompFlag]uint{
	FlagLog:              unix.SECCOMP_FILTER_FLAG_LOG,
	FlagSpecAllow:        unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	FlagWaitKillableRecv: unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
}

// setFlag applies one of linux.seccomp.flags.
func setFlag(f *libseccomp.ScmpFilter, fl rspec.LinuxSeccompFlag) error {
	switch fl {
	case FlagTsync:
		// libseccomp-golang sets TSYNC on every filter: the Go runtime's
		// other threads get the filter too.
		return nil
	case FlagLog:
		return f.SetLogBit(true)
	case FlagSpecAllow:
		return f.SetSSB(true)
	case FlagWaitKillableRecv:
		if err := f.SetWaitKill(true); err != nil {
			return fmt.Errorf("%w (needs libseccomp 2.6 or later; gorun runs with %s)", err, LibraryVersion())
		}
		return nil
	}
	return fmt.Errorf("unknown seccomp flag")
}

// addRule adds linux.seccomp.syscalls[i].
func (out *Filter) addRule(i int, sys rspec.LinuxSyscall, def libseccomp.ScmpAction) error {
	fieldI := fmt.Sprintf("%s.syscalls[%d]", field, i)
	act, err := action(sys.Action, sys.ErrnoRet)
	if err != nil {
		return &errs.Error{Field: fieldI + ".action", Value: string(sys.Action), Err: err}
	}
	if act == def {
		// libseccomp refuses a rule that does what the default does; it
		// is a no-op anyway.
		return nil
	}
	conds, err := conditions(fieldI, sys.Args)
	if err != nil {
		return err
	}
	for j, name := range sys.Names {
		nr, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			out.Skipped = append(out.Skipped, name)
			continue
		}
		for _, c := range conds {
			if len(c) == 0 {
				err = out.f.AddRule(nr, act)
			} else {
				err = out.f.AddRuleConditional(nr, act, c)
			}
			if err != nil {
				return &errs.Error{Field: fmt.Sprintf("%s.names[%d]", fieldI, j), Value: name, Err: fmt.Errorf("libseccomp: add rule: %w", err)}
			}
		}
		if sys.Action == rspec.ActNotify {
			out.notify = true
		}
	}
	return nil
}

// conditions turns a rule's args into the condition sets of libseccomp
// rules. All args of a rule must hold (AND) — except that libseccomp takes
// one comparison per argument, so where args compare one argument more
// than once, each arg becomes a rule of its own (OR), as other runtimes do
// and as profiles such as the default one rely on.
func conditions(fieldI string, args []rspec.LinuxSeccompArg) ([][]libseccomp.ScmpCondition, error) {
	if len(args) == 0 {
		return [][]libseccomp.ScmpCondition{nil}, nil
	}
	var all []libseccomp.ScmpCondition
	seen := map[uint]bool{}
	split := false
	for k, a := range args {
		op, ok := operators[a.Op]
		if !ok {
			return nil, errs.Field(fmt.Sprintf("%s.args[%d].op", fieldI, k), string(a.Op), "use one of "+fmt.Sprint(Operators()), "unknown comparison")
		}
		// MASKED_EQ: value is the mask, valueTwo what the masked
		// argument must equal; the other operators compare with value.
		c, err := libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
		if err != nil {
			return nil, &errs.Error{Field: fmt.Sprintf("%s.args[%d]", fieldI, k), Value: fmt.Sprint(a.Index), Err: err}
		}
		split = split || seen[a.Index]
		seen[a.Index] = true
		all = append(all, c)
	}
	if !split {
		return [][]libseccomp.ScmpCondition{all}, nil
	}
	out := make([][]libseccomp.ScmpCondition, len(all))
	for k, c := range all {
		out[k] = []libseccomp.ScmpCondition{c}
	}
	return out, nil
}

// Notify reports whether the filter has an SCMP_ACT_NOTIFY rule, so that
// loading it yields a notify fd for the agent at listenerPath.
func (f *Filter) Notify() bool { return f.notify }

// Load loads the filter into the kernel for the calling thread and, with
// TSYNC, the process's other threads. It returns the notify fd, or -1 if
// the filter has no SCMP_ACT_NOTIFY rule. After Load every syscall of this
// process goes through the filter: call it as late as possible.
func (f *Filter) Load() (int, error) {
	if err := f.f.Load(); err != nil {
		return -1, &errs.Error{Field: field, Err: fmt.Errorf("load the seccomp filter: %w", err)}
	}
	if !f.notify {
		return -1, nil
	}
	fd, err := f.f.GetNotifFd()
	if err != nil {
		return -1, &errs.Error{Field: field, Err: fmt.Errorf("get the seccomp notify fd: %w", err)}
	}
	return int(fd), nil
}

// Release frees libseccomp's copy of the filter.
func (f *Filter) Release() { f.f.Release() }

// ExportPFC writes the filter as libseccomp's pseudo-filter code (human
// readable), for tests and debugging.
func (f *Filter) ExportPFC(w *os.File) error { return f.f.ExportPFC(w) }

// LibraryVersion is the version of the libseccomp gorun runs with.
func LibraryVersion() string {
	ma, mi, mc := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", ma, mi, mc)
}
