package initproc

import (
	"fmt"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/sched"
)

// schedule applies how the kernel is to run the process: linux.memoryPolicy,
// linux.personality, process.ioPriority, process.execCPUAffinity.final (an
// exec'd process only, once it is in the container's cgroup, whose cpuset
// resets the affinity on entry) and process.scheduler. All of them are
// attributes of this thread, which the exec keeps. It runs before the
// process gives up its capabilities: realtime policies, negative nice
// values and realtime I/O need CAP_SYS_NICE or CAP_SYS_ADMIN. (A
// SCHED_DEADLINE thread cannot fork, as for the container's process: the
// init's startContainer hooks then fail, unless the config adds
// SCHED_FLAG_RESET_ON_FORK.)
func (c *child) schedule(p *rspec.Process) error {
	if l := c.spec.Linux; l != nil {
		if err := sched.SetMemoryPolicy(l.MemoryPolicy); err != nil {
			return err
		}
		if err := setPersonality(l.Personality); err != nil {
			return err
		}
	}
	if err := sched.SetIOPriority(p.IOPriority); err != nil {
		return err
	}
	if a := p.ExecCPUAffinity; c.cfg.Exec && a != nil && a.Final != "" {
		if err := c.waitPlaced(); err != nil {
			return err
		}
		if err := sched.SetAffinity("process.execCPUAffinity.final", a.Final); err != nil {
			return err
		}
	}
	return sched.SetScheduler(p.Scheduler)
}

const (
	perLinux   = 0          // PER_LINUX
	perLinux32 = 0x0008     // PER_LINUX32
	perMask    = 0x00ff     // PER_MASK: the execution domain's bits
	perQuery   = 0xffffffff // personality(0xffffffff) only reads it
)

// setPersonality applies linux.personality: the execution domain (LINUX32
// makes uname report a 32-bit machine), keeping the flags the process
// inherited.
func setPersonality(pe *rspec.LinuxPersonality) error {
	if pe == nil {
		return nil
	}
	domain := uintptr(perLinux)
	if pe.Domain == rspec.PerLinux32 {
		domain = perLinux32
	}
	cur, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, perQuery, 0, 0)
	if e == 0 {
		_, _, e = unix.RawSyscall(unix.SYS_PERSONALITY, cur&^perMask|domain, 0, 0)
	}
	if e != 0 {
		return &errs.Error{Field: "linux.personality.domain", Value: string(pe.Domain), Err: fmt.Errorf("personality: %w", e)}
	}
	return nil
}
