// Package sched applies where and how the kernel runs a container's process:
// process.scheduler (sched_setattr), process.ioPriority (ioprio_set),
// process.execCPUAffinity (sched_setaffinity) and linux.memoryPolicy
// (set_mempolicy). Each acts on the calling thread, and the process that
// thread execs keeps it: the init and the exec'd process call them on their
// locked thread before the exec. The name tables are switches, not maps, so
// that no gorun process pays for building them at start.
package sched

import (
	"errors"
	"fmt"
	"strconv"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/cpulist"
	"github.com/gorun/gorun/libcontainer/errs"
)

// Policy returns the kernel's number for a process.scheduler.policy.
// SCHED_ISO, which runtime-spec lists, was never part of Linux.
func Policy(name rspec.LinuxSchedulerPolicy) (uint32, bool) {
	switch name {
	case rspec.SchedOther:
		return unix.SCHED_NORMAL, true
	case rspec.SchedFIFO:
		return unix.SCHED_FIFO, true
	case rspec.SchedRR:
		return unix.SCHED_RR, true
	case rspec.SchedBatch:
		return unix.SCHED_BATCH, true
	case rspec.SchedIdle:
		return unix.SCHED_IDLE, true
	case rspec.SchedDeadline:
		return unix.SCHED_DEADLINE, true
	}
	return 0, false
}

// PolicyNames lists the policies Policy knows, for hints.
const PolicyNames = "SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE"

// Flag returns the kernel's bit for a process.scheduler.flags entry.
func Flag(name rspec.LinuxSchedulerFlag) (uint64, bool) {
	switch name {
	case rspec.SchedFlagResetOnFork:
		return unix.SCHED_FLAG_RESET_ON_FORK, true
	case rspec.SchedFlagReclaim:
		return unix.SCHED_FLAG_RECLAIM, true
	case rspec.SchedFlagDLOverrun:
		return unix.SCHED_FLAG_DL_OVERRUN, true
	case rspec.SchedFlagKeepPolicy:
		return unix.SCHED_FLAG_KEEP_POLICY, true
	case rspec.SchedFlagKeepParams:
		return unix.SCHED_FLAG_KEEP_PARAMS, true
	case rspec.SchedFlagUtilClampMin:
		return unix.SCHED_FLAG_UTIL_CLAMP_MIN, true
	case rspec.SchedFlagUtilClampMax:
		return unix.SCHED_FLAG_UTIL_CLAMP_MAX, true
	}
	return 0, false
}

// FlagNames lists the flags Flag knows, for hints.
const FlagNames = "SCHED_FLAG_RESET_ON_FORK, SCHED_FLAG_RECLAIM, SCHED_FLAG_DL_OVERRUN, SCHED_FLAG_KEEP_POLICY, " +
	"SCHED_FLAG_KEEP_PARAMS, SCHED_FLAG_UTIL_CLAMP_MIN, SCHED_FLAG_UTIL_CLAMP_MAX"

// Attr turns a validated process.scheduler into sched_setattr's argument.
func Attr(s *rspec.Scheduler) (*unix.SchedAttr, error) {
	policy, ok := Policy(s.Policy)
	if !ok {
		return nil, errs.Field("process.scheduler.policy", string(s.Policy), "use one of "+PolicyNames, "unknown scheduling policy")
	}
	a := &unix.SchedAttr{
		Policy: policy, Nice: s.Nice, Priority: uint32(s.Priority),
		Runtime: s.Runtime, Deadline: s.Deadline, Period: s.Period,
	}
	for i, f := range s.Flags {
		bit, ok := Flag(f)
		if !ok {
			return nil, errs.Field(fmt.Sprintf("process.scheduler.flags[%d]", i), string(f), "use one of "+FlagNames, "unknown scheduling flag")
		}
		a.Flags |= bit
	}
	return a, nil
}

// SetScheduler applies process.scheduler to the calling thread.
func SetScheduler(s *rspec.Scheduler) error {
	if s == nil {
		return nil
	}
	a, err := Attr(s)
	if err != nil {
		return err
	}
	if err := unix.SchedSetAttr(0, a, 0); err != nil {
		hint := "check the policy's priority (1-99 for SCHED_FIFO and SCHED_RR, 0 for the others) and, for SCHED_DEADLINE, runtime <= deadline <= period"
		switch {
		case errors.Is(err, unix.EPERM) && (s.Policy == rspec.SchedFIFO || s.Policy == rspec.SchedRR):
			hint = "realtime policies need CAP_SYS_NICE on the host (not in a user namespace) and, where the kernel schedules realtime tasks by cgroup (cgroup v1 cpu.rt_runtime_us), realtime time for the container: set linux.resources.cpu.realtimeRuntime and realtimePeriod"
		case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY):
			hint = "SCHED_DEADLINE and negative nice values need CAP_SYS_NICE on the host (not in a user namespace); SCHED_DEADLINE also needs the process allowed on every CPU and free deadline bandwidth"
		}
		return &errs.Error{Field: "process.scheduler", Value: string(s.Policy), Err: fmt.Errorf("sched_setattr: %w", err), Hint: hint}
	}
	return nil
}

// IOClass returns the kernel's number for a process.ioPriority.class.
func IOClass(name rspec.IOPriorityClass) (int, bool) {
	switch name {
	case rspec.IOPRIO_CLASS_RT:
		return 1, true
	case rspec.IOPRIO_CLASS_BE:
		return 2, true
	case rspec.IOPRIO_CLASS_IDLE:
		return 3, true
	}
	return 0, false
}

// IOClassNames lists the classes IOClass knows, for hints.
const IOClassNames = "IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE"

const (
	ioprioWhoProcess = 1
	ioprioClassShift = 13
)

// SetIOPriority applies process.ioPriority to the calling thread; its
// children inherit it.
func SetIOPriority(p *rspec.LinuxIOPriority) error {
	if p == nil {
		return nil
	}
	class, ok := IOClass(p.Class)
	if !ok {
		return errs.Field("process.ioPriority.class", string(p.Class), "use one of "+IOClassNames, "unknown I/O priority class")
	}
	prio := class<<ioprioClassShift | p.Priority
	if _, _, e := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(prio)); e != 0 {
		hint := "use a priority from 0 to 7"
		if e == unix.EPERM {
			hint = "IOPRIO_CLASS_RT needs CAP_SYS_ADMIN or CAP_SYS_NICE on the host; use IOPRIO_CLASS_BE"
		}
		return &errs.Error{Field: "process.ioPriority", Value: fmt.Sprintf("%s %d", p.Class, p.Priority), Err: fmt.Errorf("ioprio_set: %w", e), Hint: hint}
	}
	return nil
}

// SetAffinity pins the calling thread to the CPUs of list (field names the
// spec field, for errors).
func SetAffinity(field, list string) error {
	set, err := cpulist.Mask(list)
	if err != nil {
		return errs.Field(field, list, `write a list of CPUs and ranges, e.g. "0-3,7"`, "%v", err)
	}
	if err := unix.SchedSetaffinity(0, set); err != nil {
		return &errs.Error{Field: field, Value: list, Err: fmt.Errorf("sched_setaffinity: %w", err),
			Hint: "name CPUs that are online (/sys/devices/system/cpu/online); the final ones must also be in the container's cpuset (linux.resources.cpu.cpus)"}
	}
	return nil
}

// MemoryMode returns the kernel's number for a linux.memoryPolicy.mode.
func MemoryMode(name rspec.MemoryPolicyModeType) (int, bool) {
	switch name {
	case rspec.MpolDefault:
		return unix.MPOL_DEFAULT, true
	case rspec.MpolBind:
		return unix.MPOL_BIND, true
	case rspec.MpolInterleave:
		return unix.MPOL_INTERLEAVE, true
	case rspec.MpolWeightedInterleave:
		return unix.MPOL_WEIGHTED_INTERLEAVE, true
	case rspec.MpolPreferred:
		return unix.MPOL_PREFERRED, true
	case rspec.MpolPreferredMany:
		return unix.MPOL_PREFERRED_MANY, true
	case rspec.MpolLocal:
		return unix.MPOL_LOCAL, true
	}
	return 0, false
}

// MemoryModeNames lists the modes MemoryMode knows, for hints.
const MemoryModeNames = "MPOL_DEFAULT, MPOL_BIND, MPOL_INTERLEAVE, MPOL_WEIGHTED_INTERLEAVE, MPOL_PREFERRED, MPOL_PREFERRED_MANY, MPOL_LOCAL"

// MemoryFlag returns the kernel's bit for a linux.memoryPolicy.flags entry.
func MemoryFlag(name rspec.MemoryPolicyFlagType) (int, bool) {
	switch name {
	case rspec.MpolFNumaBalancing:
		return unix.MPOL_F_NUMA_BALANCING, true
	case rspec.MpolFRelativeNodes:
		return unix.MPOL_F_RELATIVE_NODES, true
	case rspec.MpolFStaticNodes:
		return unix.MPOL_F_STATIC_NODES, true
	}
	return 0, false
}

// MemoryFlagNames lists the flags MemoryFlag knows, for hints.
const MemoryFlagNames = "MPOL_F_NUMA_BALANCING, MPOL_F_RELATIVE_NODES, MPOL_F_STATIC_NODES"

// SetMemoryPolicy applies linux.memoryPolicy to the calling thread; the
// process it execs and that process's children keep it.
func SetMemoryPolicy(m *rspec.LinuxMemoryPolicy) error {
	if m == nil {
		return nil
	}
	mode, ok := MemoryMode(m.Mode)
	if !ok {
		return errs.Field("linux.memoryPolicy.mode", string(m.Mode), "use one of "+MemoryModeNames, "unknown memory policy mode")
	}
	for i, f := range m.Flags {
		bit, ok := MemoryFlag(f)
		if !ok {
			return errs.Field("linux.memoryPolicy.flags["+strconv.Itoa(i)+"]", string(f), "use one of "+MemoryFlagNames, "unknown memory policy flag")
		}
		mode |= bit
	}
	nodes, err := cpulist.Mask(m.Nodes)
	if err != nil {
		return errs.Field("linux.memoryPolicy.nodes", m.Nodes, `write a list of memory nodes and ranges, e.g. "0-1"`, "%v", err)
	}
	if err := unix.SetMemPolicy(mode, nodes); err != nil {
		return &errs.Error{Field: "linux.memoryPolicy", Value: fmt.Sprintf("%s nodes %q", m.Mode, m.Nodes), Err: fmt.Errorf("set_mempolicy: %w", err),
			Hint: "name memory nodes this host has (/sys/devices/system/node) and the container's cpuset allows (linux.resources.cpu.mems); MPOL_F_NUMA_BALANCING goes with MPOL_BIND only"}
	}
	return nil
}
