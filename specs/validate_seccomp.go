package specs

import (
	"fmt"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/errs"
)

// maxSyscallArgs is how many arguments a syscall has (index 0..5).
const maxSyscallArgs = 6

func seccomp(sc *rspec.LinuxSeccomp) error {
	if sc == nil {
		return nil
	}
	const f = "linux.seccomp"
	acts := "use one of " + oneOf(seccompActions)
	switch {
	case sc.DefaultAction == "":
		return errs.Field(f+".defaultAction", "", acts, "missing")
	case !seccompActions[string(sc.DefaultAction)]:
		return errs.Field(f+".defaultAction", string(sc.DefaultAction), acts, "unknown seccomp action")
	case sc.DefaultAction == rspec.ActNotify:
		return errs.Field(f+".defaultAction", string(sc.DefaultAction),
			"use SCMP_ACT_NOTIFY only in syscalls rules", "cannot be the default action")
	case sc.DefaultErrnoRet != nil && !takesErrno(sc.DefaultAction):
		return errs.Field(f+".defaultErrnoRet", fmt.Sprint(*sc.DefaultErrnoRet),
			"remove it, or use SCMP_ACT_ERRNO or SCMP_ACT_TRACE", "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno")
	}
	for i, a := range sc.Architectures {
		if !seccompArchs[string(a)] {
			return errs.Field(fmt.Sprintf("%s.architectures[%d]", f, i), string(a),
				"use one of "+oneOf(seccompArchs), "unknown architecture")
		}
	}
	for i, fl := range sc.Flags {
		if !seccompFlags[string(fl)] {
			return errs.Field(fmt.Sprintf("%s.flags[%d]", f, i), string(fl),
				"use one of "+oneOf(seccompFlags), "unknown seccomp flag")
		}
	}
	notify := false
	for i, s := range sc.Syscalls {
		field := fmt.Sprintf("%s.syscalls[%d]", f, i)
		if len(s.Names) == 0 {
			return errs.Field(field+".names", "", "list the syscalls the rule is for", "empty")
		}
		for j, n := range s.Names {
			if n == "" {
				return errs.Field(fmt.Sprintf("%s.names[%d]", field, j), "", "remove the empty name", "empty")
			}
		}
		if !seccompActions[string(s.Action)] {
			return errs.Field(field+".action", string(s.Action), acts, "unknown seccomp action")
		}
		if s.ErrnoRet != nil && !takesErrno(s.Action) {
			return errs.Field(field+".errnoRet", fmt.Sprint(*s.ErrnoRet),
				"remove it, or use SCMP_ACT_ERRNO or SCMP_ACT_TRACE", "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno")
		}
		if s.Action == rspec.ActNotify {
			notify = true
			for j, n := range s.Names {
				if n == "sendmsg" {
					// The notify fd goes to the agent with sendmsg
					// after the filter is loaded: it would wait on
					// an agent that has no fd yet.
					return errs.Field(fmt.Sprintf("%s.names[%d]", field, j), n,
						"leave sendmsg out of SCMP_ACT_NOTIFY rules", "gorun sends the notify fd with sendmsg")
				}
			}
		}
		for j, a := range s.Args {
			af := fmt.Sprintf("%s.args[%d]", field, j)
			if !seccompOps[string(a.Op)] {
				return errs.Field(af+".op", string(a.Op), "use one of "+oneOf(seccompOps), "unknown comparison")
			}
			if a.Index >= maxSyscallArgs {
				return errs.Field(af+".index", fmt.Sprint(a.Index), "use an argument index from 0 to 5", "out of range")
			}
		}
	}
	if notify && sc.ListenerPath == "" {
		return errs.Field(f+".listenerPath", "",
			"set listenerPath to the unix socket of the agent that handles SCMP_ACT_NOTIFY", "missing")
	}
	return nil
}

// takesErrno reports whether a seccomp action returns an errno (errnoRet).
func takesErrno(a rspec.LinuxSeccompAction) bool {
	return a == rspec.ActErrno || a == rspec.ActTrace
}
