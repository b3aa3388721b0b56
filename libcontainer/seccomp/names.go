package seccomp

import (
	"fmt"
	"sort"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// actions maps linux.seccomp action names to libseccomp actions. ERRNO and
// TRACE get their return code in action().
var actions = map[rspec.LinuxSeccompAction]libseccomp.ScmpAction{
	rspec.ActKill:        libseccomp.ActKillThread, // SCMP_ACT_KILL is the old name of KILL_THREAD
	rspec.ActKillThread:  libseccomp.ActKillThread,
	rspec.ActKillProcess: libseccomp.ActKillProcess,
	rspec.ActTrap:        libseccomp.ActTrap,
	rspec.ActErrno:       libseccomp.ActErrno,
	rspec.ActTrace:       libseccomp.ActTrace,
	rspec.ActAllow:       libseccomp.ActAllow,
	rspec.ActLog:         libseccomp.ActLog,
	rspec.ActNotify:      libseccomp.ActNotify,
}

// operators maps argument comparisons to libseccomp's.
var operators = map[rspec.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	rspec.OpNotEqual:     libseccomp.CompareNotEqual,
	rspec.OpLessThan:     libseccomp.CompareLess,
	rspec.OpLessEqual:    libseccomp.CompareLessOrEqual,
	rspec.OpEqualTo:      libseccomp.CompareEqual,
	rspec.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	rspec.OpGreaterThan:  libseccomp.CompareGreater,
	rspec.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
}

// archs lists the architectures runtime-spec names ("SCMP_ARCH_X86_64").
var archs = []rspec.Arch{
	rspec.ArchX86, rspec.ArchX86_64, rspec.ArchX32, rspec.ArchARM, rspec.ArchAARCH64,
	rspec.ArchMIPS, rspec.ArchMIPS64, rspec.ArchMIPS64N32, rspec.ArchMIPSEL,
	rspec.ArchMIPSEL64, rspec.ArchMIPSEL64N32, rspec.ArchPPC, rspec.ArchPPC64,
	rspec.ArchPPC64LE, rspec.ArchS390, rspec.ArchS390X, rspec.ArchPARISC,
	rspec.ArchPARISC64, rspec.ArchRISCV64, rspec.ArchLOONGARCH64, rspec.ArchM68K,
	rspec.ArchSH, rspec.ArchSHEB,
}

// Flag names of linux.seccomp.flags.
const (
	FlagTsync            rspec.LinuxSeccompFlag = "SECCOMP_FILTER_FLAG_TSYNC"
	FlagLog                                     = rspec.LinuxSeccompFlagLog
	FlagSpecAllow                               = rspec.LinuxSeccompFlagSpecAllow
	FlagWaitKillableRecv                        = rspec.LinuxSeccompFlagWaitKillableRecv
)

const (
	defaultErrno = uint(unix.EPERM)
	maxErrno     = 4095
)

// action turns a spec action and its errnoRet into a libseccomp action.
// ERRNO and TRACE default to EPERM.
func action(a rspec.LinuxSeccompAction, errnoRet *uint) (libseccomp.ScmpAction, error) {
	act, ok := actions[a]
	if !ok {
		return libseccomp.ActInvalid, fmt.Errorf("unknown seccomp action %q", a)
	}
	if act != libseccomp.ActErrno && act != libseccomp.ActTrace {
		if errnoRet != nil {
			return libseccomp.ActInvalid, fmt.Errorf("errnoRet is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not %s", a)
		}
		return act, nil
	}
	code := defaultErrno
	if errnoRet != nil {
		code = *errnoRet
	}
	if code > maxErrno {
		return libseccomp.ActInvalid, fmt.Errorf("errnoRet %d is out of range (0-%d)", code, maxErrno)
	}
	return act.SetReturnCode(int16(code)), nil
}

// arch turns "SCMP_ARCH_X86_64" into libseccomp's architecture.
func arch(a rspec.Arch) (libseccomp.ScmpArch, error) {
	name, ok := strings.CutPrefix(string(a), "SCMP_ARCH_")
	if !ok {
		return libseccomp.ArchInvalid, fmt.Errorf("unknown architecture %q", a)
	}
	return libseccomp.GetArchFromString(strings.ToLower(name))
}

// Actions, Operators and Archs list the names gorun accepts, sorted (for
// `gorun features`).
func Actions() []string   { return sortedKeys(actions) }
func Operators() []string { return sortedKeys(operators) }
func Archs() []string {
	out := make([]string, len(archs))
	for i, a := range archs {
		out[i] = string(a)
	}
	sort.Strings(out)
	return out
}

// KnownFlags lists every flag gorun knows.
func KnownFlags() []string {
	return []string{string(FlagLog), string(FlagSpecAllow), string(FlagTsync), string(FlagWaitKillableRecv)}
}

// SupportedFlags lists the flags that work with the libseccomp gorun runs
// with: TSYNC always (libseccomp-golang sets it on every filter), LOG from
// API level 3, SPEC_ALLOW from 4, WAIT_KILLABLE_RECV from 7 (libseccomp
// 2.6).
func SupportedFlags() []string {
	api, _ := libseccomp.GetAPI()
	out := []string{string(FlagTsync)}
	if api >= 3 {
		out = append(out, string(FlagLog))
	}
	if api >= 4 {
		out = append(out, string(FlagSpecAllow))
	}
	if api >= 7 {
		out = append(out, string(FlagWaitKillableRecv))
	}
	sort.Strings(out)
	return out
}

func sortedKeys[K ~string, V any](m map[K]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, string(k))
	}
	sort.Strings(out)
	return out
}
